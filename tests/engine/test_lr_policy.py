"""LR schedule: PySlowFast's values, computed by hand, including warm-up from above BASE_LR."""
import os

import pytest

from slowfast.config import load_config
from slowfast.engine.lr_policy import LRPolicyError, get_lr_at_epoch
from tests.conftest import SHARED

CONFIGS = os.path.join(SHARED, "reference", "configs")


@pytest.mark.parametrize("epoch, expected", [
    # Warm-up is a straight line from WARMUP_START_LR 0.01 down to the cosine value at epoch 34:
    # 1e-4 * (1 + cos(pi * 34 / 200)) / 2 = 1e-4 * (1 + 0.8607420270) / 2 = 9.30371013502e-05.
    (0.0, 0.01),
    (17.0, (0.01 + 9.30371013502e-05) / 2),   # half-way down the warm-up line
    (10.0, 0.01 - 10 * (0.01 - 9.30371013502e-05) / 34),
    (34.0, 9.30371013502e-05),
    (100.0, 5e-05),                          # cos(pi / 2) = 0
    (150.0, 1e-4 * (1 - 0.70710678118655) / 2),
    (200.0, 0.0),
])
def test_official_meccano_schedule(epoch, expected):
    cfg = load_config(os.path.join(CONFIGS, "meccano_official_SLOWFAST_8x8_R50_MECCANO.yaml"))
    assert cfg.SOLVER.WARMUP_START_LR > cfg.SOLVER.BASE_LR
    assert get_lr_at_epoch(cfg, epoch) == pytest.approx(expected, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("epoch, expected", [
    # Cosine after warm-up from 1e-6 to BASE_LR 1e-4 over 30 epochs, down to COSINE_END_LR 1e-6 at 200.
    (0.0, 1e-6),
    (15.0, 5.05e-05),
    (30.0, 1e-4),
    (115.0, 5.05e-05),
    (200.0, 1e-6),
])
def test_mvit_kinetics_schedule(epoch, expected):
    cfg = load_config(os.path.join(CONFIGS, "pyslowfast_Kinetics_MVITv2_S_16x4.yaml"))
    assert cfg.SOLVER.COSINE_AFTER_WARMUP
    assert get_lr_at_epoch(cfg, epoch) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("epoch, expected", [
    (0.0, 0.01), (1.0, 0.055), (2.0, 0.1), (9.99, 0.1), (10.0, 0.01), (19.5, 0.01), (25.0, 0.001), (29.9, 0.001),
])
def test_steps_with_relative_lrs_and_warmup(epoch, expected):
    cfg = load_config(None, [
        "SOLVER.LR_POLICY", "steps_with_relative_lrs", "SOLVER.BASE_LR", "0.1", "SOLVER.STEPS", "[0, 10, 20]",
        "SOLVER.LRS", "[1, 0.1, 0.01]", "SOLVER.MAX_EPOCH", "30", "SOLVER.WARMUP_EPOCHS", "2.0",
        "SOLVER.WARMUP_START_LR", "0.01",
    ])
    assert get_lr_at_epoch(cfg, epoch) == pytest.approx(expected, rel=1e-12)


def test_cosine_end_above_base_is_refused():
    cfg = load_config(None, ["SOLVER.COSINE_END_LR", "0.5", "SOLVER.BASE_LR", "0.1"])
    with pytest.raises(LRPolicyError, match="COSINE_END_LR"):
        get_lr_at_epoch(cfg, 3.0)
