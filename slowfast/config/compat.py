"""PySlowFast keys we accept but do not implement, and the rules that refuse their use.

Two tables make one mechanism: ``pyslowfast_inert.yaml`` lists whole PySlowFast features
(AVA, detection, multigrid, contrastive, MAE, ...) whose keys must keep their default;
``ONLY_VALUES`` lists keys of implemented sections where only some values are supported.
Either way a config that switches on something we lack fails with the key's name.
"""
import os

import yaml
from yacs.config import CfgNode

_INERT_PATH = os.path.join(os.path.dirname(__file__), "pyslowfast_inert.yaml")

# key -> the values we implement (anything else is refused at load time).
ONLY_VALUES = {
    "BN.NORM_TYPE": ("batchnorm", "sync_batchnorm"),
    "BN.NUM_SPLITS": (1,),
    "BN.NUM_SYNC_DEVICES": (1,),
    "MODEL.DROPCONNECT_RATE": (0.0,),
    "MODEL.FP16_ALLREDUCE": (False,),
    "MVIT.PATCH_2D": (False,),
    "MVIT.LAYER_SCALE_INIT_VALUE": (0.0,),
    "MVIT.SEPARATE_QKV": (False,),
    "MVIT.USE_MEAN_POOLING": (False,),
    "MVIT.USE_FIXED_SINCOS_POS": (False,),
    "MVIT.NORM": ("layernorm",),
    "DATA.MULTI_LABEL": (False,),
    "DATA.TRAIN_JITTER_MOTION_SHIFT": (False,),
    "SOLVER.LARS_ON": (False,),
    "SOLVER.LAYER_DECAY": (1.0,),
    "TEST.NUM_TEMPORAL_CLIPS": ([],),
    "TASK": ("",),
}

# key -> allowed values, checked for typos rather than for missing features.
CHOICES = {
    "TRAIN.CHECKPOINT_TYPE": ("pytorch", "caffe2"),
    "TEST.CHECKPOINT_TYPE": ("pytorch", "caffe2"),
    "TRAIN.MIXED_PRECISION_DTYPE": ("float16", "bfloat16"),
    "TRAIN.BEST_METRIC": ("val_top1", "val_top5", "val_mean_class_acc", "val_loss"),
    "SOLVER.LR_POLICY": ("cosine", "steps_with_relative_lrs", "constant"),
    "SOLVER.OPTIMIZING_METHOD": ("sgd", "adamw"),
    "DATA.SAMPLING_METHOD": ("stride", "segment_uniform", "random_sorted"),
    "DATA.ENSEMBLE_METHOD": ("sum", "max"),
    "DATA.DECODE_DEVICE": ("cpu", "cuda"),
    "MODEL.LOSS_FUNC": ("cross_entropy", "soft_cross_entropy", "bce", "bce_logit"),
    "MVIT.ATTN_IMPL": ("sdpa", "explicit"),
    "CNN_LSTM.POOL": ("last", "mean"),
}


def _load_inert():
    with open(_INERT_PATH) as f:
        return yaml.safe_load(f)


def _leaves(tree, prefix=""):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _leaves(value, prefix + key + ".")
        else:
            yield prefix + key, value


def get_key(cfg, dotted):
    node = cfg
    for part in dotted.split("."):
        node = node[part]
    return node


def _same(a, b):
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def add_inert_keys(cfg):
    """Graft PySlowFast's unimplemented keys, with their defaults, onto ``cfg``."""
    for dotted, value in _leaves(_load_inert()):
        node = cfg
        parts = dotted.split(".")
        for part in parts[:-1]:
            if part not in node:
                node[part] = CfgNode()
            node = node[part]
        node[parts[-1]] = value


def unsupported_settings(cfg):
    """Messages, one per key, for every setting that asks for a feature we lack."""
    problems = []
    for dotted, default in _leaves(_load_inert()):
        value = get_key(cfg, dotted)
        if not _same(value, default):
            problems.append(
                f"{dotted}={value!r}: this PySlowFast feature is not implemented here "
                f"(the key is accepted only with its default {default!r})"
            )
    for dotted, allowed in ONLY_VALUES.items():
        value = get_key(cfg, dotted)
        if not any(_same(value, a) for a in allowed):
            problems.append(
                f"{dotted}={value!r} is not implemented (supported: "
                + ", ".join(repr(a) for a in allowed) + ")"
            )
    locations = cfg.NONLOCAL.LOCATION
    if any(blocks for stage in locations for blocks in stage):
        problems.append(
            f"NONLOCAL.LOCATION={locations!r}: non-local blocks are not implemented "
            "(every list must be empty)"
        )
    for dotted, allowed in CHOICES.items():
        value = get_key(cfg, dotted)
        if value not in allowed:
            problems.append(f"{dotted}={value!r} is not one of {', '.join(map(repr, allowed))}")
    return problems
