"""SIGTERM / SIGINT during training: finish the current step, checkpoint, exit non-zero."""
import contextlib
import logging
import signal

logger = logging.getLogger(__name__)


class Interrupted(Exception):
    """Training stopped by a signal after saving a checkpoint; ``exit_code`` is 128 + signal."""

    def __init__(self, signum, checkpoint):
        super().__init__(f"stopped by {signal.Signals(signum).name}; resume from {checkpoint}")
        self.exit_code = 128 + signum


class StopFlag:
    """Records the first SIGTERM/SIGINT; the loop polls ``signum`` between steps."""

    def __init__(self):
        self.signum = 0

    def _handle(self, signum, frame):
        if not self.signum:
            logger.warning("Received %s: stopping after the current step", signal.Signals(signum).name)
        self.signum = signum

    @contextlib.contextmanager
    def installed(self):
        previous = {s: signal.signal(s, self._handle) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield self
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
