"""softmax(q k^T * scale + rel-pos bias) v, computed two ways.

``explicit`` materialises the logits and the probabilities like PySlowFast; it is the
oracle the tests compare against. ``sdpa`` hands the bias to
``torch.nn.functional.scaled_dot_product_attention`` as ``attn_mask`` so the fused
kernel runs. On CPU, PyTorch falls back to its unfused math path whenever the mask needs
a gradient, which it does here (the bias depends on q and on the rel-pos tables); for CPU
training the autograd function below keeps the fused forward and recomputes the
probabilities in backward, a chunk of query rows at a time, so no (Nq x Nk) tensor is
kept between forward and backward. On CUDA the plain call is used: PyTorch's
memory-efficient kernel accepts a bias that needs a gradient (not measured here).
"""
import math

import torch
import torch.nn.functional as F

from slowfast.models.mvit_relpos import expand_bias, rel_pos_terms, rel_pos_terms_backward

# Logits handled at once by the CPU autograd function (3 scratch buffers of 16 MB in
# float32): bounds its memory, while keeping GEMMs large enough to use two cores well
# (2^20 was up to 2x slower at 2 threads on block 0, equal at 1 thread).
_CHUNK_ELEMENTS = 1 << 22


def attention(q, k, v, rows, q_thw, k_thw, prefix, scale, impl, q_norm=None):
    """(attention output (B, H, Nq, C), normalised q): attention of ``q_norm(q)`` on k, v.

    ``rows`` are the rel-pos table rows (t, h, w) from ``mvit_relpos.axis_rows``, or None
    without rel-pos; the first ``prefix`` tokens (cls) get no rel-pos term. ``q_norm`` (a
    LayerNorm or None) is applied here so the CPU training path can keep only the
    un-normalised q for backward.
    """
    if impl == "sdpa" and rows is not None and _needs_custom_backward(q, k, v, rows):
        rows = tuple(None if r is None else r.to(q.dtype) for r in rows)
        norm = (None, None, 0.0) if q_norm is None else (q_norm.weight, q_norm.bias, q_norm.eps)
        return _FusedRelPosAttention.apply(q, *norm, k, v, *rows, q_thw, k_thw, prefix, scale)
    if q_norm is not None:
        q = q_norm(q)
    if rows is None:
        if impl == "explicit":
            return _explicit(q, k, v, (None, None, None), q_thw, k_thw, prefix, scale), q
        return F.scaled_dot_product_attention(q, k, v, scale=scale), q
    terms = rel_pos_terms(q[:, :, prefix:], q_thw, k_thw, rows)
    if impl == "explicit":
        return _explicit(q, k, v, terms, q_thw, k_thw, prefix, scale), q
    bias = expand_bias(terms, k_thw, prefix).to(q.dtype)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=scale), q


def _explicit(q, k, v, terms, q_thw, k_thw, prefix, scale):
    """PySlowFast's formulation op for op: logits, then the spatial and the temporal term
    added into the token-token block in place, softmax, then the value product."""
    attn = (q * scale) @ k.transpose(-2, -1)
    rt, rh, rw = (None if t is None else t.unflatten(2, q_thw) for t in terms)
    b, heads = q.shape[:2]
    block_shape = (b, heads, *q_thw, *k_thw)
    flat_shape = (b, heads, math.prod(q_thw), math.prod(k_thw))
    if rh is not None or rw is not None:
        block = attn[:, :, prefix:, prefix:].view(block_shape)
        if rh is not None:
            block = block + rh[..., None, :, None]
        if rw is not None:
            block = block + rw[..., None, None, :]
        attn[:, :, prefix:, prefix:] = block.view(flat_shape)
    if rt is not None:
        block = attn[:, :, prefix:, prefix:].view(block_shape) + rt[..., :, None, None]
        attn[:, :, prefix:, prefix:] = block.view(flat_shape)
    return attn.softmax(dim=-1) @ v


def _needs_custom_backward(q, k, v, rows):
    """CPU training (the case where PyTorch's own SDPA would drop to the math path)."""
    if q.device.type != "cpu" or not torch.is_grad_enabled() or torch.jit.is_tracing():
        return False
    return any(t is not None and t.requires_grad for t in (q, k, v) + tuple(rows))


class _FusedRelPosAttention(torch.autograd.Function):
    """Fused SDPA forward; backward recomputes the softmax per chunk of query rows.

    Kept for backward: the un-normalised q (which q's LayerNorm keeps anyway), k, v and
    the small table rows. Normalised q, the rel-pos terms, the bias and the probabilities
    are all recomputed. Both directions walk over query rows in chunks that reuse a few
    cache-sized buffers, so the (Nq x Nk) bias is never allocated whole.
    """

    @staticmethod
    def forward(ctx, q_in, weight, bias, eps, k, v, rows_t, rows_h, rows_w, q_thw, k_thw, prefix, scale):
        rows = (rows_t, rows_h, rows_w)
        # In q's dtype throughout: backward, which autocast does not reach, must match.
        with torch.autocast(q_in.device.type, enabled=False):
            q, _ = _normalise(q_in, weight, bias, eps)
            out = torch.empty_like(q)
            terms = _padded_terms(q, rows, q_thw, k_thw, prefix)
            chunks = _Chunks(q, k)
            for start, stop in chunks:
                mask = _fill_bias(chunks.buffer(0, stop - start), terms, k_thw, prefix, start, stop)
                out[:, :, start:stop] = F.scaled_dot_product_attention(
                    q[:, :, start:stop], k, v, attn_mask=mask, scale=scale
                )
        ctx.present = tuple(t is not None for t in rows)
        ctx.save_for_backward(q_in, weight, bias, k, v, *(t for t in rows if t is not None))
        ctx.eps, ctx.q_thw, ctx.k_thw, ctx.prefix, ctx.scale = eps, q_thw, k_thw, prefix, scale
        # Normalised q is returned (for residual pooling) but not kept.
        return out, q if weight is not None else q_in.view_as(q_in)

    @staticmethod
    def backward(ctx, grad_out, grad_q_out):
        """Per chunk: logits = [q*scale | terms] . [k | one-hot key position]^T, so the
        bias costs a few extra GEMM columns instead of a full-size pass, and the same
        trick in dS . [k | one-hot] yields the term gradients with dq."""
        q_in, weight, bias, k, v, *kept = ctx.saved_tensors
        kept = iter(kept)
        rows = tuple(next(kept) if p else None for p in ctx.present)
        q, stats = _normalise(q_in, weight, bias, ctx.eps)
        k_thw, prefix, scale = ctx.k_thw, ctx.prefix, ctx.scale
        terms = [t for t in _padded_terms(q, rows, ctx.q_thw, k_thw, prefix) if t is not None]
        b, heads, nq, dim = q.shape
        bh, nk = b * heads, k.shape[2]
        widths = [t.shape[-1] for t in terms]
        grad_out = grad_out.reshape(bh, nq, -1)
        q_flat = q.reshape(bh, nq, dim)
        k_aug = torch.cat((k, _key_one_hots(k_thw, ctx.present, prefix, k).expand(b, heads, -1, -1)), -1)
        k_aug = k_aug.reshape(bh, nk, -1)
        v_t = v.reshape(bh, nk, -1).transpose(1, 2)
        grad_q_aug = q.new_empty(bh, nq, k_aug.shape[-1])
        grad_k = q.new_zeros(bh, nk, dim)
        grad_v = q.new_zeros(bh, nk, v.shape[-1])
        chunks = _Chunks(q, k)
        for start, stop in chunks:
            n = stop - start
            q_c, g_c = q_flat[:, start:stop], grad_out[:, start:stop]
            q_aug = torch.cat([q_c * scale] + [t[:, :, start:stop].reshape(bh, n, -1) for t in terms], -1)
            logits = torch.bmm(q_aug, k_aug.transpose(1, 2), out=chunks.buffer(0, n).view(bh, n, nk))
            probs = torch.softmax(logits, dim=-1, out=chunks.buffer(1, n).view(bh, n, nk))
            grad_v.baddbmm_(probs.transpose(1, 2), g_c)
            grad_probs = torch.bmm(g_c, v_t, out=logits)
            grad_logits = torch.ops.aten._softmax_backward_data.out(
                grad_probs, probs, -1, q.dtype, grad_input=chunks.buffer(2, n).view(bh, n, nk)
            )
            torch.bmm(grad_logits, k_aug, out=grad_q_aug[:, start:stop])
            grad_k.baddbmm_(grad_logits.transpose(1, 2), q_c, alpha=scale)
        grad_q = (grad_q_aug[..., :dim] * scale).view(q.shape)
        # The columns after dim are the term gradients, in t, h, w order of the present ones.
        grad_terms, offset = [], dim
        for width in widths:
            grad_terms.append(grad_q_aug[..., offset:offset + width].reshape(b, heads, nq, width)[:, :, prefix:])
            offset += width
        grad_terms = iter(grad_terms)
        grad_terms = [next(grad_terms) if p else None for p in ctx.present]
        grad_q_space, grad_rows = rel_pos_terms_backward(q[:, :, prefix:], ctx.q_thw, rows, grad_terms)
        grad_q[:, :, prefix:] += grad_q_space
        if grad_q_out is not None:
            grad_q += grad_q_out
        grad_norm = (None, None)
        if weight is not None:
            mean, rstd = stats
            grad_q, *grad_norm = torch.ops.aten.native_layer_norm_backward(
                grad_q, q_in, [q_in.shape[-1]], mean, rstd, weight, bias, [True, True, True]
            )
        return (grad_q, *grad_norm, None, grad_k.view(k.shape), grad_v.view(v.shape), *grad_rows,
                None, None, None, None)


def _normalise(q, weight, bias, eps):
    """LayerNorm of q over channels (and its mean and rstd), or q itself without weights."""
    if weight is None:
        return q, None
    out, mean, rstd = torch.native_layer_norm(q, [q.shape[-1]], weight, bias, eps)
    return out, (mean, rstd)


def _key_one_hots(k_thw, present, prefix, like):
    """(prefix + Nk, sum of present axis lengths): one-hot t, h, w of every key; cls rows 0."""
    grid = torch.stack(torch.meshgrid(*(torch.arange(n) for n in k_thw), indexing="ij"), -1).reshape(-1, 3)
    parts = [F.one_hot(grid[:, i], k_thw[i]) for i in range(3) if present[i]]
    return F.pad(torch.cat(parts, -1), (0, 0, prefix, 0)).to(device=like.device, dtype=like.dtype)


class _Chunks:
    """Query-row chunks of at most ``_CHUNK_ELEMENTS`` logits, and scratch buffers sized to them."""

    def __init__(self, q, k):
        b, heads, self.nq, _ = q.shape
        self.bh, self.nk = b * heads, k.shape[2]
        self.rows = max(1, min(self.nq, _CHUNK_ELEMENTS // (self.bh * self.nk)))
        self.dtype, self.device = q.dtype, q.device
        self._buffers = {}

    def __iter__(self):
        for start in range(0, self.nq, self.rows):
            yield start, min(start + self.rows, self.nq)

    def buffer(self, index, n):
        """Flat scratch for n rows of logits; ``index`` picks one of several buffers."""
        if index not in self._buffers:
            self._buffers[index] = torch.empty(self.bh * self.rows * self.nk, dtype=self.dtype, device=self.device)
        return self._buffers[index][: self.bh * n * self.nk]


def _padded_terms(q, rows, q_thw, k_thw, prefix):
    """Rel-pos terms with zero rows for the cls queries, so term row i is query i."""
    terms = rel_pos_terms(q[:, :, prefix:], q_thw, k_thw, rows)
    return tuple(None if t is None else F.pad(t, (0, 0, prefix, 0)) for t in terms)


def _fill_bias(flat, terms, k_thw, prefix, start, stop):
    """Write rows [start, stop) of the (B, H, Nq, Nk) bias into ``flat``; cls columns get 0."""
    rt, rh, rw = (None if t is None else t[:, :, start:stop] for t in terms)
    b, heads = next(t for t in terms if t is not None).shape[:2]
    bias = flat.view(b, heads, stop - start, prefix + math.prod(k_thw))
    bias[..., :prefix] = 0
    grid = bias[..., prefix:].unflatten(-1, k_thw)
    # t and h terms meet first in a small (kt, kh) table, then one full-size pass adds w.
    th = torch.zeros((), dtype=flat.dtype)
    if rt is not None:
        th = th + rt[..., :, None]
    if rh is not None:
        th = th + rh[..., None, :]
    th = th.expand(b, heads, stop - start, *k_thw[:2]).unsqueeze(-1)
    if rw is None:
        grid.copy_(th.expand_as(grid))
    else:
        torch.add(th, rw[..., None, None, :], out=grid)
    return bias
