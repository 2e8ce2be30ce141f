"""Unreadable frames and videos: replaced and counted in training, an error in val/test."""
import logging
import os
import shutil

import pytest

from slowfast.config import load_config
from slowfast.datasets import build_dataset
from slowfast.datasets.errors import BadInputError
from slowfast.datasets.loader import build_loader, set_epoch
from slowfast.datasets.synthetic import make_video_folder
from tests.datasets.helpers import meccano_cfg


@pytest.fixture
def broken_meccano(tiny_meccano, tmp_path):
    """A copy of the tiny data with one missing, one empty and one corrupt frame in train and test."""
    root = tmp_path / "data"
    shutil.copytree(tiny_meccano, root)
    broken = {}
    for split in ("train", "test"):
        dataset = build_dataset(meccano_cfg(root, "TEST.DATASET", "meccano"), split)
        for k, how in enumerate(("missing", "empty", "corrupt")):
            seg = dataset.segments[k]
            path = dataset.frame_path(seg.video, seg.start)  # every rule samples the first frame
            if how == "missing":
                os.remove(path)
            elif how == "empty":
                open(path, "wb").close()
            else:
                with open(path, "r+b") as f:
                    f.seek(20)
                    f.write(b"\x00garbage" * 40)
            broken[(split, k)] = path
    return root, broken


def test_training_replaces_and_counts_bad_items(broken_meccano, caplog):
    root, broken = broken_meccano
    dataset = build_dataset(meccano_cfg(root), "train")
    with caplog.at_level(logging.WARNING):
        for k in range(3):
            clip, label, index, meta = dataset[(k, 0, 0)]
            assert meta["bad"] >= 1 and meta["bad_files"][0] == broken[("train", k)]
            assert index != k and label == dataset.sample_labels[index]
            assert clip.shape == (3, 4, 32, 32)
            # The replacement is seeded: the same key gives the same replacement.
            assert dataset[(k, 0, 0)][2] == index
    for k in range(3):
        assert broken[("train", k)] in caplog.text
    assert dataset[(5, 0, 0)][3]["bad"] == 0


def test_loader_batches_carry_the_bad_counts(broken_meccano):
    root, _ = broken_meccano
    loader = build_loader(meccano_cfg(root, "TRAIN.BATCH_SIZE", "7"), "train")
    set_epoch(loader, 0)
    bad = sum(int(b[3]["bad"].sum()) for b in loader)
    files = [f for b in loader for files in b[3]["bad_files"] for f in files]
    assert bad >= 3 and len(files) >= 3


@pytest.mark.parametrize("k", [0, 1, 2])
def test_evaluation_fails_on_bad_items_naming_the_file(broken_meccano, k):
    root, broken = broken_meccano
    dataset = build_dataset(meccano_cfg(root, "TEST.DATASET", "meccano"), "test")
    with pytest.raises(BadInputError) as err:
        dataset[k]
    assert broken[("test", k)] in str(err.value)


def test_bad_videos_in_a_video_folder(tmp_path):
    make_video_folder(str(tmp_path), classes=2, videos=6, size=(32, 24), seed=1, frames=(6, 8))
    train = (tmp_path / "train.txt").read_text().split()
    test = (tmp_path / "test.txt").read_text().split()
    (tmp_path / train[0]).write_bytes(b"not a video at all")
    data = (tmp_path / test[0]).read_bytes()
    (tmp_path / test[0]).write_bytes(data[: len(data) // 4])
    cfg = load_config(None, ["NUM_GPUS", "0", "TRAIN.DATASET", "video_folder", "TEST.DATASET", "video_folder",
                             "MODEL.NUM_CLASSES", "2", "DATA.PATH_TO_DATA_DIR", str(tmp_path),
                             "DATA.NUM_FRAMES", "4", "DATA.SAMPLING_METHOD", "segment_uniform",
                             "DATA.TRAIN_JITTER_SCALES", "[24, 24]", "DATA.TRAIN_CROP_SIZE", "24",
                             "DATA.TEST_CROP_SIZE", "24", "TEST.NUM_ENSEMBLE_VIEWS", "1",
                             "TEST.NUM_SPATIAL_CROPS", "1"])
    item = build_dataset(cfg, "train")[(0, 0, 0)]
    assert item[3]["bad"] >= 1 and item[3]["bad_files"][0].endswith(train[0]) and item[2] != 0
    with pytest.raises(BadInputError, match=os.path.basename(test[0])):
        build_dataset(cfg, "test")[0]
