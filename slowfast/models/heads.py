"""The ResNet/SlowFast classification head (PySlowFast's ``ResNetBasicHead``), returning logits."""
import math

import torch
import torch.nn.functional as F
from torch import nn


class ResNetBasicHead(nn.Module):
    """Per-pathway average pool, concatenation, dropout and a linear ``projection``.

    The pool kernels are fixed from the *training* clip (PySlowFast's rule), so a larger test
    crop leaves a map of several positions (2x2 for a 256 crop of a 224-trained SlowFast).
    PySlowFast's eval output there is the mean over positions of the per-position
    softmax (sigmoid for ``act="sigmoid"``). This head returns logits instead:

    * one position: the projection output itself, bit-equal to PySlowFast's pre-softmax logits;
    * several positions: ``log(mean_p softmax(z_p))`` (``logit(mean_p sigmoid(z_p))``), so that
      ``softmax(output)`` (``sigmoid(output)``) equals PySlowFast's eval output exactly, while the
      loop applies the activation the same way for every model.

    The same rule is used in train mode, where PySlowFast would return a malformed tensor.
    """

    def __init__(self, dims_in, num_classes, pool_sizes, dropout_rate=0.0, act="softmax",
                 detach_final_fc=False):
        super().__init__()
        if act not in ("softmax", "sigmoid"):
            raise ValueError(f"head activation {act!r} is not supported (softmax, sigmoid)")
        self.num_pathways = len(dims_in)
        self.pool_sizes = [list(s) for s in pool_sizes]
        for p, size in enumerate(self.pool_sizes):
            self.add_module(f"pathway{p}_avgpool", nn.AvgPool3d(size, stride=1))
        if dropout_rate > 0.0:
            self.dropout = nn.Dropout(dropout_rate)
        self.projection = nn.Linear(sum(dims_in), num_classes, bias=True)
        self.act = act
        self.detach_final_fc = detach_final_fc

    def forward(self, xs):
        pooled = []
        for p, x in enumerate(xs):
            if any(have < need for have, need in zip(x.shape[2:], self.pool_sizes[p])):
                raise ValueError(
                    f"head pathway {p}: feature map T x H x W = {list(x.shape[2:])} is smaller than "
                    f"the pooling window {self.pool_sizes[p]} fixed by DATA.NUM_FRAMES and "
                    "DATA.TRAIN_CROP_SIZE; feed clips at least that long and large"
                )
            pooled.append(getattr(self, f"pathway{p}_avgpool")(x))
        x = torch.cat(pooled, 1).permute(0, 2, 3, 4, 1)  # B x T x H x W x C
        if hasattr(self, "dropout"):
            x = self.dropout(x)
        if self.detach_final_fc:
            x = x.detach()
        x = self.projection(x)
        batch, positions = x.shape[0], math.prod(x.shape[1:4])
        x = x.reshape(batch, positions, x.shape[-1])
        if positions == 1:
            return x[:, 0]
        if self.act == "softmax":
            return torch.logsumexp(F.log_softmax(x, dim=-1), dim=1) - math.log(positions)
        return torch.logit(torch.sigmoid(x).mean(1))
