"""tools/run_net.py end to end: synthetic MECCANO-format data, the tiny SlowFast demo config."""
import json
import os
import subprocess
import sys

import numpy as np

from slowfast.datasets.synthetic import make_meccano_like
from tests.conftest import REPO


def test_run_net_trains_and_tests_tiny_slowfast_on_synthetic_meccano(tmp_path):
    data = tmp_path / "data"
    make_meccano_like(str(data), classes=4, videos=5, size=(48, 32), seed=0, segments_per_video=6)
    out = tmp_path / "run"
    cmd = [
        sys.executable, os.path.join(REPO, "tools", "run_net.py"),
        "--cfg", os.path.join(REPO, "configs", "demo", "SLOWFAST_TINY.yaml"),
        "DATA.PATH_TO_DATA_DIR", str(data), "DATA.PATH_TO_ANNOTATIONS", str(data / "annotations"),
        "MODEL.NUM_CLASSES", "4", "SOLVER.MAX_EPOCH", "2", "DATA.NUM_FRAMES", "4",
        "DATA.TRAIN_JITTER_SCALES", "[32, 40]", "DATA.TRAIN_CROP_SIZE", "32", "DATA.TEST_CROP_SIZE", "32",
        "TRAIN.BATCH_SIZE", "6", "TEST.BATCH_SIZE", "6", "DATA_LOADER.NUM_WORKERS", "0",
        "TENSORBOARD.ENABLE", "True", "OUTPUT_DIR", str(out),
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"Compare runs with: python tools/compare_runs.py {out}" in proc.stdout
    results = json.loads((out / "results.json").read_text())
    assert results["model"]["arch"] == "slowfast" and results["model"]["params"] > 0
    assert results["dataset"]["name"] == "meccano" and results["dataset"]["views_per_sample"] == 2
    pred = np.load(out / "predictions.npz")
    assert len(pred["index"]) == results["dataset"]["test_samples"] == len(set(pred["index"].tolist()))
    assert pred["video_id"][0] == "0005"  # the last recording is the test split
    with open(out / "json_stats.log") as f:
        kinds = [json.loads(line)["_type"] for line in f]
    assert kinds.count("train_epoch") == 2 and kinds.count("val_epoch") == 2 and kinds.count("test") == 1
    assert os.listdir(out / "tensorboard")
