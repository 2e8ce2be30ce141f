"""tools/run_net.py with the tiny test doubles registered (for subprocess tests).

TINY_DUMP_DIR=DIR additionally saves each rank's final model state as DIR/rank{R}.pt.
"""
import importlib.util
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

import torch  # noqa: E402

from slowfast.engine import runner  # noqa: E402
from tests.engine.tiny import install  # noqa: E402

install()
torch.set_num_threads(1)

dump_dir = os.environ.get("TINY_DUMP_DIR")
if dump_dir:
    _run = runner.run

    def _run_and_dump(cfg, ctx=None):
        outcome = _run(cfg, ctx)
        rank = ctx.rank if ctx is not None else 0
        torch.save(outcome.model.state_dict(), os.path.join(dump_dir, f"rank{rank}.pt"))
        return outcome

    runner.run = _run_and_dump

spec = importlib.util.spec_from_file_location("run_net", os.path.join(REPO, "tools", "run_net.py"))
run_net = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_net)
sys.exit(run_net.main(sys.argv[1:]))
