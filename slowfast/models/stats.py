"""Model statistics for the start-of-run log and results.json: params, GFLOPs per view, activations.

FLOPs are fvcore's: one multiply-add counts as one FLOP, as in PySlowFast's ``get_model_stats``
(SlowFast 8x8 R50: 66.07 GFLOPs at a 256 test crop). fvcore knows no fused attention op, so we
add a handle for ``aten::scaled_dot_product_attention`` that counts what the explicit
``softmax(QK^T)V`` matmuls would: a model using SDPA reports the same numbers as its
explicit-matmul twin. Both counts come from one trace (a full-size forward pass).
"""
import math
import warnings
from collections import Counter

import torch
from fvcore.nn.activation_count import _DEFAULT_SUPPORTED_OPS as FVCORE_ACTIVATION_HANDLES
from fvcore.nn.flop_count import _DEFAULT_SUPPORTED_OPS as FVCORE_FLOP_HANDLES
from fvcore.nn.jit_analysis import JitModelAnalysis
from fvcore.nn.jit_handles import get_shape

from slowfast.utils.logging import get_logger

logger = get_logger(__name__)

_SDPA = "aten::scaled_dot_product_attention"


def _attention_sizes(inputs):
    """(batch x heads, Lq, Lk, D, Dv) from SDPA's query, key and value shapes."""
    query, key, value = (get_shape(v) for v in inputs[:3])
    return math.prod(query[:-2]), query[-2], key[-2], query[-1], value[-1]


def sdpa_flop_jit(inputs, outputs):
    """QK^T (Lq x D x Lk) plus AV (Lq x Lk x Dv) multiply-adds per batch and head."""
    batch, lq, lk, d, dv = _attention_sizes(inputs)
    return batch * lq * lk * (d + dv)


def sdpa_activation_jit(inputs, outputs):
    """The outputs the two explicit matmuls would produce: the Lq x Lk map and the Lq x Dv result."""
    batch, lq, lk, _, dv = _attention_sizes(inputs)
    return batch * lq * (lk + dv)


def _number(count):
    return sum(count.values()) if isinstance(count, Counter) else count


def _flops_and_activations(flop_handle, activation_handle):
    """One fvcore handle reporting both quantities, so a single trace yields both totals."""
    def handle(inputs, outputs):
        return Counter({
            "flops": _number(flop_handle(inputs, outputs)) if flop_handle else 0,
            "activations": _number(activation_handle(inputs, outputs)) if activation_handle else 0,
        })
    return handle


_FLOP_HANDLES = {**FVCORE_FLOP_HANDLES, _SDPA: sdpa_flop_jit}
_ACTIVATION_HANDLES = {**FVCORE_ACTIVATION_HANDLES, _SDPA: sdpa_activation_jit}
_HANDLES = {op: _flops_and_activations(_FLOP_HANDLES.get(op), _ACTIVATION_HANDLES.get(op))
            for op in set(_FLOP_HANDLES) | set(_ACTIVATION_HANDLES)}


def _count(model, x):
    analysis = JitModelAnalysis(model, (x,)).set_op_handle(**_HANDLES)
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    totals = analysis.by_operator()
    skipped = analysis.unsupported_ops()
    if skipped:
        logger.debug("model_stats: ops not counted: %s", dict(skipped))
    return totals["flops"], totals["activations"]


def model_stats(model, cfg):
    """Parameters, GFLOPs (multiply-adds) and activations (millions) for one test view.

    The view is ``1 x C x DATA.NUM_FRAMES x TEST_CROP_SIZE x TEST_CROP_SIZE`` (a SlowFast model
    builds its slow pathway from it), counted in eval mode; the model's mode is restored.
    Pass the plain model, not a torch.compile or DDP wrapper.
    """
    params = sum(p.numel() for p in model.parameters())
    crop = cfg.DATA.TEST_CROP_SIZE
    shape = [1, cfg.DATA.INPUT_CHANNEL_NUM[0], cfg.DATA.NUM_FRAMES, crop, crop]
    first = next(model.parameters())
    x = torch.zeros(shape, dtype=first.dtype, device=first.device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer chatter about Python-level shape checks
            flops, activations = _count(model, x)
    finally:
        model.train(was_training)
    return {
        "params": int(params),
        "gflops": flops / 1e9,
        "activations_m": activations / 1e6,
        "input_shape": shape,
    }
