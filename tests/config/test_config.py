"""Config system: PySlowFast YAMLs load unchanged, errors name key and file, overrides are typed."""
import ast
import glob
import os
import subprocess
import sys

import pytest
import yaml

from slowfast.config import ConfigError, get_cfg, load_config
from tests.conftest import REPO, SHARED

REFERENCE_CONFIGS = sorted(glob.glob(os.path.join(SHARED, "reference", "configs", "*.yaml")))
PYSLOWFAST_DUMPS = sorted(glob.glob(os.path.join(SHARED, "reference", "pyslowfast", "*_config.yaml")))


def _flatten(tree, prefix=""):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _flatten(value, prefix + key + ".")
        else:
            yield prefix + key, value


def _get(cfg, dotted):
    for part in dotted.split("."):
        cfg = cfg[part]
    return cfg


def test_reference_configs_exist():
    assert len(REFERENCE_CONFIGS) == 10, REFERENCE_CONFIGS


@pytest.mark.parametrize("path", REFERENCE_CONFIGS + PYSLOWFAST_DUMPS, ids=os.path.basename)
def test_reference_yaml_loads_unchanged(path):
    cfg = load_config(path)
    with open(path) as f:
        raw = yaml.safe_load(f)
    # Every value in the file arrives in the config (lists and tuples compare as lists).
    for key, value in _flatten(raw):
        got = _get(cfg, key)
        if key in ("SOLVER.BASE_LR", "SOLVER.WARMUP_START_LR", "SOLVER.COSINE_END_LR") and cfg.SOLVER.BASE_LR_SCALE_NUM_SHARDS:
            value = float(value) * cfg.NUM_SHARDS
        if isinstance(value, str):  # PyYAML reads "1e-4" and "(3, 7, 7)" as strings
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                pass
        if isinstance(value, tuple):
            value = list(value)
        if isinstance(got, tuple):
            got = list(got)
        assert got == value or (isinstance(value, (int, float)) and float(got) == float(value)), key
    assert cfg.is_frozen()


def test_unknown_key_names_key_and_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("SOLVER:\n  BASE_LR: 0.1\n  BASE_LRR: 0.2\n")
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    assert "SOLVER.BASE_LRR" in str(err.value)
    assert str(path) in str(err.value)


def test_unknown_top_level_section(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("FOO:\n  BAR: 1\n")
    with pytest.raises(ConfigError, match=r"unknown config key FOO"):
        load_config(str(path))


def test_override_typing():
    cfg = load_config(
        None,
        [
            "SOLVER.BASE_LR", "1",  # int for a float key
            "DATA.TRAIN_JITTER_SCALES", "[128, 160]",
            "MVIT.PATCH_KERNEL", "(1, 3, 3)",
            "TRAIN.ENABLE", "False",
            "NUM_GPUS", "0",
            "SOLVER.CLIP_GRAD_L2NORM", "1.0",  # None default accepts a float
            "OUTPUT_DIR", "/tmp/x",
            "MODEL.ARCH", "c2d",
        ],
    )
    assert cfg.SOLVER.BASE_LR == 1.0 and isinstance(cfg.SOLVER.BASE_LR, float)
    assert cfg.DATA.TRAIN_JITTER_SCALES == [128, 160]
    assert list(cfg.MVIT.PATCH_KERNEL) == [1, 3, 3]
    assert cfg.TRAIN.ENABLE is False
    assert cfg.NUM_GPUS == 0
    assert cfg.SOLVER.CLIP_GRAD_L2NORM == 1.0
    assert cfg.MODEL.ARCH == "c2d"


def test_wrong_type_names_key():
    with pytest.raises(ConfigError, match=r"NUM_GPUS expects int"):
        load_config(None, ["NUM_GPUS", "two"])
    with pytest.raises(ConfigError, match=r"TRAIN.ENABLE expects bool"):
        load_config(None, ["TRAIN.ENABLE", "1"])


def test_odd_override_count():
    with pytest.raises(ConfigError, match="KEY VALUE pairs"):
        load_config(None, ["NUM_GPUS"])


@pytest.mark.parametrize(
    "opts, needle",
    [
        (["NONLOCAL.LOCATION", "[[[0]], [[]], [[]], [[]]]"], "NONLOCAL.LOCATION"),
        (["DETECTION.ENABLE", "True"], "DETECTION.ENABLE"),
        (["MULTIGRID.LONG_CYCLE", "True"], "MULTIGRID.LONG_CYCLE"),
        (["MULTIGRID.SHORT_CYCLE", "True"], "MULTIGRID.SHORT_CYCLE"),
        (["MASK.ENABLE", "True"], "MASK.ENABLE"),
        (["BN.NORM_TYPE", "sub_batchnorm"], "BN.NORM_TYPE"),
        (["MODEL.DROPCONNECT_RATE", "0.2"], "MODEL.DROPCONNECT_RATE"),
        (["SOLVER.OPTIMIZING_METHOD", "lamb"], "SOLVER.OPTIMIZING_METHOD"),
    ],
)
def test_unimplemented_feature_is_refused(opts, needle):
    with pytest.raises(ConfigError) as err:
        load_config(None, opts)
    assert needle in str(err.value)


def test_base_lr_scaled_by_shards():
    cfg = load_config(None, ["SOLVER.BASE_LR_SCALE_NUM_SHARDS", "True", "NUM_SHARDS", "4", "SOLVER.BASE_LR", "0.1"])
    assert cfg.SOLVER.BASE_LR == pytest.approx(0.4)
    assert cfg.SOLVER.WARMUP_START_LR == pytest.approx(0.04)


def test_base_inheritance(tmp_path):
    (tmp_path / "base.yaml").write_text("SOLVER:\n  BASE_LR: 0.5\nNUM_GPUS: 0\n")
    (tmp_path / "child.yaml").write_text("_BASE_: base.yaml\nSOLVER:\n  MAX_EPOCH: 3\n")
    cfg = load_config(str(tmp_path / "child.yaml"))
    assert cfg.SOLVER.BASE_LR == 0.5 and cfg.SOLVER.MAX_EPOCH == 3 and cfg.NUM_GPUS == 0


def test_dump_reloads():
    cfg = load_config(os.path.join(REPO, "configs", "meccano", "MVITv2_S_16x4.yaml"))
    again = get_cfg()
    again.merge_from_other_cfg(get_cfg().load_cfg(cfg.dump()))
    assert again.MVIT.POOL_Q_STRIDE == cfg.MVIT.POOL_Q_STRIDE


def test_every_implemented_key_has_a_comment():
    path = os.path.join(REPO, "slowfast", "config", "defaults.py")
    lines = open(path).read().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("_C.") and "= CfgNode()" not in line:
            assert lines[i - 1].lstrip().startswith("#") or lines[i - 1].endswith("["), f"no comment above: {line}"


def test_run_net_help():
    out = subprocess.run([sys.executable, os.path.join(REPO, "tools", "run_net.py"), "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for flag in ("--cfg", "--init_method", "--num_shards", "--shard_id"):
        assert flag in out.stdout


def test_run_net_config_error_exit_code(tmp_path):
    out = subprocess.run(
        [sys.executable, os.path.join(REPO, "tools", "run_net.py"), "--cfg",
         os.path.join(REPO, "configs", "meccano", "SLOWFAST_8x8_R50.yaml"), "SOLVER.NOPE", "1"],
        capture_output=True, text=True,
    )
    assert out.returncode == 2
    assert "SOLVER.NOPE" in out.stderr
