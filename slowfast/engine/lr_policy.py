"""Learning-rate schedule with PySlowFast's exact semantics.

``get_lr_at_epoch(cfg, cur_epoch)`` takes a fractional epoch (epoch + iter / iters_per_epoch)
so the LR changes every iteration. During warm-up the LR moves on a straight line from
SOLVER.WARMUP_START_LR to the policy's own value at SOLVER.WARMUP_EPOCHS; the start may be
above BASE_LR (the official MECCANO recipe goes down from 0.01 to the cosine value at
epoch 34). BASE_LR_SCALE_NUM_SHARDS is already applied by the config loader.
"""
import math


class LRPolicyError(ValueError):
    """The SOLVER settings do not describe a usable schedule."""


def _cosine(solver, cur_epoch):
    if not solver.COSINE_END_LR < solver.BASE_LR:
        raise LRPolicyError(
            f"SOLVER.COSINE_END_LR={solver.COSINE_END_LR} must be below SOLVER.BASE_LR={solver.BASE_LR}"
        )
    offset = solver.WARMUP_EPOCHS if solver.COSINE_AFTER_WARMUP else 0.0
    progress = (cur_epoch - offset) / (solver.MAX_EPOCH - offset)
    return solver.COSINE_END_LR + (solver.BASE_LR - solver.COSINE_END_LR) * 0.5 * (
        math.cos(math.pi * progress) + 1.0
    )


def _steps_with_relative_lrs(solver, cur_epoch):
    # STEPS[0] is the first epoch of LRS[0] (0 in every PySlowFast config); MAX_EPOCH closes the list.
    boundaries = list(solver.STEPS) + [solver.MAX_EPOCH]
    index = next((i for i, step in enumerate(boundaries) if cur_epoch < step), len(boundaries)) - 1
    if not 0 <= index < len(solver.LRS):
        raise LRPolicyError(
            f"epoch {cur_epoch} is outside SOLVER.STEPS={list(solver.STEPS)} (MAX_EPOCH {solver.MAX_EPOCH})"
        )
    return solver.LRS[index] * solver.BASE_LR


def _constant(solver, cur_epoch):
    return solver.BASE_LR


_POLICIES = {
    "cosine": _cosine,
    "steps_with_relative_lrs": _steps_with_relative_lrs,
    "constant": _constant,
}


def get_lr_at_epoch(cfg, cur_epoch):
    """LR at fractional epoch ``cur_epoch`` (0-based), warm-up included."""
    solver = cfg.SOLVER
    if solver.LR_POLICY not in _POLICIES:
        raise LRPolicyError(f"SOLVER.LR_POLICY={solver.LR_POLICY!r} is not one of {sorted(_POLICIES)}")
    policy = _POLICIES[solver.LR_POLICY]
    if cur_epoch < solver.WARMUP_EPOCHS:
        lr_end = policy(solver, solver.WARMUP_EPOCHS)
        slope = (lr_end - solver.WARMUP_START_LR) / solver.WARMUP_EPOCHS
        return solver.WARMUP_START_LR + cur_epoch * slope
    return policy(solver, cur_epoch)
