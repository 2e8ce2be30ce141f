"""Precise BatchNorm statistics (BN.USE_PRECISE_STATS), as PySlowFast computes them with fvcore.

Running averages drift with the weights during an epoch; this replaces them with the plain
mean over NUM_BATCHES_PRECISE training batches of each batch's mean and (unbiased) variance,
computed with the final weights. BatchNorm's cumulative mode (momentum None) gives exactly
that average. Across processes the per-rank averages are averaged again. Layers that the
model keeps in eval mode (MODEL.FROZEN_BN) are left alone.
"""
import itertools
import logging

import torch

from slowfast.engine.distributed import all_reduce_sum

logger = logging.getLogger(__name__)


def bn_layers(model):
    bn = torch.nn.modules.batchnorm._BatchNorm
    return [m for m in model.modules() if isinstance(m, bn) and m.track_running_stats]


@torch.no_grad()
def update_bn_stats(model, batches, prepare, num_batches, ctx, autocast):
    """Recompute running stats of ``model`` (unwrapped) from up to ``num_batches`` of ``batches``."""
    was_training = model.training
    model.train()
    layers = [m for m in bn_layers(model) if m.training]
    if not layers:
        model.train(was_training)
        return 0
    momenta = [m.momentum for m in layers]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None
    seen = 0
    for clips, *_ in itertools.islice(batches, num_batches):
        with autocast():
            model(prepare(clips))
        seen += 1
    for m, momentum in zip(layers, momenta):
        m.momentum = momentum
        if ctx.distributed:
            for buf in (m.running_mean, m.running_var):
                all_reduce_sum(buf, ctx).div_(ctx.world_size)
    model.train(was_training)
    logger.info("Precise BN: %d layers recomputed over %d batches per process", len(layers), seen)
    return seen
