"""Issue 9, row 4: a NaN or inf loss stops the run naming epoch and iteration; no bad checkpoint.

The loss of the 3rd iteration of epoch 2 (7th training step) is multiplied by NaN or inf, so
its gradients poison the weights. With LOG_PERIOD 1 the run stops at once; with LOG_PERIOD
100 it keeps stepping on NaN weights until the end-of-epoch read, which must still stop it
before the epoch's checkpoint. Either way epoch 1's checkpoint stays, finite and loadable,
and a rerun resumes from it. tests/engine/test_training.py::test_nan_loss_stops_naming_epoch_and_iteration
and tests/engine/test_run.py::test_nan_loss_stops_before_any_checkpoint cover the first epoch.
"""
import json
import os

import pytest
import torch

from slowfast.engine import train as train_module
from slowfast.engine.checkpoint import load_file
from slowfast.engine.runner import run
from tests.engine import helpers
from tests.engine.tiny import install

POISON_STEP = 4 + 3  # 16 training clips in batches of 4: epoch 1 has 4 steps


def _poisoned_loss(value):
    real = train_module.get_loss_func
    calls = [0]

    def get_loss_func(name):
        loss_fn = real(name)

        def loss(logits, target):
            calls[0] += 1
            out = loss_fn(logits, target)
            return out * value if calls[0] == POISON_STEP else out

        return loss

    return get_loss_func


def _finite(state):
    return all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


@pytest.mark.parametrize("value, log_period", [(float("nan"), 1), (float("inf"), 100)])
def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch, value, log_period):
    install(monkeypatch)
    out = tmp_path / "run"
    common = dict(TEST__ENABLE=False, LOG_MODEL_INFO=False, LOG_PERIOD=log_period)
    with monkeypatch.context() as patch:
        patch.setattr(train_module, "get_loss_func", _poisoned_loss(value))
        with pytest.raises(FloatingPointError, match=rf"non-finite training loss at epoch 2, iteration 3 \(loss {value}\)"):
            run(helpers.tiny_cfg(tmp_path, out, **common))
    ckpts = out / "checkpoints"
    assert sorted(os.listdir(ckpts)) == ["best.pyth", "checkpoint_epoch_00001.pyth"]
    for name in os.listdir(ckpts):
        data = load_file(str(ckpts / name))
        assert data["epoch"] == 0 and _finite(data["model_state"])
    stats = [json.loads(line) for line in (out / "json_stats.log").read_text().splitlines()]
    assert [s["epoch"] for s in stats if s["_type"] == "train_epoch"] == [1]
    # The run resumes from the good checkpoint once the cause is gone.
    run(helpers.tiny_cfg(tmp_path, out, **common))
    assert "Resuming from " + str(ckpts / "checkpoint_epoch_00001.pyth") in (out / "stdout.log").read_text()
    final = load_file(str(ckpts / "checkpoint_epoch_00003.pyth"))
    assert final["epoch"] == 2 and _finite(final["model_state"])
