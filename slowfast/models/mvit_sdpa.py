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

from slowfast.models.mvit_relpos import expand_bias, rel_pos_terms, rel_pos_terms_backward

# Rows of logits recomputed at once in the CPU backward: bounds its scratch memory.
_BACKWARD_CHUNK_ELEMENTS = 1 << 22


def attention(q, k, v, rows, q_thw, k_thw, prefix, scale, impl):
    """Attention output (B, H, Nq, C).

    ``rows`` are the rel-pos table rows (t, h, w) from ``mvit_relpos.axis_rows``, or None
    without rel-pos; the first ``prefix`` tokens (cls) get no rel-pos term.
    """
    if rows is None:
        if impl == "explicit":
            return ((q * scale) @ k.transpose(-2, -1)).softmax(dim=-1) @ v
        return F.scaled_dot_product_attention(q, k, v, scale=scale)
    if impl == "sdpa" and _needs_custom_backward(q, k, v, rows):
        return _FusedRelPosAttention.apply(q, k, v, *rows, q_thw, k_thw, prefix, scale)
    terms = rel_pos_terms(q[:, :, prefix:], q_thw, k_thw, rows)
    if impl == "explicit":
        logits = (q * scale) @ k.transpose(-2, -1) + expand_bias(terms, k_thw, prefix)
        return logits.softmax(dim=-1) @ v
    bias = expand_bias(terms, k_thw, prefix).to(q.dtype)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=scale)


def _needs_custom_backward(q, k, v, rows):
    """CPU training (the case where PyTorch's own SDPA would drop to the math path)."""
    if q.device.type != "cpu" or not torch.is_grad_enabled() or torch.jit.is_tracing():
        return False
    return any(t is not None and t.requires_grad for t in (q, k, v) + tuple(rows))


def _optional(tensors, present):
    return tuple(t if p else None for t, p in zip(tensors, present))


class _FusedRelPosAttention(torch.autograd.Function):
    """Fused SDPA forward; backward recomputes the softmax per chunk of query rows.

    Only q, k, v and the small table rows are kept for backward: the rel-pos terms
    and the bias are recomputed, so neither they nor the probabilities are stored.
    """

    @staticmethod
    def forward(ctx, q, k, v, rows_t, rows_h, rows_w, q_thw, k_thw, prefix, scale):
        rows = (rows_t, rows_h, rows_w)
        terms = _padded_terms(q, rows, q_thw, k_thw, prefix)
        bias = _bias_rows(terms, k_thw, prefix, 0, q.shape[2]).to(q.dtype)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=scale)
        ctx.present = tuple(t is not None for t in rows)
        ctx.save_for_backward(q, k, v, *(t for t in rows if t is not None))
        ctx.q_thw, ctx.k_thw, ctx.prefix, ctx.scale = q_thw, k_thw, prefix, scale
        return out

    @staticmethod
    def backward(ctx, grad_out):
        q, k, v, *kept = ctx.saved_tensors
        kept = iter(kept)
        rows = tuple(next(kept) if p else None for p in ctx.present)
        k_thw, prefix, scale = ctx.k_thw, ctx.prefix, ctx.scale
        terms = _padded_terms(q, rows, ctx.q_thw, k_thw, prefix)
        b, heads, nq, _ = q.shape
        nk = k.shape[2]
        grad_q = torch.empty_like(q)
        grad_k = torch.zeros_like(k)
        grad_v = torch.zeros_like(v)
        grad_terms = [None if t is None else torch.empty_like(t) for t in terms]
        chunk = max(1, _BACKWARD_CHUNK_ELEMENTS // (b * heads * nk))
        k_t = k.transpose(-2, -1).reshape(b * heads, -1, nk)
        v_t = v.transpose(-2, -1)
        for start in range(0, nq, chunk):
            stop = min(start + chunk, nq)
            q_c, g_c = q[:, :, start:stop], grad_out[:, :, start:stop]
            bias = _bias_rows(terms, k_thw, prefix, start, stop).to(q.dtype)
            logits = torch.baddbmm(
                bias.reshape(b * heads, stop - start, nk),
                q_c.reshape(b * heads, stop - start, -1),
                k_t,
                alpha=scale,
            )
            probs = logits.softmax(dim=-1).reshape(b, heads, stop - start, nk)
            del logits, bias
            grad_v += probs.transpose(-2, -1) @ g_c
            # Softmax backward in place: d logits = P * (dP - rowsum(P * dP)).
            grad_logits = g_c @ v_t
            row_dot = (probs * grad_logits).sum(dim=-1, keepdim=True)
            grad_logits.sub_(row_dot).mul_(probs)
            del probs
            grad_q[:, :, start:stop] = (grad_logits @ k) * scale
            grad_k += (grad_logits.transpose(-2, -1) @ q_c) * scale
            _reduce_term_grads(grad_terms, grad_logits[..., prefix:], k_thw, start, stop)
        grad_terms = [None if g is None else g[:, :, prefix:] for g in grad_terms]
        grad_q_space, grad_rows = rel_pos_terms_backward(q[:, :, prefix:], ctx.q_thw, rows, grad_terms)
        grad_q[:, :, prefix:] += grad_q_space
        return (grad_q, grad_k, grad_v, *grad_rows, None, None, None, None)


def _padded_terms(q, rows, q_thw, k_thw, prefix):
    """Rel-pos terms with zero rows for the cls queries, so term row i is query i."""
    terms = rel_pos_terms(q[:, :, prefix:], q_thw, k_thw, rows)
    return tuple(None if t is None else F.pad(t, (0, 0, prefix, 0)) for t in terms)


def _bias_rows(terms, k_thw, prefix, start, stop):
    """Rows [start, stop) of the (Nq, Nk) bias, zero in the cls key columns."""
    bias = expand_bias(tuple(None if t is None else t[:, :, start:stop] for t in terms), k_thw)
    return F.pad(bias, (prefix, 0)) if prefix else bias


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
