"""MECCANO: the official CSVs, frame layouts, the missing-data message, annotation errors, views."""
import os
import re
import shutil

import numpy as np
import pytest
import simplejpeg

from slowfast.config import load_config
from slowfast.datasets import build_dataset
from slowfast.datasets.errors import AnnotationError, MissingDataError
from slowfast.datasets.meccano import DEFAULT_ANNOTATIONS, read_classes, read_segments
from tests.conftest import REPO, SHARED
from tests.datasets.helpers import meccano_cfg

HEADER = "video_id,action_id,action_name,start_frame,end_frame\r\n"


def test_official_csvs_sample_and_class_counts():
    names = read_classes(os.path.join(DEFAULT_ANNOTATIONS, "MECCANO_action_classes.csv"))
    assert len(names) == 61 and names[0] == "check_booklet"
    counts = {}
    for split in ("train", "val", "test"):
        path = os.path.join(DEFAULT_ANNOTATIONS, f"MECCANO_{split}_actions.csv")
        segments = read_segments(path, 61, names)
        counts[split] = len(segments)
        with open(path, newline="") as f:
            assert f.read().count("\r\n") == len(segments) + 1  # CRLF, every row kept
    assert counts == {"train": 5057, "val": 977, "test": 2823}
    train = read_segments(os.path.join(DEFAULT_ANNOTATIONS, "MECCANO_train_actions.csv"), 61, names)
    assert len({s.label for s in train}) == 61
    keys = [(s.video, s.label, s.start, s.end) for s in train]
    assert len(keys) > len(set(keys))  # the published duplicates are kept


def _write_jpeg(path, value, size=(40, 30)):
    img = np.full((size[1], size[0], 3), value, np.uint8)
    with open(path, "wb") as f:
        f.write(simplejpeg.encode_jpeg(img, quality=95, colorspace="RGB"))


def test_six_digit_rows_map_to_five_digit_files(tmp_path):
    """``010008.jpg`` in the CSV is frame 10008, stored as ``10008.jpg``."""
    path = os.path.join(DEFAULT_ANNOTATIONS, "MECCANO_train_actions.csv")
    with open(path, newline="") as f:
        lines = f.read().split("\r\n")
    line, row = next((n, r) for n, r in enumerate(lines[1:], start=2) if len(r.split(",")[3]) == 10)
    video, start, end = row.split(",")[0], int(row.split(",")[3][:-4]), int(row.split(",")[4][:-4])
    assert start >= 10000
    videos = {r.split(",")[0] for r in lines[1:] if r}
    for v in videos:
        os.makedirs(tmp_path / "frames" / v)
    for n in range(start, end + 1):
        _write_jpeg(tmp_path / "frames" / video / f"{n:05d}.jpg", n % 250)
    cfg = load_config(None, ["NUM_GPUS", "0", "TRAIN.DATASET", "meccano", "MODEL.NUM_CLASSES", "61",
                             "DATA.PATH_TO_DATA_DIR", str(tmp_path), "DATA.NUM_FRAMES", "4",
                             "DATA.SAMPLING_METHOD", "segment_uniform", "DATA.TRAIN_JITTER_SCALES", "[30, 30]",
                             "DATA.TRAIN_CROP_SIZE", "30"])
    dataset = build_dataset(cfg, "train")
    sample = line - 2
    assert dataset.segments[sample].line == line and dataset.segments[sample].start == start
    clip, label, index, meta = dataset[sample]
    assert index == sample and meta["video_id"] == video and clip.shape == (3, 4, 30, 30)
    assert meta["frame_indices"].tolist()[0] == start and meta["frame_indices"].tolist()[-1] == end
    # The pixels prove which files were read: frame n was written with value n % 250.
    expected = [n % 250 for n in meta["frame_indices"].tolist()]
    assert np.allclose(clip.float().mean(dim=(0, 2, 3)).numpy(), expected, atol=2)


def _tiny_annotations(tmp_path, rows, classes=("a", "b")):
    ann = tmp_path / "ann"
    ann.mkdir(exist_ok=True)
    (ann / "MECCANO_action_classes.csv").write_text(
        "action_id,action_name\r\n" + "".join(f"{i},{c}\r\n" for i, c in enumerate(classes)), newline="")
    (ann / "MECCANO_train_actions.csv").write_text(HEADER + "".join(r + "\r\n" for r in rows), newline="")
    return ann


def _cfg(tmp_path, ann, *opts):
    return load_config(None, ["NUM_GPUS", "0", "TRAIN.DATASET", "meccano", "MODEL.NUM_CLASSES", "2",
                              "DATA.PATH_TO_DATA_DIR", str(tmp_path / "data"), "DATA.PATH_TO_ANNOTATIONS",
                              str(ann), "DATA.NUM_FRAMES", "2", "DATA.TRAIN_JITTER_SCALES", "[30, 30]",
                              "DATA.TRAIN_CROP_SIZE", "30", "DATA.SAMPLING_METHOD", "segment_uniform", *opts])


@pytest.mark.parametrize("layout", ["frames/0001", "RGB_frames/Train/0001", "RGB_frames/Test/0001", "0001"])
def test_each_layout_is_found(tmp_path, layout):
    ann = _tiny_annotations(tmp_path, ["0001,1,b,00002.jpg,00003.jpg"])
    folder = tmp_path / "data" / layout
    folder.mkdir(parents=True)
    for n in range(1, 5):
        _write_jpeg(folder / f"{n:05d}.jpg", 50 * n)
    dataset = build_dataset(_cfg(tmp_path, ann), "train")
    assert dataset.video_dirs == {"0001": str(folder)}
    clip, label, _, meta = dataset[0]
    assert label == 1 and meta["frame_indices"].tolist() == [2, 3]
    assert abs(float(clip[:, 0].float().mean()) - 100) < 3 and abs(float(clip[:, 1].float().mean()) - 150) < 3


def test_missing_frames_error_says_where_and_what_to_do(tmp_path):
    cfg = load_config(os.path.join(REPO, "configs", "meccano", "SLOWFAST_8x8_R50.yaml"),
                      ["NUM_GPUS", "0", "DATA.PATH_TO_DATA_DIR", str(tmp_path / "nothing")])
    with pytest.raises(MissingDataError) as err:
        build_dataset(cfg, "train")
    message = str(err.value)
    for needed in ("DATA.PATH_TO_DATA_DIR", str(tmp_path / "nothing" / "frames" / "0001"),
                   os.path.join("RGB_frames", "Train", "0001"), str(tmp_path / "nothing" / "0001"),
                   "MECCANO_RGB_frames.zip", "data/MECCANO", "make demo"):
        assert needed in message


@pytest.mark.parametrize("row, words", [
    ("0001,1,b,00009.jpg,00003.jpg", "end_frame 00003.jpg is before start_frame"),
    ("0002,1,b,00001.jpg,00003.jpg", "unknown video '0002'"),
    ("0001,2,c,00001.jpg,00003.jpg", "outside MODEL.NUM_CLASSES=2"),
    ("0001,1,b,00001.jpg", "expected 5 fields"),
    ("0001,x,b,00001.jpg,00003.jpg", "action_id 'x' is not an integer"),
    ("0001,1,b,frame1.jpg,00003.jpg", "frame name 'frame1.jpg'"),
    ("0001,1,a,00001.jpg,00003.jpg", "does not match class 1"),
])
def test_annotation_errors_name_file_and_line(tmp_path, row, words):
    ann = _tiny_annotations(tmp_path, ["0001,0,a,00001.jpg,00002.jpg", row])
    (tmp_path / "data" / "frames" / "0001").mkdir(parents=True)
    with pytest.raises(AnnotationError) as err:
        build_dataset(_cfg(tmp_path, ann), "train")
    assert f"MECCANO_train_actions.csv:3: " in str(err.value) and words in str(err.value)


def test_header_and_class_count_are_checked(tmp_path):
    ann = _tiny_annotations(tmp_path, ["0001,0,a,00001.jpg,00002.jpg"])
    (tmp_path / "data" / "frames" / "0001").mkdir(parents=True)
    with pytest.raises(ValueError, match="names 2 classes but MODEL.NUM_CLASSES=3"):
        build_dataset(_cfg(tmp_path, ann, "MODEL.NUM_CLASSES", "3"), "train")
    (ann / "MECCANO_train_actions.csv").write_text("0001,0,a,00001.jpg,00002.jpg\r\n")
    with pytest.raises(AnnotationError, match="MECCANO_train_actions.csv:1: expected the official header"):
        build_dataset(_cfg(tmp_path, ann), "train")


def test_stride_sampling_clamps_to_the_last_frame_on_disk(tmp_path):
    ann = _tiny_annotations(tmp_path, ["0001,0,a,00004.jpg,00005.jpg"])
    folder = tmp_path / "data" / "0001"
    folder.mkdir(parents=True)
    for n in range(1, 7):
        _write_jpeg(folder / f"{n:05d}.jpg", 30 * n)
    shutil.copy(ann / "MECCANO_train_actions.csv", ann / "MECCANO_val_actions.csv")
    cfg = _cfg(tmp_path, ann, "TEST.DATASET", "meccano", "DATA.SAMPLING_METHOD", "stride", "DATA.NUM_FRAMES", "4",
               "DATA.SAMPLING_RATE", "2")
    # Segment 4..5, window 8, centred: first = 4 - 6/2 = 1, linspace(1, 8, 4) = 1, 3.33, 5.67, 8;
    # the video has 6 frames, so 8 is clamped to 6.
    assert build_dataset(cfg, "val")[0][3]["frame_indices"].tolist() == [1, 3, 5, 6]


def test_test_views_share_the_index_and_differ(tiny_meccano):
    cfg = meccano_cfg(tiny_meccano, "TEST.NUM_ENSEMBLE_VIEWS", "3", "TEST.NUM_SPATIAL_CROPS", "3",
                      "DATA.TEST_CROP_SIZE", "40")
    dataset = build_dataset(cfg, "test")
    assert dataset.num_views == 9 and len(dataset) == 9 * dataset.num_samples
    sample = int(np.argmax([s.end - s.start for s in dataset.segments]))  # a long segment
    items = [dataset[sample * 9 + v] for v in range(9)]
    assert {it[2] for it in items} == {sample} and [it[3]["view"] for it in items] == list(range(9))
    temporal = {tuple(it[3]["frame_indices"].tolist()) for it in items}
    assert len(temporal) == 3  # three temporal positions, each shared by its three crops
    for t in range(3):
        crops = [items[3 * t + c][0] for c in range(3)]
        assert not np.array_equal(crops[0].numpy(), crops[2].numpy())  # left vs right of 64x48 frames


def test_val_is_deterministic(tiny_meccano):
    dataset = build_dataset(meccano_cfg(tiny_meccano), "val")
    a, b = dataset[2], dataset[2]
    assert np.array_equal(a[0].numpy(), b[0].numpy()) and a[3]["frame_indices"].tolist() == b[3]["frame_indices"].tolist()


def test_shipped_lists_are_the_official_files():
    for name in os.listdir(DEFAULT_ANNOTATIONS):
        with open(os.path.join(SHARED, "meccano", name), "rb") as f:
            assert f.read() == open(os.path.join(DEFAULT_ANNOTATIONS, name), "rb").read(), name


def test_run_net_without_frames_fails_with_the_instructions(tmp_path, capsys):
    from tools.run_net import main as run_net

    code = run_net(["--cfg", os.path.join(REPO, "configs", "meccano", "SLOWFAST_8x8_R50.yaml"), "NUM_GPUS", "0",
                    "OUTPUT_DIR", str(tmp_path / "run"), "DATA.PATH_TO_DATA_DIR", str(tmp_path / "nothing"),
                    "LOG_MODEL_INFO", "False", "TENSORBOARD.ENABLE", "False"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("MissingDataError: ")
    assert re.search("MECCANO_RGB_frames.zip[^$]*make demo", err, re.S)
