"""Test doubles honouring the engine's contracts: a tiny synthetic dataset and a tiny model.

``install()`` registers them as TRAIN/TEST.DATASET ``tiny`` and MODEL.ARCH ``tiny``; batches
come from the real slowfast.datasets.loader.

Clips are a pure function of (RNG_SEED, split, item, epoch, repeat): a class-dependent colour and bright
quadrant plus noise, so a tiny model can learn them. Hooks for fault tests:
``TINY_SIGNAL=NAME:N:MARKER`` sends signal NAME to this process when the N-th training item
is loaded, once (MARKER records that it happened); ``TinyClips.bad_every = k`` marks every k-th
item as a replaced unreadable one.
"""
import os
import signal

import torch
from torch import nn

SPLIT_SIZES = {"train": 16, "val": 9, "test": 7}
_SPLIT_IDS = {"train": 1, "val": 2, "test": 3}


class TinyClips:
    bad_every = 0

    def __init__(self, cfg, split):
        self.split = split
        self.num_samples = SPLIT_SIZES[split]
        k = cfg.MODEL.NUM_CLASSES
        self.sample_labels = [i % k for i in range(self.num_samples)]
        self.class_names = [f"class_{c}" for c in range(k)]
        self.num_views = cfg.TEST.NUM_ENSEMBLE_VIEWS * cfg.TEST.NUM_SPATIAL_CROPS if split == "test" else 1
        self.frames = cfg.DATA.NUM_FRAMES
        self.size = cfg.DATA.TRAIN_CROP_SIZE if split == "train" else cfg.DATA.TEST_CROP_SIZE
        self.seed = cfg.RNG_SEED
        self.loads = 0

    def __len__(self):
        return self.num_samples * self.num_views

    def _maybe_signal(self):
        spec = os.environ.get("TINY_SIGNAL")
        if not spec or self.split != "train":
            return
        name, count, marker = spec.split(":", 2)
        self.loads += 1
        if self.loads == int(count) and not os.path.exists(marker):
            open(marker, "w").close()
            os.kill(os.getpid(), getattr(signal, name))

    def __getitem__(self, key):
        # The training sampler sends (item, epoch, repeat) keys; val/test send item numbers.
        item, epoch, repeat = key if isinstance(key, tuple) else (key, 0, 0)
        self._maybe_signal()
        sample, view = divmod(item, self.num_views)
        label = self.sample_labels[sample]
        g = torch.Generator().manual_seed(
            self.seed * 1_000_003 + _SPLIT_IDS[self.split] * 10_007 + item * 101 + epoch * 7 + repeat
        )
        t, s = self.frames, self.size
        clip = torch.randint(0, 150, (3, t, s, s), generator=g)
        clip += torch.tensor([50 + 25 * ((label >> c) & 1) for c in range(3)]).view(3, 1, 1, 1)
        half = s // 2
        y0, x0 = (label % 2) * half, ((label // 2) % 2) * half
        clip[:, :, y0:y0 + half, x0:x0 + half] += 25
        bad = int(self.bad_every > 0 and item % self.bad_every == 0)
        meta = {
            "video_id": f"{self.split}_{sample:03d}",
            "view": view,
            "frame_indices": torch.arange(t, dtype=torch.long) + view,
            "bad": bad,
            "bad_files": [f"/missing/{self.split}_{item}.jpg"] if bad else [],
        }
        return clip.clamp_(0, 255).to(torch.uint8), label, sample, meta


class _Stem(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.conv = nn.Conv3d(3, width, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), bias=False)
        self.bn = nn.BatchNorm3d(width)


class _Head(nn.Module):
    def __init__(self, width, num_classes, dropout):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.projection = nn.Linear(width, num_classes)


class TinyNet(nn.Module):
    """conv-BN-ReLU, global average pool, dropout, linear: PySlowFast-style key names."""

    def __init__(self, num_classes, dropout, width=8):
        super().__init__()
        self.s1 = nn.Module()
        self.s1.pathway0_stem = _Stem(width)
        self.head = _Head(width, num_classes, dropout)

    def forward(self, x):
        if isinstance(x, (list, tuple)):
            x = x[0]
        stem = self.s1.pathway0_stem
        x = torch.relu(stem.bn(stem.conv(x))).mean(dim=(2, 3, 4))
        return self.head.projection(self.head.dropout(x))


def build_tiny(cfg):
    return TinyNet(cfg.MODEL.NUM_CLASSES, cfg.MODEL.DROPOUT_RATE)


def install(monkeypatch=None):
    """Register the doubles (through ``monkeypatch`` when given, so tests clean up)."""
    from slowfast.datasets.registry import DATASETS
    from slowfast.models.registry import ARCHS

    setitem = monkeypatch.setitem if monkeypatch is not None else (lambda d, k, v: d.__setitem__(k, v))
    setitem(DATASETS, "tiny", "tests.engine.tiny:TinyClips")
    setitem(ARCHS, "tiny", ("Tiny", "tests.engine.tiny:build_tiny"))
