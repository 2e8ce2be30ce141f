"""tests/engine/tiny_run.py (run_net with the tiny doubles) plus a kill inside a checkpoint write.

FAULT_KILL_IN_SAVE=NAME:MARKER: when a checkpoint whose file name contains NAME is being
written, and MARKER does not exist yet, create MARKER, write the first half of the serialised
checkpoint to the temporary file, flush it to disk and SIGKILL this process: exactly what a
kill in the middle of ``torch.save`` leaves behind.
"""
import io
import os
import runpy
import signal
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

import torch  # noqa: E402

_save = torch.save


def _save_then_die(obj, f, *args, **kwargs):
    name, marker = os.environ["FAULT_KILL_IN_SAVE"].split(":", 1)
    target = getattr(f, "name", str(f))
    if name not in os.path.basename(str(target)) or os.path.exists(marker):
        return _save(obj, f, *args, **kwargs)
    open(marker, "w").close()
    buf = io.BytesIO()
    _save(obj, buf, *args, **kwargs)
    data = buf.getvalue()
    with open(target, "wb") as out:
        out.write(data[: len(data) // 2])
        out.flush()
        os.fsync(out.fileno())
    os.kill(os.getpid(), signal.SIGKILL)


if os.environ.get("FAULT_KILL_IN_SAVE"):
    torch.save = _save_then_die

runpy.run_path(os.path.join(REPO, "tests", "engine", "tiny_run.py"), run_name="__main__")
