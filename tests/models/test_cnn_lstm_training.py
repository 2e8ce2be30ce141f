"""A short CPU run of the CNN-LSTM protocol on synthetic video-folder data learns.

The shipped 5-frame config (10 sorted random frames sampled, the first 5 used; best epoch
by val top-1; random test subsets) is shrunk to run in about a minute on one CPU thread:
32 px crops, a ResNet-18 backbone from scratch (a from-scratch MobileNetV2 needs several
times more steps before it leaves chance level, see docs/benchmarks.md), 8 epochs.
"""
import json
import os

import numpy as np
import pytest
import torch

from slowfast.config.load import load_config
from slowfast.datasets.synthetic import make_video_folder
from slowfast.engine.runner import run
from tests.conftest import REPO

CONFIG = os.path.join(REPO, "configs", "video_folder", "MOBILENETV2_LSTM_5F.yaml")
CLASSES = 8


@pytest.fixture
def one_thread():
    # Two threads on two shared cores spin against other processes and run several times slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_short_cpu_run_is_well_above_chance(tmp_path, one_thread):
    data = make_video_folder(str(tmp_path / "data"), classes=CLASSES, videos=160, size=(64, 48),
                             frames=(12, 16), seed=0)
    assert data["videos"] == {"train": 96, "val": 32, "test": 32}
    out = tmp_path / "run"
    cfg = load_config(CONFIG, [
        "DATA.PATH_TO_DATA_DIR", data["data_dir"], "OUTPUT_DIR", str(out), "NUM_GPUS", "0",
        "MODEL.NUM_CLASSES", str(CLASSES), "MODEL.FC_INIT_STD", "0.1",
        "CNN_LSTM.BACKBONE", "resnet18", "CNN_LSTM.BACKBONE_WEIGHTS", "", "CNN_LSTM.FREEZE_BN", "False",
        "CNN_LSTM.HIDDEN_SIZE", "64", "CNN_LSTM.DROPOUT", "0.0",
        "DATA.TRAIN_JITTER_SCALES", "[40, 48]", "DATA.TRAIN_CROP_SIZE", "32", "DATA.TEST_CROP_SIZE", "32",
        "DATA_LOADER.NUM_WORKERS", "0", "SOLVER.BASE_LR", "0.001", "SOLVER.COSINE_END_LR", "0.0",
        "SOLVER.MAX_EPOCH", "8", "TEST.NUM_SUBSETS", "3", "LOG_PERIOD", "100",
    ])
    assert cfg.CNN_LSTM.NUM_FRAMES_USED == 5 and cfg.DATA.SAMPLING_METHOD == "random_sorted"
    results = run(cfg).results

    test = results["test"]
    chance = 100.0 / CLASSES
    confusion = np.array(test["confusion"])
    assert confusion.sum() == 32
    # Classes are verb x object (2 objects, 4 verbs). Measured: top-1 34.4 % (11/32) against
    # 12.5 % chance, and the object (colour and shape) right for 31 of 32 clips. The verbs
    # come in pairs whose single frames look alike, and the per-frame global pooling keeps
    # little of the position that move_left/right differ by, so most errors are the verb.
    assert test["top1"] >= 2 * chance, test
    object_right = sum(confusion[i, j] for i in range(CLASSES) for j in range(CLASSES) if i // 4 == j // 4)
    assert object_right >= 28, confusion  # chance: 16 of 32

    # The protocol's outputs: best epoch by val top-1, its checkpoint tested, random subsets.
    assert results["best"]["metric"] == "val_top1"
    val = [json.loads(line) for line in open(out / "json_stats.log") if '"val_epoch"' in line]
    assert results["best"]["value"] == max(v["top1"] for v in val)
    assert os.path.isfile(out / "checkpoints" / "best.pyth")
    subsets = results["subsets"]
    assert len(subsets["per_subset"]) == 3 and all(s["n"] == 16 for s in subsets["per_subset"])
    assert results["dataset"]["views_per_sample"] == 1
