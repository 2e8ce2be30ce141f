"""Issue 9, row 3: bad configs fail before any work: no data read, no step taken, no checkpoint.

tools/run_net.py is driven in-process. Key and type errors stop at config loading (exit code 2,
nothing created); combinations only the model builder can judge (MViT position tables, SlowFast
fusion) stop while building the model, before any dataset is opened: DATA.PATH_TO_DATA_DIR
points nowhere, so reaching the data would raise MissingDataError instead.
tests/config/test_config.py checks the same errors at the load_config level.
"""
import importlib.util
import os

import pytest

from slowfast.models import ModelBuildError
from tests.conftest import REPO


def _run_net():
    spec = importlib.util.spec_from_file_location("run_net", os.path.join(REPO, "tools", "run_net.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("yaml_text, opts, words", [
    ("SOLVER:\n  BASE_LRR: 0.1\n", [], "unknown config key SOLVER.BASE_LRR"),
    ("", ["TRAIN.ENABLED", "True"], "unknown config key TRAIN.ENABLED"),
    ("SOLVER:\n  MAX_EPOCH: ten\n", [], "SOLVER.MAX_EPOCH expects int"),
    ("", ["TRAIN.AUTO_RESUME", "yes"], "TRAIN.AUTO_RESUME expects bool"),
    ("", ["NUM_SHARDS", "3", "TRAIN.BATCH_SIZE", "4"], "TRAIN.BATCH_SIZE=4 is not divisible by NUM_GPUS x NUM_SHARDS"),
    ("", ["SOLVER.LR_POLICY", "steps_with_relative_lrs", "SOLVER.STEPS", "[0, 5]", "SOLVER.LRS", "[1]"],
     "SOLVER.STEPS and SOLVER.LRS must have the same length"),
])
def test_config_errors_exit_2_before_creating_anything(tmp_path, capsys, yaml_text, opts, words):
    cfg_path = tmp_path / "exp.yaml"
    cfg_path.write_text("NUM_GPUS: 0\n" + yaml_text)
    out = tmp_path / "run"
    code = _run_net().main(["--cfg", str(cfg_path), "OUTPUT_DIR", str(out)] + opts)
    err = capsys.readouterr().err
    assert code == 2 and words in err
    if yaml_text:
        assert str(cfg_path) in err
    assert not out.exists()


@pytest.mark.parametrize("config, opts, words", [
    ("MVITv2_S_16x4.yaml", ["DATA.TEST_CROP_SIZE", "256"], "DATA.TEST_CROP_SIZE=256 must equal DATA.TRAIN_CROP_SIZE=224"),
    ("SLOWFAST_8x8_R50.yaml", ["SLOWFAST.ALPHA", "16", "DATA.NUM_FRAMES", "8"],
     "DATA.NUM_FRAMES=8 // SLOWFAST.ALPHA=16 leaves no slow frames"),
    ("SLOWFAST_8x8_R50.yaml", ["SLOWFAST.FUSION_KERNEL_SZ", "6"], "SLOWFAST.FUSION_KERNEL_SZ=6 with ALPHA=4"),
])
def test_impossible_model_combinations_stop_before_the_data(tmp_path, capsys, config, opts, words):
    out = tmp_path / "run"
    argv = ["--cfg", os.path.join(REPO, "configs", "meccano", config), "NUM_GPUS", "0",
            "OUTPUT_DIR", str(out), "DATA.PATH_TO_DATA_DIR", str(tmp_path / "no_data")] + opts
    assert _run_net().main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(ModelBuildError.__name__ + ": ")
    assert words in err
    assert not (out / "checkpoints").exists() and not (out / "json_stats.log").exists()
