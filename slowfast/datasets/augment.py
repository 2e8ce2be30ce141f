"""Training-only photometric augmentation of a whole uint8 clip, identical on every frame.

Colour jitter (AUG.COLOR_JITTER_PROB / AUG.COLOR_JITTER), random grayscale
(DATA.COLOR_RND_GRAYSCALE), RandAugment (AUG.ENABLE + AUG.AA_TYPE, torchvision's op table)
and random erasing (AUG.RE_*). The clip stays uint8: random erasing draws its fill in the
normalised space the model sees (DATA.MEAN/STD) and maps it back to pixels. All randomness
comes from the item's numpy generator, so a clip's augmentation is a function of its seed.
"""
import math
import re

import numpy as np
import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

_INTERPOLATIONS = {
    "bilinear": v2.InterpolationMode.BILINEAR,
    "bicubic": v2.InterpolationMode.BICUBIC,
    "nearest": v2.InterpolationMode.NEAREST,
}


def parse_rand_augment(aa_type):
    """``rand-mM-nN-mstdS-inc1`` -> (num_ops, magnitude, magnitude_std), timm's spelling.

    torchvision's table is timm's "increasing" one, so ``inc1`` is required; unknown parts
    are refused rather than ignored.
    """
    parts = aa_type.split("-")
    if parts[0] != "rand":
        raise ValueError(f"AUG.AA_TYPE={aa_type!r}: only RandAugment ('rand-...') is implemented")
    num_ops, magnitude, mstd, increasing = 2, 9.0, 0.0, False
    for part in parts[1:]:
        match = re.fullmatch(r"(mstd|inc|m|n)([0-9.]+)", part)
        if not match:
            raise ValueError(f"AUG.AA_TYPE={aa_type!r}: unsupported part {part!r} (known: mM, nN, mstdS, inc1)")
        key, value = match.groups()
        if key == "m":
            magnitude = float(value)
        elif key == "n":
            num_ops = int(value)
        elif key == "mstd":
            mstd = float(value)
        else:
            increasing = value == "1"
    if not increasing:
        raise ValueError(
            f"AUG.AA_TYPE={aa_type!r}: timm's non-increasing op table (inc0, the default) is not "
            "implemented; add '-inc1' (torchvision's RandAugment ops increase with magnitude)"
        )
    if not 0 <= magnitude <= 10:
        raise ValueError(f"AUG.AA_TYPE={aa_type!r}: magnitude must be in [0, 10]")
    return num_ops, magnitude, mstd


class ClipAugment:
    """Applies the configured ops to a ``T x H x W x C`` uint8 numpy clip, returns the same layout."""

    def __init__(self, mean, std, color_jitter_prob=0.0, color_jitter=0.0, grayscale_prob=0.0,
                 rand_augment=None, interpolation="bilinear", re_prob=0.0, re_mode="pixel",
                 re_count=1):
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(f"AUG.INTERPOLATION={interpolation!r} is not one of {', '.join(_INTERPOLATIONS)}")
        if re_mode not in ("pixel", "rand", "const"):
            raise ValueError(f"AUG.RE_MODE={re_mode!r} is not one of pixel, rand, const")
        self.mean = np.asarray(mean, dtype=np.float32) * 255.0
        self.std = np.asarray(std, dtype=np.float32) * 255.0
        self.color_jitter_prob = color_jitter_prob
        self.color_jitter = color_jitter
        self.grayscale_prob = grayscale_prob
        self.rand_augment = rand_augment
        self.interpolation = _INTERPOLATIONS[interpolation]
        self.re_prob = re_prob
        self.re_mode = re_mode
        self.re_count = max(1, re_count)

    @classmethod
    def from_cfg(cls, cfg):
        """None when nothing is switched on, so the common path costs nothing."""
        aug = cfg.AUG
        if aug.RE_SPLIT:
            raise ValueError("AUG.RE_SPLIT=True is not implemented (there is no clean split to keep)")
        rand_augment = parse_rand_augment(aug.AA_TYPE) if aug.ENABLE else None
        if not (aug.COLOR_JITTER_PROB > 0 or cfg.DATA.COLOR_RND_GRAYSCALE > 0 or aug.ENABLE):
            return None
        return cls(
            cfg.DATA.MEAN, cfg.DATA.STD,
            color_jitter_prob=aug.COLOR_JITTER_PROB, color_jitter=aug.COLOR_JITTER,
            grayscale_prob=cfg.DATA.COLOR_RND_GRAYSCALE, rand_augment=rand_augment,
            interpolation=aug.INTERPOLATION, re_prob=aug.RE_PROB if aug.ENABLE else 0.0,
            re_mode=aug.RE_MODE, re_count=aug.RE_COUNT,
        )

    def __call__(self, clip, rng):
        video = torch.from_numpy(clip).permute(0, 3, 1, 2)  # T x C x H x W view
        if self.color_jitter_prob > 0 and rng.random() < self.color_jitter_prob:
            video = self._color_jitter(video, rng)
        if self.grayscale_prob > 0 and rng.random() < self.grayscale_prob:
            video = F.rgb_to_grayscale(video, num_output_channels=3)
        if self.rand_augment is not None:
            video = self._rand_augment(video, rng)
        out = video.permute(0, 2, 3, 1).contiguous().numpy()
        if self.re_prob > 0 and rng.random() < self.re_prob:
            self._erase(out, rng)
        return out

    def _color_jitter(self, video, rng):
        s = self.color_jitter
        ops = [F.adjust_brightness, F.adjust_contrast, F.adjust_saturation]
        for i in rng.permutation(3):
            video = ops[i](video, float(rng.uniform(max(0.0, 1 - s), 1 + s)))
        return video

    def _rand_augment(self, video, rng):
        """``num_ops`` single-op RandAugments, each with its own magnitude (timm's mstd noise)."""
        num_ops, magnitude, mstd = self.rand_augment
        for _ in range(num_ops):
            m = magnitude if mstd <= 0 else float(np.clip(rng.normal(magnitude, mstd), 0, 10))
            op = v2.RandAugment(num_ops=1, magnitude=int(round(m * 10)), num_magnitude_bins=101,
                                interpolation=self.interpolation)
            seed = int(rng.integers(2**62))
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                try:
                    video = op(video)
                except ValueError:
                    if self.interpolation != v2.InterpolationMode.BICUBIC:
                        raise
                    # Tensor warps support only nearest/bilinear: redo this op through PIL,
                    # re-seeded per frame so every frame draws the same op, sign and magnitude.
                    frames = []
                    for frame in video:
                        torch.manual_seed(seed)
                        frames.append(F.pil_to_tensor(op(F.to_pil_image(frame))))
                    video = torch.stack(frames)
        return video

    def _erase(self, clip, rng):
        """timm's RandomErasing in cube mode: the same boxes on every frame, filled in place."""
        t, height, width, channels = clip.shape
        count = int(rng.integers(1, self.re_count + 1))
        for _ in range(count):
            for _ in range(10):
                target = rng.uniform(0.02, 1 / 3) * height * width / count
                aspect = math.exp(rng.uniform(math.log(0.3), math.log(1 / 0.3)))
                h = int(round(math.sqrt(target * aspect)))
                w = int(round(math.sqrt(target / aspect)))
                if w < width and h < height:
                    top = int(rng.integers(0, height - h + 1))
                    left = int(rng.integers(0, width - w + 1))
                    clip[:, top:top + h, left:left + w] = self._fill(rng, (t, h, w, channels))
                    break

    def _fill(self, rng, shape):
        if self.re_mode == "pixel":
            z = rng.standard_normal(shape, dtype=np.float32)
        elif self.re_mode == "rand":
            z = rng.standard_normal((1, 1, 1, shape[3]), dtype=np.float32)
        else:
            z = np.zeros((1, 1, 1, shape[3]), dtype=np.float32)
        return np.clip(self.mean + self.std * z, 0, 255).round().astype(np.uint8)
