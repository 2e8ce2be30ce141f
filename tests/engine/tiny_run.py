"""tools/run_net.py with the tiny test doubles registered (for subprocess tests).

TINY_DUMP_DIR=DIR additionally saves each rank's trained model state (before testing) as DIR/rank{R}.pt.
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
    _test = runner._Run.test

    def _dump_then_test(self):
        """Save this rank's weights as training left them, before the test loads best.pyth."""
        torch.save(self.module.state_dict(), os.path.join(dump_dir, f"rank{self.ctx.rank}.pt"))
        return _test(self)

    runner._Run.test = _dump_then_test

spec = importlib.util.spec_from_file_location("run_net", os.path.join(REPO, "tools", "run_net.py"))
run_net = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_net)
sys.exit(run_net.main(sys.argv[1:]))
