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


def test_json_stats_on_a_full_disk_fails_clearly_and_keeps_whole_lines(tmp_path, monkeypatch):
    from slowfast.engine import monitor

    stats = monitor.JsonStats(str(tmp_path), True)
    stats.write("train_epoch", epoch=1, loss=1.5)
    before = (tmp_path / "json_stats.log").read_bytes()
    real_write, calls = os.write, [0]

    def short_then_enospc(fd, data):
        # What a filling disk does: a short write, then ENOSPC.
        calls[0] += 1
        if calls[0] == 1:
            return real_write(fd, data[:7])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(monitor.os, "write", short_then_enospc)
    with pytest.raises(OSError, match=rf"{tmp_path}/json_stats.log: could not append the 'val_epoch' record "
                                      r"\(No space left on device\); the lines before it are intact"):
        stats.write("val_epoch", epoch=1, top1=50.0)
    assert calls[0] == 2 and (tmp_path / "json_stats.log").read_bytes() == before  # the 7 bytes are cut back
    monkeypatch.setattr(monitor.os, "write", real_write)
    stats.write("val_epoch", epoch=1, top1=50.0)  # space is back: whole lines again
    assert [line.split('"_type": ')[1][:12] for line in (tmp_path / "json_stats.log").read_text().splitlines()] == \
        ['"train_epoch', '"val_epoch",']


def test_run_with_json_stats_on_a_full_device_stops_naming_the_file(tmp_path, monkeypatch):
    install(monkeypatch)
    out = tmp_path / "run"
    out.mkdir()
    os.symlink("/dev/full", out / "json_stats.log")
    with pytest.raises(OSError, match=r"json_stats.log: could not append the 'train_iter' record \(No space left"):
        run(helpers.tiny_cfg(tmp_path, out, TEST__ENABLE=False, LOG_MODEL_INFO=False))
