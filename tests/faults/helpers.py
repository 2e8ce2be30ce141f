"""Tiny MECCANO-format data and configs for fault injection: real frames, the tiny test model.

Data: 5 recordings (3 train / 1 val / 1 test) of 7 segments at 64x48 (tests.datasets.helpers.TINY).
Model: the engine tests' TinyNet (MODEL.ARCH tiny), so a whole run takes about a second.
"""
import shutil

import pytest

from slowfast.config import load_config
from tests.datasets.helpers import meccano_cfg


def copy_data(src, tmp_path):
    """A private copy of generated data that a test may break."""
    root = tmp_path / "data"
    shutil.copytree(src, root)
    return root


def run_opts(data_dir, output_dir, **overrides):
    """KEY VALUE list: TinyNet on the MECCANO-format data in ``data_dir``; ``overrides`` use __ for dots."""
    flat = {
        "NUM_GPUS": 0, "TRAIN.DATASET": "meccano", "TEST.DATASET": "meccano", "MODEL.ARCH": "tiny",
        "MODEL.MODEL_NAME": "Tiny", "MODEL.NUM_CLASSES": 4, "MODEL.DROPOUT_RATE": 0.0,
        "DATA.PATH_TO_DATA_DIR": data_dir, "DATA.PATH_TO_ANNOTATIONS": data_dir / "annotations",
        "DATA.NUM_FRAMES": 4, "DATA.SAMPLING_METHOD": "segment_uniform", "DATA.RANDOM_FLIP": False,
        "DATA.TRAIN_JITTER_SCALES": "[32, 40]", "DATA.TRAIN_CROP_SIZE": 32, "DATA.TEST_CROP_SIZE": 32,
        "TRAIN.BATCH_SIZE": 4, "TEST.BATCH_SIZE": 4, "TEST.NUM_ENSEMBLE_VIEWS": 1, "TEST.NUM_SPATIAL_CROPS": 1,
        "DATA_LOADER.NUM_WORKERS": 0, "SOLVER.BASE_LR": 0.05, "SOLVER.MAX_EPOCH": 1, "SOLVER.WARMUP_EPOCHS": 0.0,
        "LOG_PERIOD": 100, "LOG_MODEL_INFO": False, "RNG_SEED": 5, "OUTPUT_DIR": output_dir,
    }
    for key, value in overrides.items():
        flat[key.replace("__", ".")] = value
    return [str(x) for kv in flat.items() for x in kv]


def run_cfg(data_dir, output_dir, **overrides):
    return load_config(None, run_opts(data_dir, output_dir, **overrides))


def error_text(fn, *args):
    """``Type: message`` of what ``fn(*args)`` raises. Only the text is kept: a held traceback would
    keep a failed loader's worker processes alive until garbage collection."""
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001 - the type is part of what is checked
        return f"{type(e).__name__}: {e}"
    pytest.fail(f"{fn} raised nothing")


__all__ = ["copy_data", "error_text", "meccano_cfg", "run_cfg", "run_opts"]
