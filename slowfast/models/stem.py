"""The ResNet video stem (PySlowFast's ``s1``): one T x 7 x 7 conv, BN, ReLU, 1 x 3 x 3 max-pool per pathway.

Module names (``pathway{i}_stem.conv`` / ``.bn``) equal PySlowFast's so checkpoints load strictly.
"""
from torch import nn


class BasicStem(nn.Module):
    """Conv (stride 1x2x2) -> BN -> ReLU -> max-pool (stride 1x2x2): 4x spatial reduction."""

    def __init__(self, dim_in, dim_out, temporal_kernel, norm, inplace_relu=True):
        super().__init__()
        self.conv = nn.Conv3d(
            dim_in,
            dim_out,
            kernel_size=[temporal_kernel, 7, 7],
            stride=[1, 2, 2],
            padding=[temporal_kernel // 2, 3, 3],
            bias=False,
        )
        self.bn = norm(dim_out)
        self.relu = nn.ReLU(inplace_relu)
        self.pool_layer = nn.MaxPool3d(kernel_size=[1, 3, 3], stride=[1, 2, 2], padding=[0, 1, 1])

    def forward(self, x):
        return self.pool_layer(self.relu(self.bn(self.conv(x))))


class VideoStem(nn.Module):
    """One :class:`BasicStem` per pathway; takes and returns a list of tensors."""

    def __init__(self, dims_in, dims_out, temporal_kernels, norm, inplace_relu=True):
        super().__init__()
        self.num_pathways = len(dims_in)
        for p, (d_in, d_out, kt) in enumerate(zip(dims_in, dims_out, temporal_kernels)):
            self.add_module(f"pathway{p}_stem", BasicStem(d_in, d_out, kt, norm, inplace_relu))

    def forward(self, xs):
        return [getattr(self, f"pathway{p}_stem")(x) for p, x in enumerate(xs)]
