"""VideoFolder list formats: PySlowFast's `path label` CSVs, the real clips, and list errors."""
import os

import pytest

from slowfast.config import load_config
from slowfast.datasets import build_dataset
from slowfast.datasets.errors import AnnotationError, MissingDataError
from tests.conftest import SHARED

CLIPS = ["kth_person01_boxing_d2.mp4", "kinetics_arm_wrestling.mp4", "ucf_style_test.avi"]


def _cfg(tmp_path, *opts):
    return load_config(None, ["NUM_GPUS", "0", "TRAIN.DATASET", "kinetics", "TEST.DATASET", "kinetics",
                              "MODEL.NUM_CLASSES", "3", "DATA.PATH_TO_DATA_DIR", str(tmp_path),
                              "DATA.NUM_FRAMES", "4", "DATA.SAMPLING_RATE", "8", "DATA.TARGET_FPS", "30",
                              "DATA.TRAIN_JITTER_SCALES", "[48, 56]", "DATA.TRAIN_CROP_SIZE", "48",
                              "DATA.TEST_CROP_SIZE", "48", "TEST.NUM_ENSEMBLE_VIEWS", "2",
                              "TEST.NUM_SPATIAL_CROPS", "3", *opts])


def test_kinetics_csv_on_the_real_clips(tmp_path):
    lines = "".join(f"{name},{label}\n" for label, name in enumerate(CLIPS))
    for split in ("train", "test"):
        (tmp_path / f"{split}.csv").write_text(lines)
    (tmp_path / "classes.txt").write_text("boxing\narm wrestling\napply eye makeup\n")
    cfg = _cfg(tmp_path, "DATA.PATH_LABEL_SEPARATOR", ",", "DATA.PATH_PREFIX", os.path.join(SHARED, "realclips"))
    train = build_dataset(cfg, "train")
    assert train.class_names[1] == "arm wrestling" and train.sample_labels == [0, 1, 2]
    for k in range(3):
        clip, label, index, meta = train[(k, 0, 0)]
        assert clip.shape == (3, 4, 48, 48) and label == k and meta["video_id"] == CLIPS[k].split(".")[0]
        # 4 frames x 8 at 30 fps = 1.07 s: a window of 1.07 x the clip's own fps, inside the video.
        span = meta["frame_indices"][-1] - meta["frame_indices"][0]
        assert 0 < span <= {0: 27, 1: 30, 2: 27}[k]
    test = build_dataset(cfg, "test")
    assert len(test) == 3 * 6
    starts = [test[v][3]["frame_indices"][0].item() for v in (0, 3)]  # temporal views 0 and 1
    assert starts[0] < starts[1]


@pytest.mark.parametrize("line, words", [
    ("a.mp4", "expected 'path label'"),
    ("a.mp4 7", "label 7 is outside MODEL.NUM_CLASSES=3"),
    ("a.mp4 x", "expected 'path label'"),
])
def test_csv_errors_name_file_and_line(tmp_path, line, words):
    (tmp_path / "train.csv").write_text(f"b.mp4 1\n{line}\n")
    with pytest.raises(AnnotationError, match=f"train.csv:2: .*{words}"):
        build_dataset(_cfg(tmp_path), "train")


def test_folder_list_errors_and_missing_lists(tmp_path):
    for name in ("cats", "dogs", "owls"):
        (tmp_path / name).mkdir()
    (tmp_path / "train.txt").write_text("cats/a.mp4\nbirds/b.mp4\n")
    with pytest.raises(AnnotationError, match="train.txt:2: 'birds/b.mp4'"):
        build_dataset(_cfg(tmp_path), "train")
    with pytest.raises(MissingDataError, match="val.csv.*val.txt"):
        build_dataset(_cfg(tmp_path), "val")
    (tmp_path / "train.txt").write_text("cats/a.mp4\n")
    dataset = build_dataset(_cfg(tmp_path), "train")
    assert dataset.class_names == ["cats", "dogs", "owls"] and dataset.sample_labels == [0]
