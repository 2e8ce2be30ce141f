"""The synthetic generator: formats on disk, determinism, and motion that one frame cannot tell."""
import hashlib
import os

import numpy as np
import pytest

from slowfast.config import load_config
from slowfast.datasets import build_dataset
from slowfast.datasets.synthetic import class_list, make_meccano_like, make_video_folder, object_pose
from tests.datasets.helpers import TINY, meccano_cfg
from tools.make_demo_data import main as make_demo_main


def _digest(root):
    h = hashlib.sha256()
    for folder, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            h.update(name.encode())
            h.update(open(os.path.join(folder, name), "rb").read())
    return h.hexdigest()


def test_meccano_format_on_disk(tiny_meccano):
    ann = tiny_meccano / "annotations"
    text = (ann / "MECCANO_train_actions.csv").read_bytes().decode()
    lines = text.split("\r\n")
    assert lines[0] == "video_id,action_id,action_name,start_frame,end_frame" and lines[-1] == ""
    assert "\n" not in text.replace("\r\n", "")
    names = [n for line in lines[1:-1] for n in line.split(",")[3:]]
    assert any(len(n) == 10 for n in names) and any(len(n) == 9 for n in names)  # six- and five-digit
    classes = (ann / "MECCANO_action_classes.csv").read_text().splitlines()
    assert classes[0].startswith("action_id,action_name") and len(classes) == 1 + TINY["classes"]
    assert sorted(os.listdir(tiny_meccano / "frames")) == ["0001", "0002", "0003", "0004", "0005"]
    assert "00001.jpg" in os.listdir(tiny_meccano / "frames" / "0001")
    datasets = {s: build_dataset(meccano_cfg(tiny_meccano, "TEST.DATASET", "meccano"), s) for s in ("train", "val", "test")}
    assert [d.num_samples for d in datasets.values()] == [21, 7, 7]
    assert set(datasets["train"].sample_labels) == set(range(TINY["classes"]))
    assert datasets["train"].class_names == [c[0] for c in class_list(TINY["classes"])]


def test_generation_is_deterministic(tmp_path, tiny_meccano):
    again = tmp_path / "again"
    make_meccano_like(str(again), **TINY)
    assert _digest(again) == _digest(tiny_meccano)
    other = tmp_path / "other"
    make_meccano_like(str(other), **dict(TINY, seed=TINY["seed"] + 1))
    assert _digest(other) != _digest(tiny_meccano)


def test_opposite_verbs_look_alike_frame_by_frame():
    p = dict(cx=60.0, cy=40.0, radius=10.0, angle=0.4, travel=30.0)
    for t in np.linspace(0, 1, 7):
        for a, b in (("move_right", "move_left"), ("move_down", "move_up"), ("approach", "recede")):
            assert np.allclose(object_pose(a, t, **p), object_pose(b, 1 - t, **p))
        cw, ccw = object_pose("rotate_cw", t, **p), object_pose("rotate_ccw", 1 - t, **p)
        assert np.allclose(cw, ccw)
    # ...but the motion itself differs: right moves +x, left moves -x.
    assert object_pose("move_right", 1, **p)[0] > object_pose("move_right", 0, **p)[0]
    assert object_pose("move_left", 1, **p)[0] < object_pose("move_left", 0, **p)[0]


def test_class_list_pairs_opposite_verbs():
    names = [c[0] for c in class_list(8)]
    assert names[:4] == ["move_right_red_square", "move_left_red_square", "approach_red_square", "recede_red_square"]
    assert len(class_list(48)) == 48
    with pytest.raises(ValueError, match="classes"):
        class_list(49)


def test_video_folder_generation_and_loading(tmp_path):
    make_video_folder(str(tmp_path), classes=2, videos=6, size=(32, 24), seed=0, frames=(8, 10))
    assert (tmp_path / "classes.txt").read_text().split() == [c[0] for c in class_list(2)]
    cfg = load_config(None, ["NUM_GPUS", "0", "TRAIN.DATASET", "video_folder", "TEST.DATASET", "video_folder",
                             "MODEL.NUM_CLASSES", "2", "DATA.PATH_TO_DATA_DIR", str(tmp_path),
                             "DATA.NUM_FRAMES", "4", "DATA.SAMPLING_RATE", "2", "DATA.TARGET_FPS", "12",
                             "DATA.TRAIN_JITTER_SCALES", "[24, 28]", "DATA.TRAIN_CROP_SIZE", "24",
                             "DATA.TEST_CROP_SIZE", "24", "TEST.NUM_ENSEMBLE_VIEWS", "2",
                             "TEST.NUM_SPATIAL_CROPS", "1"])
    train, test = build_dataset(cfg, "train"), build_dataset(cfg, "test")
    assert train.num_samples == 2 and test.num_samples == 2 and len(test) == 4
    clip, label, index, meta = train[(1, 0, 0)]
    assert clip.shape == (3, 4, 24, 24) and label == train.sample_labels[1]
    views = [test[i][3]["frame_indices"].tolist() for i in range(2)]
    assert views[0] != views[1]


def test_make_demo_data_cli(tmp_path, capsys):
    out = tmp_path / "demo"
    assert make_demo_main(["--out", str(out), "--classes", "2", "--videos", "3", "--segments", "2",
                           "--size", "32x24"]) == 0
    assert '"train": 2' in capsys.readouterr().out
    assert (out / "annotations" / "MECCANO_test_actions.csv").is_file()
    with pytest.raises(SystemExit):
        make_demo_main(["--out", str(out), "--size", "33x24"])
