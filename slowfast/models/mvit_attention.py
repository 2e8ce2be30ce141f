"""MViTv2 pooling attention: q/k/v pooled over (T, H, W) by depthwise convs, rel-pos bias.

Module and parameter names follow PySlowFast's ``MultiScaleAttention`` so its
checkpoints load strictly; how the softmax is computed lives in ``mvit_sdpa``.
"""
import math

import torch
from torch import nn

from slowfast.models.mvit_relpos import axis_rows, table_length
from slowfast.models.mvit_sdpa import attention


def pool_tokens(x, pool, thw, prefix, norm=None):
    """Pool (B, H, prefix + T*H*W, C) tokens over space-time; the prefix (cls) passes through."""
    if pool is None:
        return x, thw
    b, heads, _, dim = x.shape
    head, grid = x[:, :, :prefix], x[:, :, prefix:]
    grid = grid.reshape(b * heads, *thw, dim).permute(0, 4, 1, 2, 3).contiguous()
    grid = pool(grid)
    thw = list(grid.shape[2:])
    grid = grid.reshape(b, heads, dim, -1).transpose(2, 3)
    x = torch.cat((head, grid), dim=2) if prefix else grid
    if norm is not None:
        x = norm(x)
    return x, thw


def _pool_conv(dim, kernel, stride):
    """Depthwise conv pooling, or None where PySlowFast skips it (kernel and stride all 1)."""
    if math.prod(kernel) == 1 and math.prod(stride) == 1:
        return None
    padding = [k // 2 for k in kernel]
    return nn.Conv3d(dim, dim, kernel, stride=stride, padding=padding, groups=dim, bias=False)


class MultiScaleAttention(nn.Module):
    """Pooling attention with decomposed rel-pos; ``attn_impl`` picks sdpa or explicit."""

    def __init__(
        self,
        dim,
        dim_out,
        input_size,
        num_heads,
        qkv_bias,
        drop_rate,
        kernel_q,
        kernel_kv,
        stride_q,
        stride_kv,
        norm_layer,
        has_cls_embed,
        rel_pos_spatial,
        rel_pos_temporal,
        rel_pos_zero_init,
        residual_pooling,
        attn_impl,
    ):
        super().__init__()
        self.num_heads = num_heads
        self.dim_out = dim_out
        head_dim = dim_out // num_heads
        self.scale = head_dim ** -0.5
        self.prefix = 1 if has_cls_embed else 0
        self.residual_pooling = residual_pooling
        self.attn_impl = attn_impl
        self.qkv = nn.Linear(dim, dim_out * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim_out, dim_out)
        self.proj_drop = nn.Dropout(drop_rate) if drop_rate > 0.0 else nn.Identity()

        stride_q = stride_q or [1, 1, 1]
        stride_kv = stride_kv or [1, 1, 1]
        self.pool_q = _pool_conv(head_dim, kernel_q or [1, 1, 1], stride_q)
        self.norm_q = norm_layer(head_dim) if self.pool_q is not None else None
        self.pool_k = _pool_conv(head_dim, kernel_kv or [1, 1, 1], stride_kv)
        self.norm_k = norm_layer(head_dim) if self.pool_k is not None else None
        self.pool_v = _pool_conv(head_dim, kernel_kv or [1, 1, 1], stride_kv)
        self.norm_v = norm_layer(head_dim) if self.pool_v is not None else None

        self.rel_pos_spatial = rel_pos_spatial
        self.rel_pos_temporal = rel_pos_temporal
        if rel_pos_spatial:
            length = table_length(input_size[1], stride_q[1], stride_kv[1])
            self.rel_pos_h = nn.Parameter(torch.zeros(length, head_dim))
            self.rel_pos_w = nn.Parameter(torch.zeros(length, head_dim))
        if rel_pos_temporal:
            self.rel_pos_t = nn.Parameter(torch.zeros(2 * input_size[0] - 1, head_dim))
        if not rel_pos_zero_init:
            for name in ("rel_pos_h", "rel_pos_w", "rel_pos_t"):
                if hasattr(self, name):
                    nn.init.trunc_normal_(getattr(self, name), std=0.02)

    def forward(self, x, thw):
        b, n, _ = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q, q_thw = pool_tokens(q, self.pool_q, thw, self.prefix)  # normalised inside attention
        k, k_thw = pool_tokens(k, self.pool_k, thw, self.prefix, self.norm_k)
        v, _ = pool_tokens(v, self.pool_v, thw, self.prefix, self.norm_v)
        q, k, v = q.contiguous(), k.contiguous(), v.contiguous()

        rows = None
        if self.rel_pos_spatial or self.rel_pos_temporal:
            rows = (
                axis_rows(self.rel_pos_t, q_thw[0], k_thw[0]) if self.rel_pos_temporal else None,
                axis_rows(self.rel_pos_h, q_thw[1], k_thw[1]) if self.rel_pos_spatial else None,
                axis_rows(self.rel_pos_w, q_thw[2], k_thw[2]) if self.rel_pos_spatial else None,
            )
        out, q = attention(q, k, v, rows, q_thw, k_thw, self.prefix, self.scale, self.attn_impl, self.norm_q)
        if self.residual_pooling:
            if self.prefix:
                out = torch.cat((out[:, :, : self.prefix], out[:, :, self.prefix:] + q[:, :, self.prefix:]), dim=2)
            else:
                out = out + q
        out = out.transpose(1, 2).reshape(b, -1, self.dim_out)
        return self.proj_drop(self.proj(out)), q_thw
