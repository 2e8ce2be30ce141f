"""A run killed mid-epoch (SIGKILL) or stopped (SIGTERM) and rerun ends bit-identical to an uninterrupted one.

Each run is tools/run_net.py in a fresh process: 3 epochs of 4 iterations, dropout, mixup and
precise BN on, so every source of randomness and every piece of optimizer state must resume.
The dataset double sends the signal while loading an item of epoch 2's second batch: epoch 1
loads 16 training items plus 8 for precise BN, so item 30 is the 6th of epoch 2.
"""
import os
import signal

import pytest
import torch

from tests.engine import helpers

SETTINGS = dict(
    MIXUP__ENABLE=True, MODEL__LOSS_FUNC="soft_cross_entropy", BN__USE_PRECISE_STATS=True,
    BN__NUM_BATCHES_PRECISE=2, TEST__ENABLE=False, LOG_MODEL_INFO=False, LOG_PERIOD=2,
)
SIGNAL_AT = 16 + 8 + 6


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reference")
    proc = helpers.run_tiny_subprocess(tmp, tmp / "out", **SETTINGS)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return torch.load(tmp / "out" / "checkpoints" / "checkpoint_epoch_00003.pyth", weights_only=True)


def _assert_same_final_state(out, reference):
    final = torch.load(out / "checkpoints" / "checkpoint_epoch_00003.pyth", weights_only=True)
    assert final["model_state"].keys() == reference["model_state"].keys()
    for key, value in reference["model_state"].items():
        assert torch.equal(final["model_state"][key], value), key
    for pid, state in reference["optimizer_state"]["state"].items():
        assert torch.equal(final["optimizer_state"]["state"][pid]["momentum_buffer"], state["momentum_buffer"])


def test_sigkill_mid_epoch_then_rerun_equals_uninterrupted(tmp_path, reference):
    out = tmp_path / "out"
    env = {"TINY_SIGNAL": f"SIGKILL:{SIGNAL_AT}:{tmp_path / 'fired'}"}
    killed = helpers.run_tiny_subprocess(tmp_path, out, env_extra=env, **SETTINGS)
    assert killed.returncode == -signal.SIGKILL
    assert sorted(os.listdir(out / "checkpoints")) == ["best.pyth", "checkpoint_epoch_00001.pyth"]
    # What a kill during torch.save leaves behind must not be picked up.
    (out / "checkpoints" / ".checkpoint_epoch_00002.pyth.k2j4.tmp").write_bytes(b"\x80\x02partial")
    rerun = helpers.run_tiny_subprocess(tmp_path, out, env_extra=env, **SETTINGS)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert "Resuming from " + str(out / "checkpoints" / "checkpoint_epoch_00001.pyth") in rerun.stdout
    _assert_same_final_state(out, reference)


def test_sigterm_saves_mid_epoch_checkpoint_and_resumes_exactly(tmp_path, reference):
    out = tmp_path / "out"
    env = {"TINY_SIGNAL": f"SIGTERM:{SIGNAL_AT}:{tmp_path / 'fired'}"}
    stopped = helpers.run_tiny_subprocess(tmp_path, out, env_extra=env, **SETTINGS)
    assert stopped.returncode == 128 + signal.SIGTERM, stopped.stdout[-3000:] + stopped.stderr[-3000:]
    partial = out / "checkpoints" / "checkpoint_epoch_00001_iter_00002.pyth"
    assert partial.is_file()
    saved = torch.load(partial, weights_only=True)
    assert saved["epoch"] == 0 and saved["iter_in_epoch"] == 2 and len(saved["rng_states"]) == 1
    rerun = helpers.run_tiny_subprocess(tmp_path, out, env_extra=env, **SETTINGS)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert "Resuming epoch 2 at iteration 2" in rerun.stdout
    _assert_same_final_state(out, reference)
    assert not partial.exists()  # superseded by the finished epochs' checkpoints
