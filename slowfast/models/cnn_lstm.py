"""MobileNet (or another torchvision 2D CNN) per frame, an LSTM over time, a linear classifier.

The light model for small datasets: the frames of a clip are sparse samples, so a 2D
backbone with one set of weights sees all B x T frames in a single batched call, its
globally pooled features go to an LSTM, and the last state (or the mean over time) is
classified. ``model.backbone`` is the torchvision model with its classifier replaced by an
identity, so torchvision's state-dict names hold inside it.
"""
import torch
import torchvision
from torch import nn

from slowfast.models.backbone_weights import load_backbone_weights
from slowfast.models.registry import ModelBuildError

# CNN_LSTM.BACKBONE -> (attribute of torchvision's classifier, accepts WIDTH_MULT)
BACKBONES = {
    "mobilenet_v2": ("classifier", True),
    "mobilenet_v3_small": ("classifier", True),
    "mobilenet_v3_large": ("classifier", True),
    "resnet18": ("fc", False),
}


def _headless_backbone(name, width_mult):
    """Return (torchvision model without its classifier, feature size, classifier key prefix)."""
    head_attr, has_width = BACKBONES[name]
    kwargs = {"width_mult": width_mult} if has_width else {}
    net = getattr(torchvision.models, name)(weights=None, **kwargs)
    head = getattr(net, head_attr)
    first_linear = head if isinstance(head, nn.Linear) else next(
        m for m in head.modules() if isinstance(m, nn.Linear)
    )
    setattr(net, head_attr, nn.Identity())
    return net, first_linear.in_features, head_attr + "."


class CNNLSTM(nn.Module):
    """Per-frame CNN -> LSTM -> last state or time mean -> linear; returns logits."""

    def __init__(self, backbone, feature_dim, num_classes, hidden_size=256, num_layers=1,
                 bidirectional=False, dropout=0.0, pool="last", num_frames_used=0,
                 freeze_backbone=False, freeze_bn=False, fc_init_std=0.01):
        super().__init__()
        self.backbone = backbone
        self.lstm = nn.LSTM(
            feature_dim, hidden_size, num_layers=num_layers, batch_first=True,
            bidirectional=bidirectional, dropout=dropout if num_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), num_classes)
        nn.init.normal_(self.head.weight, std=fc_init_std)
        nn.init.zeros_(self.head.bias)
        self.pool = pool
        self.num_frames_used = num_frames_used
        self.freeze_bn = freeze_bn
        if freeze_backbone:
            for p in self.backbone.parameters():
                p.requires_grad_(False)

    def train(self, mode=True):
        """Like nn.Module.train, but frozen backbone BN layers keep their running statistics."""
        super().train(mode)
        if self.freeze_bn:
            for m in self.backbone.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

    def forward(self, x):
        if isinstance(x, (list, tuple)):
            if len(x) != 1:
                raise ValueError(f"CNNLSTM takes one pathway, got a list of {len(x)} tensors")
            x = x[0]
        if x.dim() != 5:
            raise ValueError(f"CNNLSTM expects B x C x T x H x W, got shape {tuple(x.shape)}")
        if self.num_frames_used:
            if x.shape[2] < self.num_frames_used:
                raise ValueError(
                    f"CNN_LSTM.NUM_FRAMES_USED={self.num_frames_used} but the clip has "
                    f"{x.shape[2]} frames (DATA.NUM_FRAMES)"
                )
            x = x[:, :, : self.num_frames_used]
        b, c, t, h, w = x.shape
        frames = x.transpose(1, 2).reshape(b * t, c, h, w)
        feats = self.backbone(frames).reshape(b, t, -1)
        out, (h_n, _) = self.lstm(feats)
        if self.pool == "last":
            dirs = 2 if self.lstm.bidirectional else 1
            last_layer = h_n.view(self.lstm.num_layers, dirs, b, self.lstm.hidden_size)[-1]
            pooled = last_layer.transpose(0, 1).reshape(b, dirs * self.lstm.hidden_size)
        else:
            pooled = out.mean(dim=1)
        return self.head(self.dropout(pooled))


def build_cnn_lstm(cfg):
    """Build CNNLSTM from cfg.CNN_LSTM and load CNN_LSTM.BACKBONE_WEIGHTS into its backbone."""
    c = cfg.CNN_LSTM
    if c.BACKBONE not in BACKBONES:
        raise ModelBuildError(
            f"CNN_LSTM.BACKBONE={c.BACKBONE!r} is not supported; available: {', '.join(BACKBONES)}"
        )
    if c.WIDTH_MULT <= 0 or (c.WIDTH_MULT != 1.0 and not BACKBONES[c.BACKBONE][1]):
        raise ModelBuildError(
            f"CNN_LSTM.WIDTH_MULT={c.WIDTH_MULT} is not valid for CNN_LSTM.BACKBONE={c.BACKBONE} "
            "(positive, and 1.0 unless the backbone is a MobileNet)"
        )
    if c.NUM_FRAMES_USED < 0 or c.NUM_FRAMES_USED > cfg.DATA.NUM_FRAMES:
        raise ModelBuildError(
            f"CNN_LSTM.NUM_FRAMES_USED={c.NUM_FRAMES_USED} must be in [0, DATA.NUM_FRAMES="
            f"{cfg.DATA.NUM_FRAMES}] (0 = all frames)"
        )
    if c.HIDDEN_SIZE < 1 or c.NUM_LAYERS < 1 or not 0.0 <= c.DROPOUT < 1.0:
        raise ModelBuildError(
            f"CNN_LSTM.HIDDEN_SIZE={c.HIDDEN_SIZE} and NUM_LAYERS={c.NUM_LAYERS} must be >= 1 "
            f"and CNN_LSTM.DROPOUT={c.DROPOUT} in [0, 1)"
        )
    backbone, feature_dim, head_prefix = _headless_backbone(c.BACKBONE, c.WIDTH_MULT)
    load_backbone_weights(backbone, c.BACKBONE, c.BACKBONE_WEIGHTS, head_prefix)
    return CNNLSTM(
        backbone, feature_dim, cfg.MODEL.NUM_CLASSES,
        hidden_size=c.HIDDEN_SIZE, num_layers=c.NUM_LAYERS, bidirectional=c.BIDIRECTIONAL,
        dropout=c.DROPOUT, pool=c.POOL, num_frames_used=c.NUM_FRAMES_USED,
        freeze_backbone=c.FREEZE_BACKBONE, freeze_bn=c.FREEZE_BN, fc_init_std=cfg.MODEL.FC_INIT_STD,
    )
