"""Fault tests: engine runs reconfigure the root logger; put pytest's back afterwards."""
import pytest

from tests.engine.conftest import restored_logging


@pytest.fixture(autouse=True)
def _restore_logging():
    with restored_logging():
        yield


@pytest.fixture(scope="session")
def tiny_meccano(tmp_path_factory):
    """MECCANO-format synthetic data, generated once; tests that break it copy it first."""
    from slowfast.datasets.synthetic import make_meccano_like
    from tests.datasets.helpers import TINY

    out = tmp_path_factory.mktemp("tiny_meccano")
    make_meccano_like(str(out), **TINY)
    return out
