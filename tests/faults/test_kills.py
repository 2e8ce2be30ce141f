"""Issue 9, row 5: kills never leave a checkpoint that resume would pick, and resume is exact.

Each run is tools/run_net.py in a fresh process (3 epochs x 4 steps, dropout, mixup, precise
BN: tests/engine/test_resume.py's settings), compared bit for bit with one uninterrupted run.
Added here: SIGKILL in the middle of writing epoch 2's checkpoint (tests/faults/fault_run.py
writes half of the file, then kills the process) and SIGINT. SIGKILL between steps and
SIGTERM are tests/engine/test_resume.py's.
"""
import os
import signal
import subprocess
import sys

import pytest
import torch

from slowfast.engine.checkpoint import last_checkpoint, load_file
from tests.conftest import REPO
from tests.engine import helpers
from tests.engine.test_resume import SETTINGS, SIGNAL_AT, _assert_same_final_state, reference  # noqa: F401

FAULT_RUN = os.path.join(REPO, "tests", "faults", "fault_run.py")


def _run(tmp_path, out, env_extra):
    cfg_path = helpers.write_yaml(tmp_path / "tiny.yaml")
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=REPO, **env_extra)
    cmd = [sys.executable, FAULT_RUN, "--cfg", cfg_path] + helpers.opts(out, **SETTINGS)
    return subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=240)


def test_sigkill_while_writing_a_checkpoint_then_resume_equals_uninterrupted(tmp_path, reference):  # noqa: F811
    out = tmp_path / "out"
    env = {"FAULT_KILL_IN_SAVE": f"checkpoint_epoch_00002.pyth:{tmp_path / 'fired'}"}
    killed = _run(tmp_path, out, env)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    ckpts = out / "checkpoints"
    partial = [name for name in os.listdir(ckpts) if name.startswith(".checkpoint_epoch_00002.pyth.")]
    assert len(partial) == 1 and (ckpts / partial[0]).stat().st_size > 0
    with pytest.raises(Exception):
        torch.load(ckpts / partial[0], weights_only=True)  # really a torn file
    assert last_checkpoint(str(out)) == str(ckpts / "checkpoint_epoch_00001.pyth")
    rerun = _run(tmp_path, out, env)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert "Resuming from " + str(ckpts / "checkpoint_epoch_00001.pyth") in rerun.stdout
    _assert_same_final_state(out, reference)


def test_sigint_saves_a_loadable_mid_epoch_checkpoint_and_resumes_exactly(tmp_path, reference):  # noqa: F811
    out = tmp_path / "out"
    env = {"TINY_SIGNAL": f"SIGINT:{SIGNAL_AT}:{tmp_path / 'fired'}"}
    stopped = _run(tmp_path, out, env)
    assert stopped.returncode == 128 + signal.SIGINT, stopped.stdout[-3000:] + stopped.stderr[-3000:]
    saved = load_file(str(out / "checkpoints" / "checkpoint_epoch_00001_iter_00002.pyth"))
    assert saved["epoch"] == 0 and saved["iter_in_epoch"] == 2 and len(saved["rng_states"]) == 1
    rerun = _run(tmp_path, out, env)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert "Resuming epoch 2 at iteration 2" in rerun.stdout
    _assert_same_final_state(out, reference)
