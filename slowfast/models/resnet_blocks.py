"""Residual blocks and stages of the 3D ResNets (C2D, I3D, Slow, SlowFast).

Module names and construction order follow PySlowFast's ``resnet_helper`` so that state-dict
keys match and a seeded build draws the same initial weights. The last BN of each residual
branch is tagged ``transform_final_bn`` (zeroed by RESNET.ZERO_INIT_FINAL_BN) and the last conv
``final_conv`` (zeroed by RESNET.ZERO_INIT_FINAL_CONV).
"""
from torch import nn


class BottleneckTransform(nn.Module):
    """T x 1 x 1 -> 1 x 3 x 3 (strided, grouped, dilated) -> 1 x 1 x 1, each followed by BN."""

    def __init__(self, dim_in, dim_out, temporal_kernel, stride, dim_inner, num_groups,
                 stride_1x1, inplace_relu, dilation, norm):
        super().__init__()
        str1x1, str3x3 = (stride, 1) if stride_1x1 else (1, stride)
        self.a = nn.Conv3d(dim_in, dim_inner, kernel_size=[temporal_kernel, 1, 1],
                           stride=[1, str1x1, str1x1], padding=[temporal_kernel // 2, 0, 0], bias=False)
        self.a_bn = norm(dim_inner)
        self.a_relu = nn.ReLU(inplace_relu)
        self.b = nn.Conv3d(dim_inner, dim_inner, kernel_size=[1, 3, 3], stride=[1, str3x3, str3x3],
                           padding=[0, dilation, dilation], groups=num_groups, bias=False,
                           dilation=[1, dilation, dilation])
        self.b_bn = norm(dim_inner)
        self.b_relu = nn.ReLU(inplace_relu)
        self.c = nn.Conv3d(dim_inner, dim_out, kernel_size=1, bias=False)
        self.c.final_conv = True
        self.c_bn = norm(dim_out)
        self.c_bn.transform_final_bn = True

    def forward(self, x):
        x = self.a_relu(self.a_bn(self.a(x)))
        x = self.b_relu(self.b_bn(self.b(x)))
        return self.c_bn(self.c(x))


class BasicTransform(nn.Module):
    """T x 3 x 3 (strided) -> 1 x 3 x 3 (dilated), each followed by BN (ResNet-18 style)."""

    def __init__(self, dim_in, dim_out, temporal_kernel, stride, dim_inner, num_groups,
                 stride_1x1, inplace_relu, dilation, norm):
        super().__init__()
        del dim_inner, num_groups, stride_1x1  # PySlowFast's basic transform ignores them too
        self.a = nn.Conv3d(dim_in, dim_out, kernel_size=[temporal_kernel, 3, 3], stride=[1, stride, stride],
                           padding=[temporal_kernel // 2, 1, 1], bias=False)
        self.a_bn = norm(dim_out)
        self.a_relu = nn.ReLU(inplace_relu)
        self.b = nn.Conv3d(dim_out, dim_out, kernel_size=[1, 3, 3], padding=[0, dilation, dilation],
                           dilation=[1, dilation, dilation], bias=False)
        self.b.final_conv = True
        self.b_bn = norm(dim_out)
        self.b_bn.transform_final_bn = True

    def forward(self, x):
        return self.b_bn(self.b(self.a_relu(self.a_bn(self.a(x)))))


TRANSFORMS = {"bottleneck_transform": BottleneckTransform, "basic_transform": BasicTransform}


class ResBlock(nn.Module):
    """relu(shortcut(x) + branch2(x)); the shortcut is a strided 1x1x1 conv + BN when shapes change."""

    def __init__(self, dim_in, dim_out, temporal_kernel, stride, transform, dim_inner, num_groups,
                 stride_1x1, inplace_relu, dilation, norm):
        super().__init__()
        if dim_in != dim_out or stride != 1:
            self.branch1 = nn.Conv3d(dim_in, dim_out, kernel_size=1, stride=[1, stride, stride], bias=False)
            self.branch1_bn = norm(dim_out)
        self.branch2 = transform(dim_in, dim_out, temporal_kernel, stride, dim_inner, num_groups,
                                 stride_1x1, inplace_relu, dilation, norm)
        self.relu = nn.ReLU(inplace_relu)

    def forward(self, x):
        shortcut = self.branch1_bn(self.branch1(x)) if hasattr(self, "branch1") else x
        # In place: the final BN's backward needs its input, not its output.
        return self.relu(self.branch2(x).add_(shortcut))


def block_temporal_kernels(basis, num_blocks, num_with_kernel):
    """PySlowFast's rule: cycle ``basis`` over the first ``num_with_kernel`` blocks, then 1s.

    ``[3, 1]`` over 6 blocks with 6 -> [3, 1, 3, 1, 3, 1]; ``[3]`` over 4 blocks with 2 -> [3, 3, 1, 1].
    """
    return (list(basis) * num_blocks)[:num_with_kernel] + [1] * (num_blocks - num_with_kernel)


class ResStage(nn.Module):
    """One ResNet stage for every pathway: blocks ``pathway{p}_res{i}``; takes and returns a list."""

    def __init__(self, dims_in, dims_out, dims_inner, temporal_kernels, strides, num_blocks,
                 num_groups, dilations, transform, stride_1x1, inplace_relu, norm):
        """``temporal_kernels[p]`` lists one kernel per block of pathway ``p``."""
        super().__init__()
        self.num_pathways = len(dims_in)
        for p in range(self.num_pathways):
            for i in range(num_blocks):
                block = ResBlock(
                    dims_in[p] if i == 0 else dims_out[p],
                    dims_out[p],
                    temporal_kernels[p][i],
                    strides[p] if i == 0 else 1,
                    transform,
                    dims_inner[p],
                    num_groups,
                    stride_1x1,
                    inplace_relu,
                    dilations[p],
                    norm,
                )
                self.add_module(f"pathway{p}_res{i}", block)
        self.num_blocks = num_blocks

    def forward(self, xs):
        out = []
        for p, x in enumerate(xs):
            for i in range(self.num_blocks):
                x = getattr(self, f"pathway{p}_res{i}")(x)
            out.append(x)
        return out
