"""Engine tests: every run reconfigures the root logger; put pytest's back afterwards."""
import contextlib
import logging

import pytest


@contextlib.contextmanager
def restored_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        for handler in handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(level)


@pytest.fixture(autouse=True)
def _restore_logging():
    with restored_logging():
        yield
