"""Tiny synthetic MECCANO-format data, generated once per test session."""
import pytest

from slowfast.datasets.synthetic import make_meccano_like
from tests.datasets.helpers import TINY


@pytest.fixture(scope="session")
def tiny_meccano(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny_meccano")
    make_meccano_like(str(out), **TINY)
    return out
