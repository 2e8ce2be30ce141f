"""MViTv2 (and MViTv1-style configs) with PySlowFast's module names, for MODEL.ARCH ``mvit``.

Checkpoints from PySlowFast's model zoo load strictly; ``forward`` returns logits in
train and eval mode (PySlowFast's head applies softmax in eval; the loop does it here).
"""
import math
from functools import partial

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from slowfast.models.mvit_attention import MultiScaleAttention, pool_tokens
from slowfast.models.mvit_relpos import resize_table
from slowfast.models.registry import ModelBuildError
from slowfast.utils.logging import get_logger

logger = get_logger(__name__)

_REL_POS_TABLES = ("rel_pos_h", "rel_pos_w", "rel_pos_t")


def round_width(width, multiplier, divisor=1):
    """PySlowFast's width rounding: scale, round to a multiple of ``divisor``, never below 90%."""
    if not multiplier:
        return width
    width *= multiplier
    rounded = max(divisor, int(width + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * width:
        rounded += divisor
    return int(rounded)


class PatchEmbed(nn.Module):
    """Conv3d patchify: (B, C, T, H, W) -> (B, T'*H'*W', D) tokens and their (T', H', W')."""

    def __init__(self, dim_in, dim_out, kernel, stride, padding):
        super().__init__()
        self.proj = nn.Conv3d(dim_in, dim_out, kernel, stride=stride, padding=padding)

    def forward(self, x):
        x = self.proj(x)
        return x.flatten(2).transpose(1, 2), list(x.shape[2:])


class Mlp(nn.Module):
    def __init__(self, dim_in, hidden, dim_out, drop_rate):
        super().__init__()
        self.fc1 = nn.Linear(dim_in, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim_out)
        self.drop = nn.Dropout(drop_rate) if drop_rate > 0.0 else nn.Identity()

    def forward(self, x):
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class DropPath(nn.Module):
    """Stochastic depth: drop a residual branch per sample while training."""

    def __init__(self, rate):
        super().__init__()
        self.rate = rate

    def forward(self, x):
        if not self.training or self.rate == 0.0:
            return x
        keep = 1.0 - self.rate
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x / keep * mask


class MultiScaleBlock(nn.Module):
    """norm -> pooling attention (+ pooled skip) -> norm -> MLP, widening where asked."""

    def __init__(self, dim, dim_out, num_heads, input_size, mlp_ratio, drop_path, norm_layer,
                 stride_q, dim_mul_in_att, **attn_kwargs):
        super().__init__()
        self.dim, self.dim_out = dim, dim_out
        self.dim_mul_in_att = dim_mul_in_att
        self.prefix = 1 if attn_kwargs["has_cls_embed"] else 0
        att_dim = dim_out if dim_mul_in_att else dim
        self.norm1 = norm_layer(dim)
        self.attn = MultiScaleAttention(
            dim, att_dim, input_size, num_heads, stride_q=stride_q, norm_layer=norm_layer, **attn_kwargs
        )
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = norm_layer(att_dim)
        self.mlp = Mlp(att_dim, int(att_dim * mlp_ratio), dim_out, attn_kwargs["drop_rate"])
        if dim != dim_out:
            self.proj = nn.Linear(dim, dim_out)
        pooled = bool(stride_q) and math.prod(stride_q) > 1
        kernel_skip = [s + 1 if s > 1 else s for s in stride_q]
        self.pool_skip = (
            nn.MaxPool3d(kernel_skip, stride_q, [k // 2 for k in kernel_skip]) if pooled else None
        )

    def forward(self, x, thw):
        x_norm = self.norm1(x)
        x_block, thw_new = self.attn(x_norm, thw)
        if self.dim_mul_in_att and self.dim != self.dim_out:
            x = self.proj(x_norm)
        x_res, _ = pool_tokens(x.unsqueeze(1), self.pool_skip, thw, self.prefix)
        x = x_res.squeeze(1) + self.drop_path(x_block)
        x_norm = self.norm2(x)
        x_mlp = self.mlp(x_norm)
        if not self.dim_mul_in_att and self.dim != self.dim_out:
            x = self.proj(x_norm)
        return x + self.drop_path(x_mlp), thw_new


class TransformerBasicHead(nn.Module):
    """Dropout + linear projection; returns logits (no softmax)."""

    def __init__(self, dim_in, num_classes, dropout_rate, detach_final_fc):
        super().__init__()
        self.dropout = nn.Dropout(dropout_rate) if dropout_rate > 0.0 else nn.Identity()
        self.detach_final_fc = detach_final_fc
        self.projection = nn.Linear(dim_in, num_classes)

    def forward(self, x):
        x = self.dropout(x)
        if self.detach_final_fc:
            x = x.detach()
        return self.projection(x)


def _per_block(entries, depth):
    """[[block, a, b, c], ...] -> a list of ``depth`` strides ([] where not listed)."""
    out = [[] for _ in range(depth)]
    for entry in entries:
        out[entry[0]] = list(entry[1:])
    return out


def _kv_strides(mvit, stride_q):
    """POOL_KV_STRIDE, or its adaptive form: start from the given stride and divide it
    by every q stride met along the depth (PySlowFast's POOL_KV_STRIDE_ADAPTIVE)."""
    if mvit.POOL_KV_STRIDE_ADAPTIVE is None:
        return _per_block(mvit.POOL_KV_STRIDE, mvit.DEPTH)
    stride = list(mvit.POOL_KV_STRIDE_ADAPTIVE)
    strides = []
    for sq in stride_q:
        if sq:
            stride = [max(s // q, 1) for s, q in zip(stride, sq)]
        strides.append(stride)
    return strides


def _pool_kernel(kernel, stride):
    if not stride:
        return []
    return list(kernel) if kernel is not None else [s + 1 if s > 1 else s for s in stride]


class MViT(nn.Module):
    """Multiscale Vision Transformer; see ``build_mvit`` for the config it reads."""

    def __init__(self, cfg):
        super().__init__()
        mvit = cfg.MVIT
        depth = mvit.DEPTH
        self.zero_decay_pos_cls = mvit.ZERO_DECAY_POS_CLS
        self.act_checkpoint = cfg.MODEL.ACT_CHECKPOINT
        self.cls_embed_on = mvit.CLS_EMBED_ON
        norm_layer = partial(nn.LayerNorm, eps=1e-6)
        embed_dim, num_heads = mvit.EMBED_DIM, mvit.NUM_HEADS

        self.patch_embed = PatchEmbed(
            cfg.DATA.INPUT_CHANNEL_NUM[0], embed_dim, mvit.PATCH_KERNEL, mvit.PATCH_STRIDE, mvit.PATCH_PADDING
        )
        crop = cfg.DATA.TRAIN_CROP_SIZE
        self.patch_dims = [
            size // stride for size, stride in zip((cfg.DATA.NUM_FRAMES, crop, crop), mvit.PATCH_STRIDE)
        ]
        if self.cls_embed_on:
            self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        if mvit.USE_ABS_POS:
            self.pos_embed = nn.Parameter(
                torch.zeros(1, math.prod(self.patch_dims) + int(self.cls_embed_on), embed_dim)
            )
        self.pos_drop = nn.Dropout(mvit.DROPOUT_RATE) if mvit.DROPOUT_RATE > 0.0 else nn.Identity()
        self.norm_stem = norm_layer(embed_dim) if mvit.NORM_STEM else None

        dim_mul, head_mul = [1.0] * (depth + 1), [1.0] * (depth + 1)
        for block, factor in mvit.DIM_MUL:
            dim_mul[block] = factor
        for block, factor in mvit.HEAD_MUL:
            head_mul[block] = factor
        stride_q = _per_block(mvit.POOL_Q_STRIDE, depth)
        stride_kv = _kv_strides(mvit, stride_q)
        drop_path = torch.linspace(0, mvit.DROPPATH_RATE, depth, device="cpu").tolist()

        input_size = list(self.patch_dims)
        self.blocks = nn.ModuleList()
        for i in range(depth):
            num_heads = round_width(num_heads, head_mul[i])
            # PySlowFast's divisor scales the already-scaled head count once more; kept for
            # identical widths.
            if mvit.DIM_MUL_IN_ATT:
                dim_out = round_width(embed_dim, dim_mul[i], divisor=round_width(num_heads, head_mul[i]))
            else:
                dim_out = round_width(embed_dim, dim_mul[i + 1], divisor=round_width(num_heads, head_mul[i + 1]))
            if dim_out % num_heads:
                raise ValueError(
                    f"block {i}: width {dim_out} is not divisible by {num_heads} heads "
                    "(MVIT.EMBED_DIM / NUM_HEADS / DIM_MUL / HEAD_MUL)"
                )
            self.blocks.append(
                MultiScaleBlock(
                    embed_dim, dim_out, num_heads, input_size, mvit.MLP_RATIO, drop_path[i], norm_layer,
                    stride_q[i], mvit.DIM_MUL_IN_ATT,
                    qkv_bias=mvit.QKV_BIAS,
                    drop_rate=mvit.DROPOUT_RATE,
                    kernel_q=_pool_kernel(mvit.POOL_KVQ_KERNEL, stride_q[i]),
                    kernel_kv=_pool_kernel(mvit.POOL_KVQ_KERNEL, stride_kv[i]),
                    stride_kv=stride_kv[i],
                    has_cls_embed=self.cls_embed_on,
                    rel_pos_spatial=mvit.REL_POS_SPATIAL,
                    rel_pos_temporal=mvit.REL_POS_TEMPORAL,
                    rel_pos_zero_init=mvit.REL_POS_ZERO_INIT,
                    residual_pooling=mvit.RESIDUAL_POOLING,
                    attn_impl=mvit.ATTN_IMPL,
                )
            )
            if stride_q[i]:
                input_size = [size // s for size, s in zip(input_size, stride_q[i])]
            embed_dim = dim_out
        self.norm = norm_layer(embed_dim)
        self.head = TransformerBasicHead(
            embed_dim, cfg.MODEL.NUM_CLASSES, cfg.MODEL.DROPOUT_RATE, cfg.MODEL.DETACH_FINAL_FC
        )
        self._init_weights(mvit.HEAD_INIT_SCALE)

    def _init_weights(self, head_init_scale):
        """PySlowFast's init: truncated normal weights, constant 0.02 biases."""
        for name in ("pos_embed", "cls_token"):
            if hasattr(self, name):
                nn.init.trunc_normal_(getattr(self, name), std=0.02)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv3d)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if isinstance(m, nn.Linear) and m.bias is not None:
                    nn.init.constant_(m.bias, 0.02)
            elif isinstance(m, nn.LayerNorm):
                nn.init.constant_(m.weight, 1.0)
                nn.init.constant_(m.bias, 0.02)
        with torch.no_grad():
            self.head.projection.weight.mul_(head_init_scale)
            self.head.projection.bias.mul_(head_init_scale)

    def forward(self, x):
        if isinstance(x, (list, tuple)):
            if len(x) != 1:
                raise ValueError(f"MViT takes one pathway, got a list of {len(x)} tensors")
            x = x[0]
        x, thw = self.patch_embed(x)
        if self.cls_embed_on:
            x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        if hasattr(self, "pos_embed"):
            if thw != self.patch_dims:
                raise ValueError(
                    f"input gives {thw} patches but the absolute position embedding was built "
                    f"for {self.patch_dims} (DATA.NUM_FRAMES / DATA.TRAIN_CROP_SIZE)"
                )
            x = x + self.pos_embed
        x = self.pos_drop(x)
        if self.norm_stem is not None:
            x = self.norm_stem(x)
        for block in self.blocks:
            if self.act_checkpoint and torch.is_grad_enabled():
                x, thw = checkpoint(block, x, thw, use_reentrant=False)
            else:
                x, thw = block(x, thw)
        x = self.norm(x)
        x = x[:, 0] if self.cls_embed_on else x.mean(1)
        return self.head(x)

    def no_weight_decay(self):
        """Full names of the position tables and cls token, when MVIT.ZERO_DECAY_POS_CLS."""
        if not self.zero_decay_pos_cls:
            return set()
        return {
            name for name, _ in self.named_parameters()
            if name in ("pos_embed", "cls_token") or name.rsplit(".", 1)[-1] in _REL_POS_TABLES
        }

    def adapt_state_dict(self, state_dict):
        """Resize rel-pos tables trained at another crop / frame count to this model's length."""
        own = self.state_dict()
        adapted = dict(state_dict)
        resized = []
        for name, table in state_dict.items():
            if name.rsplit(".", 1)[-1] not in _REL_POS_TABLES or name not in own:
                continue
            length = own[name].shape[0]
            if table.ndim == 2 and table.shape[0] != length and table.shape[1] == own[name].shape[1]:
                adapted[name] = resize_table(table.float(), length).to(table.dtype)
                resized.append(f"{name} {table.shape[0]}->{length}")
        if resized:
            logger.info("interpolated rel-pos tables: %s", ", ".join(resized))
        return adapted


def _check(cfg):
    """Problems (one message per key) that make the config unbuildable."""
    problems = []
    mvit, data = cfg.MVIT, cfg.DATA
    if data.TRAIN_CROP_SIZE != data.TEST_CROP_SIZE:
        problems.append(
            f"DATA.TEST_CROP_SIZE={data.TEST_CROP_SIZE} must equal DATA.TRAIN_CROP_SIZE="
            f"{data.TRAIN_CROP_SIZE} for MViT (as in PySlowFast); to use a checkpoint trained "
            "at another size, build at the new size: its rel-pos tables are interpolated on load"
        )
    if mvit.MODE != "conv":
        problems.append(f"MVIT.MODE={mvit.MODE!r} is not implemented (supported: 'conv')")
    if mvit.POOL_FIRST:
        problems.append("MVIT.POOL_FIRST=True is not implemented")
    if mvit.SEP_POS_EMBED:
        problems.append("MVIT.SEP_POS_EMBED=True is not implemented")
    if len(data.INPUT_CHANNEL_NUM) != 1:
        problems.append(f"DATA.INPUT_CHANNEL_NUM={data.INPUT_CHANNEL_NUM} must list one pathway for MViT")
    for key in ("PATCH_KERNEL", "PATCH_STRIDE", "PATCH_PADDING"):
        if len(mvit[key]) != 3:
            problems.append(f"MVIT.{key}={mvit[key]} must have 3 entries (t, h, w)")
    for key in ("POOL_Q_STRIDE", "POOL_KV_STRIDE", "DIM_MUL", "HEAD_MUL"):
        width = 2 if key in ("DIM_MUL", "HEAD_MUL") else 4
        limit = mvit.DEPTH + 1 if width == 2 else mvit.DEPTH
        for entry in mvit[key]:
            if len(entry) != width or not 0 <= entry[0] < limit:
                problems.append(f"MVIT.{key} entry {entry} must be [block, ...] with {width} values "
                                f"and block in [0, {limit})")
    return problems


def build_mvit(cfg):
    """MViT from cfg.MVIT / DATA / MODEL; raises ModelBuildError naming the offending keys."""
    problems = _check(cfg)
    if problems:
        raise ModelBuildError("cannot build MViT:\n  " + "\n  ".join(problems))
    try:
        return MViT(cfg)
    except ValueError as e:
        raise ModelBuildError(f"cannot build MViT from MVIT.*: {e}") from e
