"""MViTv2's decomposed relative position term, kept apart from how attention is computed.

The term added to the attention logits of query (t, h, w) and key (t', h', w') is
``q . Rt[t, t'] + q . Rh[h, h'] + q . Rw[w, w']``: three small per-query tables instead of
an (Nq x Nk) one. Both attention paths start from these per-query terms; the fused path
never needs the full bias to be kept for backward.
"""
import torch
import torch.nn.functional as F


def table_length(size, q_stride, kv_stride):
    """Length of a spatial table at build time, as PySlowFast sizes it (floor division)."""
    return 2 * max(size // q_stride, size // kv_stride) - 1


def resize_table(table, length):
    """Linearly interpolate a (L, C) table along L to ``length`` rows."""
    if table.shape[0] == length:
        return table
    resized = F.interpolate(table.t().unsqueeze(0), size=length, mode="linear")
    return resized[0].t()


def _distance_index(q_len, k_len):
    """Table row for every (query, key) pair along one axis when q and k differ in size.

    The coarser axis is stretched onto the finer one before taking the difference;
    the float arithmetic and truncation follow PySlowFast so indices match exactly.
    """
    q_ratio = max(k_len / q_len, 1.0)
    k_ratio = max(q_len / k_len, 1.0)
    dist = torch.arange(q_len)[:, None] * q_ratio - torch.arange(k_len)[None, :] * k_ratio
    dist += (k_len - 1) * k_ratio
    return dist.long()


def axis_rows(table, q_len, k_len):
    """(q_len, k_len, C) rows of ``table``, resized first if the sizes changed since build."""
    table = resize_table(table, 2 * max(q_len, k_len) - 1)
    return table[_distance_index(q_len, k_len).to(table.device)]


def rel_pos_terms(q, q_thw, k_thw, rows):
    """Per-query terms ``(rt, rh, rw)``, shaped (B, H, Nq_space, k_t | k_h | k_w), or None.

    ``q`` is (B, H, Nq_space, C) without the cls token and without the softmax scale;
    ``rows`` are ``axis_rows`` for t, h, w (None where that axis has no table).
    The einsum/matmul split mirrors PySlowFast so FLOP counters see the same operations.
    """
    b, heads, _, dim = q.shape
    qt, qh, qw = q_thw
    rows_t, rows_h, rows_w = rows
    r_q = q.reshape(b, heads, qt, qh, qw, dim)
    rt = rh = rw = None
    if rows_h is not None:
        rh = torch.einsum("bythwc,hkc->bythwk", r_q, rows_h).reshape(b, heads, -1, k_thw[1])
    if rows_w is not None:
        rw = torch.einsum("bythwc,wkc->bythwk", r_q, rows_w).reshape(b, heads, -1, k_thw[2])
    if rows_t is not None:
        by_time = r_q.permute(2, 0, 1, 3, 4, 5).reshape(qt, -1, dim)
        rt = torch.matmul(by_time, rows_t.transpose(1, 2))  # (qt, B*H*qh*qw, kt)
        rt = rt.reshape(qt, b, heads, qh * qw, -1).permute(1, 2, 0, 3, 4).reshape(b, heads, -1, k_thw[0])
    return rt, rh, rw


def rel_pos_terms_backward(q, q_thw, rows, grad_terms):
    """Adjoint of ``rel_pos_terms``: (grad wrt q, grads wrt rows_t, rows_h, rows_w)."""
    b, heads, _, dim = q.shape
    r_q = q.reshape(b, heads, *q_thw, dim)
    grad_q = torch.zeros_like(r_q)
    grad_rows = []
    for axis, table, grad in zip("thw", rows, grad_terms):
        if table is None:
            grad_rows.append(None)
            continue
        grad = grad.reshape(b, heads, *q_thw, -1)
        grad_q += torch.einsum(f"bythwk,{axis}kc->bythwc", grad, table)
        grad_rows.append(torch.einsum(f"bythwk,bythwc->{axis}kc", grad, r_q))
    return grad_q.reshape(q.shape), grad_rows


def expand_bias(terms, k_thw, prefix=0):
    """The (B, H, prefix + Nq, prefix + Nk) additive bias the terms stand for.

    ``prefix`` rows and columns (the cls token) get zero bias, as in PySlowFast.
    """
    rt, rh, rw = terms
    kt, kh, kw = k_thw
    bias = 0
    if rt is not None:
        bias = bias + rt[..., :, None, None]
    if rh is not None:
        bias = bias + rh[..., None, :, None]
    if rw is not None:
        bias = bias + rw[..., None, None, :]
    bias = bias.expand(*bias.shape[:3], kt, kh, kw).flatten(-3)
    if prefix:
        bias = F.pad(bias, (prefix, 0, prefix, 0))
    return bias
