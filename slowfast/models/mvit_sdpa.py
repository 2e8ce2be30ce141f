"""softmax(q k^T * scale + rel-pos bias) v, computed two ways.

``explicit`` materialises the logits and the probabilities like PySlowFast; it is the
oracle the tests compare against. ``sdpa`` hands the bias to
``torch.nn.functional.scaled_dot_product_attention`` as ``attn_mask`` so the fused
kernel runs. On CPU, PyTorch falls back to its unfused math path whenever the mask needs
a gradient, which it does here (the bias depends on q and on the rel-pos tables); the
autograd function below keeps the fused forward and recomputes the probabilities in
backward, a block of query rows at a time, so no (Nq x Nk) tensor outlives its block.
"""
import torch
import torch.nn.functional as F

from slowfast.models.mvit_relpos import expand_bias

# Rows of logits recomputed at once in the CPU backward: bounds its scratch memory.
_BACKWARD_CHUNK_ELEMENTS = 1 << 22


def attention(q, k, v, terms, k_thw, prefix, scale, impl):
    """Attention output (B, H, Nq, C); ``terms`` are rel-pos per-query terms or None."""
    if impl == "explicit":
        return _explicit(q, k, v, terms, k_thw, prefix, scale)
    if terms is None:
        return F.scaled_dot_product_attention(q, k, v, scale=scale)
    if _needs_custom_backward(q, k, v, terms):
        return _FusedRelPosAttention.apply(q, k, v, *_pad_terms(terms, prefix), k_thw, prefix, scale)
    bias = expand_bias(terms, k_thw, prefix).to(q.dtype)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=scale)


def _explicit(q, k, v, terms, k_thw, prefix, scale):
    logits = (q * scale) @ k.transpose(-2, -1)
    if terms is not None:
        logits = logits + expand_bias(terms, k_thw, prefix)
    return logits.softmax(dim=-1) @ v


def _needs_custom_backward(q, k, v, terms):
    """CPU training (the case where PyTorch's own SDPA would drop to the math path)."""
    if q.device.type != "cpu" or not torch.is_grad_enabled() or torch.jit.is_tracing():
        return False
    tensors = [q, k, v] + [t for t in terms if t is not None]
    return any(t.requires_grad for t in tensors)


def _pad_terms(terms, prefix):
    """Give the cls query rows zero terms so row i of every term belongs to query i."""
    return tuple(None if t is None else F.pad(t, (0, 0, prefix, 0)) for t in terms)


class _FusedRelPosAttention(torch.autograd.Function):
    """Fused SDPA forward; backward recomputes softmax per row chunk (flash-style)."""

    @staticmethod
    def forward(ctx, q, k, v, rt, rh, rw, k_thw, prefix, scale):
        terms = (rt, rh, rw)
        bias = _bias_rows(terms, k_thw, prefix, 0, q.shape[2]).to(q.dtype)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=scale)
        ctx.save_for_backward(q, k, v, *(t if t is not None else torch.empty(0) for t in terms))
        ctx.present = tuple(t is not None for t in terms)
        ctx.k_thw, ctx.prefix, ctx.scale = k_thw, prefix, scale
        return out

    @staticmethod
    def backward(ctx, grad_out):
        q, k, v, *saved = ctx.saved_tensors
        terms = tuple(t if p else None for t, p in zip(saved, ctx.present))
        kt, kh, kw = ctx.k_thw
        prefix, scale = ctx.prefix, ctx.scale
        b, heads, nq, _ = q.shape
        nk = k.shape[2]
        grad_q = torch.empty_like(q)
        grad_k = torch.zeros_like(k)
        grad_v = torch.zeros_like(v)
        grad_terms = [None if t is None else torch.empty_like(t) for t in terms]
        rows = max(1, _BACKWARD_CHUNK_ELEMENTS // (b * heads * nk))
        k_t = k.transpose(-2, -1)
        v_t = v.transpose(-2, -1)
        for start in range(0, nq, rows):
            stop = min(start + rows, nq)
            q_c, g_c = q[:, :, start:stop], grad_out[:, :, start:stop]
            logits = _bias_rows(terms, ctx.k_thw, prefix, start, stop).to(q.dtype)
            logits = torch.baddbmm(
                logits.reshape(b * heads, stop - start, nk),
                q_c.reshape(b * heads, stop - start, -1),
                k_t.reshape(b * heads, -1, nk),
                alpha=scale,
            ).reshape(b, heads, stop - start, nk)
            probs = logits.softmax(dim=-1)
            del logits
            grad_probs = g_c @ v_t
            # d logits = P * (dP - rowsum(P * dP)), the softmax backward, in place.
            row_dot = (probs * grad_probs).sum(dim=-1, keepdim=True)
            grad_logits = grad_probs.sub_(row_dot).mul_(probs)
            grad_v += probs.transpose(-2, -1) @ g_c
            del probs
            grad_q[:, :, start:stop] = (grad_logits @ k) * scale
            grad_k += (grad_logits.transpose(-2, -1) @ q_c) * scale
            _reduce_term_grads(grad_terms, grad_logits[..., prefix:], (kt, kh, kw), start, stop)
        return (grad_q, grad_k, grad_v, *grad_terms, None, None, None)


def _bias_rows(terms, k_thw, prefix, start, stop):
    """Rows [start, stop) of the bias; ``terms`` already carry zero rows for the cls token."""
    rows = tuple(None if t is None else t[:, :, start:stop] for t in terms)
    return expand_bias(rows, k_thw, 0) if not prefix else F.pad(expand_bias(rows, k_thw, 0), (prefix, 0))


def _reduce_term_grads(grad_terms, grad_space, k_thw, start, stop):
    """Sum d(logits) over the key axes each decomposed term is broadcast along."""
    grad_rt, grad_rh, grad_rw = grad_terms
    grid = grad_space.reshape(*grad_space.shape[:3], *k_thw)
    if grad_rw is not None:
        grad_rw[:, :, start:stop] = grid.sum(dim=(-3, -2))
    if grad_rt is None and grad_rh is None:
        return
    over_w = grid.sum(dim=-1)  # (B, H, rows, kt, kh)
    if grad_rt is not None:
        grad_rt[:, :, start:stop] = over_w.sum(dim=-1)
    if grad_rh is not None:
        grad_rh[:, :, start:stop] = over_w.sum(dim=-2)
