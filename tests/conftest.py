"""Shared test setup: small thread counts, paths to the repo and to ../shared."""
import os
import sys

import pytest
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(REPO), "shared")
sys.path.insert(0, REPO)

torch.set_num_threads(2)


@pytest.fixture
def shared_dir():
    if not os.path.isdir(SHARED):
        pytest.fail(f"../shared is expected beside the checkout at {SHARED}")
    return SHARED
