"""Random state for exact resume.

Every epoch starts from a seed derived from (RNG_SEED, epoch, rank), so what happened
before (evaluation, data-loader start-up, model statistics) cannot leak into training
randomness such as dropout. A checkpoint saved in the middle of an epoch also records the
generators' states, captured as plain tensors and lists so it loads with weights_only=True.
"""
import random

import numpy as np
import torch

from slowfast.utils.seed import seed_everything


def derived_seed(*parts):
    """A 63-bit seed from integers; the same parts give the same seed in every process."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(2, np.uint64)[0] >> np.uint64(1))


def seed_epoch(base_seed, epoch, rank):
    seed_everything(derived_seed(base_seed, epoch, rank))


def mixup_generator(base_seed, epoch, iteration):
    """Per-iteration numpy generator: mixup draws independent of process and resume."""
    return np.random.default_rng([int(base_seed), int(epoch), int(iteration), 0x5EED])


def get_states():
    np_state = np.random.get_state()
    states = {
        "torch": torch.get_rng_state(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
        "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state()
    return states


def set_states(states):
    torch.set_rng_state(states["torch"])
    name, keys, *rest = states["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state(states["cuda"])
