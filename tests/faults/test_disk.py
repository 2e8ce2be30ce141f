"""Issue 9, row 6: a full or unwritable checkpoint folder mid-run fails clearly and loses nothing.

After epoch 1's two checkpoint writes (best.pyth, checkpoint_epoch_00001.pyth) every new
temporary checkpoint file is either a symlink to /dev/full, so the kernel itself answers
ENOSPC part-way through torch.save, or refused with EACCES (what chmod a-w gives a non-root
user; the tests run as root, for whom chmod changes nothing). The run must stop with a
CheckpointError naming the file and the OS reason, leave no temporary file, keep epoch 1's
checkpoints loadable, and resume from them once space is back.
"""
import errno
import os
import tempfile

import pytest
import torch

from slowfast.engine.checkpoint import CheckpointError, load_file
from slowfast.engine.runner import run
from tests.engine import helpers
from tests.engine.tiny import install

GOOD_WRITES = 2


def _failing_mkstemp(ckpt_dir, how):
    real = tempfile.mkstemp
    writes = [0]

    def mkstemp(*args, **kwargs):
        if kwargs.get("dir") != str(ckpt_dir):
            return real(*args, **kwargs)
        writes[0] += 1
        if writes[0] <= GOOD_WRITES:
            return real(*args, **kwargs)
        if how == "unwritable":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(ckpt_dir))
        fd, path = real(*args, **kwargs)
        os.close(fd)
        os.remove(path)
        os.symlink("/dev/full", path)
        return os.open(path, os.O_WRONLY), path

    return mkstemp


@pytest.mark.parametrize("how, reason", [("full", r"\[Errno 28\] No space left on device"),
                                         ("unwritable", r"\[Errno 13\] Permission denied")])
def test_checkpoint_folder_full_or_unwritable_mid_run(tmp_path, monkeypatch, how, reason):
    install(monkeypatch)
    out = tmp_path / "run"
    ckpts = out / "checkpoints"
    common = dict(TEST__ENABLE=False, LOG_MODEL_INFO=False, LOG_PERIOD=2)
    with monkeypatch.context() as patch:
        patch.setattr(tempfile, "mkstemp", _failing_mkstemp(ckpts, how))
        with pytest.raises(CheckpointError, match=rf"{ckpts}/\S+\.pyth: could not write the checkpoint \({reason}"):
            run(helpers.tiny_cfg(tmp_path, out, **common))
    assert sorted(os.listdir(ckpts)) == ["best.pyth", "checkpoint_epoch_00001.pyth"]  # no temporary file left
    for name in os.listdir(ckpts):
        data = load_file(str(ckpts / name))
        assert data["epoch"] == 0
        assert all(torch.isfinite(v).all() for v in data["model_state"].values() if v.is_floating_point())
    run(helpers.tiny_cfg(tmp_path, out, **common))
    assert "Resuming from " + str(ckpts / "checkpoint_epoch_00001.pyth") in (out / "stdout.log").read_text()
    assert load_file(str(ckpts / "checkpoint_epoch_00003.pyth"))["epoch"] == 2
