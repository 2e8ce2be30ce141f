"""SlowFast, Slow, I3D and C2D ResNets, key-for-key and number-for-number PySlowFast's.

``build_resnet_family(cfg)`` reads the RESNET.*, SLOWFAST.*, MODEL.*, BN.* and DATA.* keys the
PySlowFast configs use; options we do not implement raise :class:`ModelBuildError`.
BN.NORM_TYPE ``sync_batchnorm`` builds plain BatchNorm3d: the engine converts it with
``torch.nn.SyncBatchNorm.convert_sync_batchnorm`` when it runs distributed on GPUs.
"""
import contextlib
import functools

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.checkpoint import checkpoint

from slowfast.models.heads import ResNetBasicHead
from slowfast.models.registry import ModelBuildError
from slowfast.models.resnet_blocks import TRANSFORMS, ResStage, block_temporal_kernels
from slowfast.models.stem import VideoStem

# Blocks per stage (res2..res5) for RESNET.DEPTH.
STAGE_DEPTH = {18: (2, 2, 2, 2), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}

# Temporal kernel basis per stage (stem, res2..res5), one list per pathway (PySlowFast's table).
TEMPORAL_KERNEL_BASIS = {
    "c2d": [[[1]], [[1]], [[1]], [[1]], [[1]]],
    "i3d": [[[5]], [[3]], [[3, 1]], [[3, 1]], [[1, 3]]],
    "slow": [[[1]], [[1]], [[1]], [[3]], [[3]]],
    "slowfast": [[[1], [5]], [[1], [3]], [[1], [3]], [[3], [3]], [[3], [3]]],
}

# Max-pool kernel (= stride) after res2, per pathway; C2D and I3D halve time there.
POOL_AFTER_RES2 = {
    "c2d": [[2, 1, 1]],
    "i3d": [[2, 1, 1]],
    "slow": [[1, 1, 1]],
    "slowfast": [[1, 1, 1], [1, 1, 1]],
}


class FuseFastToSlow(nn.Module):
    """Lateral connection: a time-strided conv of the fast pathway concatenated onto the slow one."""

    def __init__(self, dim_in, channel_ratio, kernel, alpha, norm, inplace_relu=True):
        super().__init__()
        self.conv_f2s = nn.Conv3d(dim_in, dim_in * channel_ratio, kernel_size=[kernel, 1, 1],
                                  stride=[alpha, 1, 1], padding=[kernel // 2, 0, 0], bias=False)
        self.bn = norm(dim_in * channel_ratio)
        self.relu = nn.ReLU(inplace_relu)

    def forward(self, xs):
        slow, fast = xs
        fuse = self.relu(self.bn(self.conv_f2s(fast)))
        return [torch.cat([slow, fuse], 1), fast]


@contextlib.contextmanager
def _bn_buffers_kept(modules):
    """Undo BN running-stat updates made inside (activation-checkpoint recomputation)."""
    bns = [m for module in modules for m in module.modules()
           if isinstance(m, _BatchNorm) and m.training and m.running_mean is not None]
    saved = [[b.clone() for b in (m.running_mean, m.running_var, m.num_batches_tracked)] for m in bns]
    try:
        yield
    finally:
        with torch.no_grad():
            for m, (mean, var, count) in zip(bns, saved):
                m.running_mean.copy_(mean)
                m.running_var.copy_(var)
                m.num_batches_tracked.copy_(count)


def _recompute_contexts(modules):
    """checkpoint's context_fn: nothing around the forward, BN buffers kept around the recompute."""
    return contextlib.nullcontext(), _bn_buffers_kept(modules)


class VideoResNet(nn.Module):
    """A 1-pathway (C2D/I3D/Slow) or 2-pathway (SlowFast) 3D ResNet returning logits.

    ``forward`` takes a B x C x T x H x W clip (for SlowFast at the fast frame rate: the slow
    pathway is PySlowFast's ``linspace(0, T-1, T // ALPHA)`` subsample) or PySlowFast's list of
    pathway tensors.
    """

    def __init__(self, arch, stem, stages, fuses, pools, head, alpha=None, act_checkpoint=False,
                 frozen_bn=False, channels_last=False):
        super().__init__()
        self.arch = arch
        self.num_pathways = len(pools)
        self.alpha = alpha
        self.act_checkpoint = act_checkpoint
        self.frozen_bn = frozen_bn
        self.channels_last = channels_last
        # Registration order = PySlowFast's construction order (state-dict order, seeded init).
        self.s1 = stem
        for k, stage in enumerate(stages, start=2):
            if fuses:
                self.add_module(f"s{k - 1}_fuse", fuses[k - 2])
            if k == 3:
                for p, size in enumerate(pools):
                    if size != [1, 1, 1]:  # a 1x1x1 max-pool is the identity: skip its copy
                        self.add_module(f"pathway{p}_pool", nn.MaxPool3d(size, stride=size))
            self.add_module(f"s{k}", stage)
        self.head = head
        self._slow_index = {}

    def _stage(self, k, *xs):
        xs = getattr(self, f"s{k}")(list(xs))
        if hasattr(self, f"s{k}_fuse"):
            xs = getattr(self, f"s{k}_fuse")(xs)
        if k == 2:
            pools = [getattr(self, f"pathway{p}_pool", None) for p in range(len(xs))]
            xs = [x if pool is None else pool(x) for pool, x in zip(pools, xs)]
        return tuple(xs)

    def _pathways(self, x):
        if isinstance(x, (list, tuple)):
            if len(x) != self.num_pathways:
                raise ValueError(f"{self.arch} takes {self.num_pathways} pathway tensor(s), got {len(x)}")
            xs = list(x)
        elif self.num_pathways == 1:
            xs = [x]
        else:
            xs = [x.index_select(2, self._slow_frames(x.shape[2], x.device)), x]
        channels_last = self.channels_last or (
            xs[-1].is_contiguous(memory_format=torch.channels_last_3d) and not xs[-1].is_contiguous()
        )
        if channels_last:
            xs = [t.contiguous(memory_format=torch.channels_last_3d) for t in xs]
        return xs

    def _slow_frames(self, num_frames, device):
        key = (num_frames, device)
        if key not in self._slow_index:
            index = torch.linspace(0, num_frames - 1, num_frames // self.alpha).long()
            self._slow_index[key] = index.to(device)
        return self._slow_index[key]

    def forward(self, x):
        xs = tuple(self._pathways(x))
        use_checkpoint = self.act_checkpoint and self.training and torch.is_grad_enabled()
        for k in range(1, 6):
            if use_checkpoint and torch.compiler.is_compiling():
                # Compiled graphs recompute only side-effect-free ops: BN statistics update once.
                xs = checkpoint(self._stage, k, *xs, use_reentrant=False)
            elif use_checkpoint:
                stage = [getattr(self, n) for n in (f"s{k}", f"s{k}_fuse") if hasattr(self, n)]
                xs = checkpoint(self._stage, k, *xs, use_reentrant=False,
                                context_fn=functools.partial(_recompute_contexts, stage))
            else:
                xs = self._stage(k, *xs)
        return self.head(list(xs))

    def train(self, mode=True):
        """Like nn.Module.train, but BN layers stay in eval mode when MODEL.FROZEN_BN is set."""
        super().train(mode)
        if self.frozen_bn:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self


def init_weights(model, fc_init_std, zero_init_final_bn, zero_init_final_conv):
    """PySlowFast's ResNet init: MSRA (fan-out) convs, unit BN, N(0, std) classifier.

    Final BN gammas of residual branches start at 0 with ``zero_init_final_bn``, so that
    every block starts as the identity; final convs likewise with ``zero_init_final_conv``.
    """
    for m in model.modules():
        if isinstance(m, nn.Conv3d):
            if zero_init_final_conv and getattr(m, "final_conv", False):
                nn.init.zeros_(m.weight)
            else:
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, _BatchNorm):
            final = zero_init_final_bn and getattr(m, "transform_final_bn", False)
            nn.init.constant_(m.weight, 0.0 if final else 1.0)
            nn.init.zeros_(m.bias)
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=fc_init_std)
            nn.init.zeros_(m.bias)


def _per_pathway(cfg_value, key, num_pathways):
    value = list(cfg_value)
    if len(value) != 4 or any(len(stage) != num_pathways for stage in value):
        raise ModelBuildError(
            f"{key}={cfg_value!r}: expected 4 stages with {num_pathways} value(s) each "
            f"(one per pathway of MODEL.ARCH)"
        )
    return value


def _check_supported(cfg, arch):
    problems = []
    if arch not in TEMPORAL_KERNEL_BASIS:
        problems.append(f"MODEL.ARCH={arch!r} is not a ResNet-family arch ({', '.join(TEMPORAL_KERNEL_BASIS)})")
    if cfg.RESNET.DEPTH not in STAGE_DEPTH:
        problems.append(f"RESNET.DEPTH={cfg.RESNET.DEPTH} is not supported ({', '.join(map(str, STAGE_DEPTH))})")
    if cfg.RESNET.TRANS_FUNC not in TRANSFORMS:
        problems.append(f"RESNET.TRANS_FUNC={cfg.RESNET.TRANS_FUNC!r} is not supported ({', '.join(TRANSFORMS)})")
    if any(blocks for stage in cfg.NONLOCAL.LOCATION for blocks in stage):
        problems.append(f"NONLOCAL.LOCATION={cfg.NONLOCAL.LOCATION!r}: non-local blocks are not implemented")
    if cfg.MODEL.DROPCONNECT_RATE != 0.0:
        problems.append(f"MODEL.DROPCONNECT_RATE={cfg.MODEL.DROPCONNECT_RATE}: drop-connect is not implemented")
    if cfg.BN.NORM_TYPE not in ("batchnorm", "sync_batchnorm"):
        problems.append(f"BN.NORM_TYPE={cfg.BN.NORM_TYPE!r} is not implemented (batchnorm, sync_batchnorm)")
    if cfg.MODEL.HEAD_ACT not in ("softmax", "sigmoid"):
        problems.append(f"MODEL.HEAD_ACT={cfg.MODEL.HEAD_ACT!r} is not supported (softmax, sigmoid)")
    if cfg.DATA.TRAIN_CROP_SIZE < 32:
        problems.append(f"DATA.TRAIN_CROP_SIZE={cfg.DATA.TRAIN_CROP_SIZE} must be at least 32 (stride of res5)")
    if problems:
        raise ModelBuildError("cannot build the model:\n  " + "\n  ".join(problems))


def build_resnet_family(cfg):
    """Build SlowFast / Slow / I3D / C2D from ``cfg`` with PySlowFast's structure and init."""
    arch = cfg.MODEL.ARCH
    _check_supported(cfg, arch)
    num_pathways = len(POOL_AFTER_RES2[arch])
    strides = _per_pathway(cfg.RESNET.SPATIAL_STRIDES, "RESNET.SPATIAL_STRIDES", num_pathways)
    dilations = _per_pathway(cfg.RESNET.SPATIAL_DILATIONS, "RESNET.SPATIAL_DILATIONS", num_pathways)
    temp_blocks = _per_pathway(cfg.RESNET.NUM_BLOCK_TEMP_KERNEL, "RESNET.NUM_BLOCK_TEMP_KERNEL", num_pathways)
    if len(cfg.DATA.INPUT_CHANNEL_NUM) != num_pathways:
        raise ModelBuildError(
            f"DATA.INPUT_CHANNEL_NUM={cfg.DATA.INPUT_CHANNEL_NUM!r}: MODEL.ARCH={arch!r} has "
            f"{num_pathways} pathway(s), give one channel count per pathway"
        )
    depths = STAGE_DEPTH[cfg.RESNET.DEPTH]
    for stage, (n_blocks, per_path) in enumerate(zip(depths, temp_blocks)):
        if any(n > n_blocks for n in per_path):
            raise ModelBuildError(
                f"RESNET.NUM_BLOCK_TEMP_KERNEL[{stage}]={per_path} exceeds the {n_blocks} blocks of "
                f"res{stage + 2} at RESNET.DEPTH={cfg.RESNET.DEPTH}"
            )

    width = cfg.RESNET.WIDTH_PER_GROUP
    groups = cfg.RESNET.NUM_GROUPS
    beta_inv = cfg.SLOWFAST.BETA_INV if num_pathways == 2 else 1
    alpha = cfg.SLOWFAST.ALPHA if num_pathways == 2 else None
    ratio = cfg.SLOWFAST.FUSION_CONV_CHANNEL_RATIO
    if num_pathways == 2:
        _check_slowfast(cfg, width)

    norm = functools.partial(nn.BatchNorm3d, eps=cfg.BN.EPSILON, momentum=cfg.BN.MOMENTUM)
    inplace = cfg.RESNET.INPLACE_RELU
    basis = TEMPORAL_KERNEL_BASIS[arch]

    def pathway_dims(dim):  # slow width, then fast width = slow // BETA_INV
        return [dim, dim // beta_inv][:num_pathways]

    stem = VideoStem(list(cfg.DATA.INPUT_CHANNEL_NUM), pathway_dims(width),
                     [basis[0][p][0] for p in range(num_pathways)], norm, inplace)
    stages, fuses = [], []
    dim_in = pathway_dims(width)
    for s in range(4):
        if num_pathways == 2:
            fuses.append(FuseFastToSlow(dim_in[1], ratio, cfg.SLOWFAST.FUSION_KERNEL_SZ, alpha, norm, inplace))
            dim_in = [dim_in[0] + dim_in[1] * ratio, dim_in[1]]
        dim_out = pathway_dims(width * 4 * 2**s)
        stages.append(ResStage(
            dims_in=dim_in,
            dims_out=dim_out,
            dims_inner=pathway_dims(width * groups * 2**s),
            temporal_kernels=[block_temporal_kernels(basis[s + 1][p], depths[s], temp_blocks[s][p])
                              for p in range(num_pathways)],
            strides=strides[s],
            num_blocks=depths[s],
            num_groups=groups,
            dilations=dilations[s],
            transform=TRANSFORMS[cfg.RESNET.TRANS_FUNC],
            stride_1x1=cfg.RESNET.STRIDE_1X1,
            inplace_relu=inplace,
            norm=norm,
        ))
        dim_in = dim_out

    pools = POOL_AFTER_RES2[arch]
    frames = [cfg.DATA.NUM_FRAMES // alpha, cfg.DATA.NUM_FRAMES] if num_pathways == 2 else [cfg.DATA.NUM_FRAMES]
    side = cfg.DATA.TRAIN_CROP_SIZE // 32
    head = ResNetBasicHead(
        dims_in=dim_in,
        num_classes=cfg.MODEL.NUM_CLASSES,
        pool_sizes=[[t // pool[0], side // pool[1], side // pool[2]] for t, pool in zip(frames, pools)],
        dropout_rate=cfg.MODEL.DROPOUT_RATE,
        act=cfg.MODEL.HEAD_ACT,
        detach_final_fc=cfg.MODEL.DETACH_FINAL_FC,
    )
    model = VideoResNet(arch, stem, stages, fuses, pools, head, alpha=alpha,
                        act_checkpoint=cfg.MODEL.ACT_CHECKPOINT, frozen_bn=cfg.MODEL.FROZEN_BN,
                        channels_last=cfg.MODEL.CHANNELS_LAST)
    init_weights(model, cfg.MODEL.FC_INIT_STD, cfg.RESNET.ZERO_INIT_FINAL_BN, cfg.RESNET.ZERO_INIT_FINAL_CONV)
    if cfg.MODEL.FROZEN_BN:
        for m in model.modules():
            if isinstance(m, _BatchNorm):
                m.requires_grad_(False)
        model.train()
    if cfg.MODEL.CHANNELS_LAST:
        model.to(memory_format=torch.channels_last_3d)
    return model


def _check_slowfast(cfg, width):
    """Refuse SlowFast settings whose pathways cannot be fused (PySlowFast fails mid-forward)."""
    sf = cfg.SLOWFAST
    problems = []
    if width // sf.BETA_INV < 1:
        problems.append(f"RESNET.WIDTH_PER_GROUP={width} // SLOWFAST.BETA_INV={sf.BETA_INV} leaves the fast pathway 0 channels")
    if sf.ALPHA < 1 or cfg.DATA.NUM_FRAMES // sf.ALPHA < 1:
        problems.append(f"DATA.NUM_FRAMES={cfg.DATA.NUM_FRAMES} // SLOWFAST.ALPHA={sf.ALPHA} leaves no slow frames")
    else:
        fused = (cfg.DATA.NUM_FRAMES + 2 * (sf.FUSION_KERNEL_SZ // 2) - sf.FUSION_KERNEL_SZ) // sf.ALPHA + 1
        if fused != cfg.DATA.NUM_FRAMES // sf.ALPHA:
            problems.append(
                f"SLOWFAST.FUSION_KERNEL_SZ={sf.FUSION_KERNEL_SZ} with ALPHA={sf.ALPHA} maps "
                f"DATA.NUM_FRAMES={cfg.DATA.NUM_FRAMES} fast frames to {fused}, not the "
                f"{cfg.DATA.NUM_FRAMES // sf.ALPHA} slow frames"
            )
    if problems:
        raise ModelBuildError("cannot build the SlowFast model:\n  " + "\n  ".join(problems))
