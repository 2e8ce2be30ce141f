"""Configs and runners shared by the engine tests."""
import os
import subprocess
import sys

import yaml

from slowfast.config import load_config
from tests.conftest import REPO

TINY_RUN = os.path.join(REPO, "tests", "engine", "tiny_run.py")

BASE = {
    "MODEL": {"ARCH": "tiny", "MODEL_NAME": "Tiny", "NUM_CLASSES": 3, "DROPOUT_RATE": 0.3},
    "TRAIN": {"DATASET": "tiny", "BATCH_SIZE": 4, "EVAL_PERIOD": 1, "CHECKPOINT_PERIOD": 1},
    "TEST": {"DATASET": "tiny", "BATCH_SIZE": 4, "NUM_ENSEMBLE_VIEWS": 2, "NUM_SPATIAL_CROPS": 1},
    "DATA": {"NUM_FRAMES": 2, "TRAIN_CROP_SIZE": 16, "TEST_CROP_SIZE": 16},
    "DATA_LOADER": {"NUM_WORKERS": 0},
    "SOLVER": {"BASE_LR": 0.2, "MAX_EPOCH": 3, "WARMUP_EPOCHS": 0.0, "LR_POLICY": "cosine", "WEIGHT_DECAY": 1e-4},
    "NUM_GPUS": 0,
    "LOG_PERIOD": 1,
    "RNG_SEED": 3,
}


def opts(output_dir, **overrides):
    """KEY VALUE list for the tiny setup; ``overrides`` use double underscores for dots."""
    flat = {"OUTPUT_DIR": str(output_dir)}
    for key, value in overrides.items():
        flat[key.replace("__", ".")] = value
    out = []
    for key, value in flat.items():
        out += [key, str(value)]
    return out


def write_yaml(path):
    with open(path, "w") as f:
        yaml.safe_dump(BASE, f)
    return str(path)


def tiny_cfg(tmp_path, output_dir, **overrides):
    return load_config(write_yaml(tmp_path / "tiny.yaml"), opts(output_dir, **overrides))


def run_tiny_subprocess(tmp_path, output_dir, env_extra=None, torchrun=0, timeout=240, **overrides):
    """Run tools/run_net.py (through tiny_run.py) in a fresh process; returns CompletedProcess."""
    cfg_path = write_yaml(tmp_path / "tiny.yaml")
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=REPO)
    env.update(env_extra or {})
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "SLURM_NTASKS", "SLURM_PROCID"):
        env.pop(key, None)
    prefix = [sys.executable]
    if torchrun:
        prefix += ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={torchrun}"]
    cmd = prefix + [TINY_RUN, "--cfg", cfg_path] + opts(output_dir, **overrides)
    return subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout)
