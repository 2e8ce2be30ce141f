"""Spatial sampling as a plan: a crop box in source pixels, an output size and a flip.

Deciding the crop before decoding is what lets the reader decode a JPEG at a reduced size
(the plan says how many source pixels it needs) and crop before resizing (the resize then
touches only the pixels that survive). The same plan is applied to every frame of a clip.
PySlowFast's transforms are reproduced as plans: short-side scale jitter + random crop,
Inception-style random-resized crop, and the uniform (left/centre/right) test crops.
"""
import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class CropPlan:
    """Box ``(x, y, w, h)`` in pixels of a ``src_w x src_h`` source, resized to ``out_w x out_h``."""

    x: float
    y: float
    w: float
    h: float
    out_w: int
    out_h: int
    flip: bool = False

    def decode_size(self, src_w, src_h):
        """Smallest whole-image size at which the box still holds ``out_w x out_h`` pixels."""
        return (
            math.ceil(src_w * self.out_w / self.w - 1e-6),
            math.ceil(src_h * self.out_h / self.h - 1e-6),
        )

    def apply(self, image, src_w, src_h):
        """Crop, resize and flip ``image``: the source decoded at any size (H x W x C uint8)."""
        img_h, img_w = image.shape[:2]
        sx, sy = img_w / src_w, img_h / src_h
        x0 = min(max(int(round(self.x * sx)), 0), img_w - 1)
        y0 = min(max(int(round(self.y * sy)), 0), img_h - 1)
        x1 = min(max(int(round((self.x + self.w) * sx)), x0 + 1), img_w)
        y1 = min(max(int(round((self.y + self.h) * sy)), y0 + 1), img_h)
        crop = image[y0:y1, x0:x1]
        if crop.shape[1] != self.out_w or crop.shape[0] != self.out_h:
            shrink = min(crop.shape[1] / self.out_w, crop.shape[0] / self.out_h)
            interp = cv2.INTER_AREA if shrink >= 2 else cv2.INTER_LINEAR
            crop = cv2.resize(crop, (self.out_w, self.out_h), interpolation=interp)
        if self.flip:
            crop = crop[:, ::-1]
        return np.ascontiguousarray(crop)


def _scaled_size(src_w, src_h, short_side):
    """PySlowFast's short-side resize: the short side becomes ``short_side``, the long one is floored."""
    if src_w <= src_h:
        return short_side, int(math.floor(src_h / src_w * short_side))
    return int(math.floor(src_w / src_h * short_side)), short_side


def scale_jitter_crop(src_w, src_h, rng, min_size, max_size, crop, flip, inverse_uniform=False):
    """Training: short side to a random size in [min, max], random ``crop`` square, random flip."""
    if inverse_uniform:
        size = int(round(1.0 / rng.uniform(1.0 / max_size, 1.0 / min_size)))
    else:
        size = int(round(rng.uniform(min_size, max_size)))
    new_w, new_h = _scaled_size(src_w, src_h, size)
    x_off = int(rng.integers(0, max(new_w - crop, 0) + 1))
    y_off = int(rng.integers(0, max(new_h - crop, 0) + 1))
    f_x, f_y = src_w / new_w, src_h / new_h
    do_flip = bool(flip and rng.random() < 0.5)
    return CropPlan(x_off * f_x, y_off * f_y, crop * f_x, crop * f_y, crop, crop, do_flip)


def random_resized_crop(src_w, src_h, rng, area_range, ratio_range, crop, flip):
    """Training (Inception style): a box of random area fraction and aspect ratio, resized to ``crop``."""
    area = src_w * src_h
    log_ratio = (math.log(ratio_range[0]), math.log(ratio_range[1]))
    do_flip = bool(flip and rng.random() < 0.5)
    for _ in range(10):
        target = area * rng.uniform(area_range[0], area_range[1])
        aspect = math.exp(rng.uniform(*log_ratio))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= src_w and 0 < h <= src_h:
            y = int(rng.integers(0, src_h - h + 1))
            x = int(rng.integers(0, src_w - w + 1))
            return CropPlan(x, y, w, h, crop, crop, do_flip)
    # Fallback: the largest centred box within the ratio range.
    in_ratio = src_w / src_h
    if in_ratio < min(ratio_range):
        w, h = src_w, int(round(src_w / min(ratio_range)))
    elif in_ratio > max(ratio_range):
        w, h = int(round(src_h * max(ratio_range))), src_h
    else:
        w, h = src_w, src_h
    return CropPlan((src_w - w) // 2, (src_h - h) // 2, w, h, crop, crop, do_flip)


def uniform_crop(src_w, src_h, short_side, crop, position):
    """Evaluation: short side to ``short_side``, a ``crop`` square at ``position`` 0/1/2 of the long side.

    0 and 2 are the two ends (left/right or top/bottom), 1 the centre, as in PySlowFast.
    """
    new_w, new_h = _scaled_size(src_w, src_h, short_side)
    x_off = int(math.ceil((new_w - crop) / 2))
    y_off = int(math.ceil((new_h - crop) / 2))
    if new_h > new_w:
        y_off = {0: 0, 1: y_off, 2: new_h - crop}[position]
    else:
        x_off = {0: 0, 1: x_off, 2: new_w - crop}[position]
    f_x, f_y = src_w / new_w, src_h / new_h
    return CropPlan(x_off * f_x, y_off * f_y, crop * f_x, crop * f_y, crop, crop)


class SpatialSampler:
    """Chooses the plan for an item from the split's settings (values, not the cfg)."""

    def __init__(self, split, jitter_scales, train_crop, test_crop, num_crops=1, flip=True,
                 inverse_uniform=False, relative_scales=(), relative_aspect=()):
        if split == "train":
            if relative_scales:
                if len(relative_scales) != 2 or len(relative_aspect) != 2:
                    raise ValueError(
                        "DATA.TRAIN_JITTER_SCALES_RELATIVE and DATA.TRAIN_JITTER_ASPECT_RELATIVE "
                        f"need two values each, got {list(relative_scales)} and {list(relative_aspect)}"
                    )
            elif jitter_scales[0] > jitter_scales[1] or jitter_scales[0] < train_crop:
                raise ValueError(
                    f"DATA.TRAIN_JITTER_SCALES={list(jitter_scales)} must be increasing and not "
                    f"below DATA.TRAIN_CROP_SIZE={train_crop}"
                )
        if split == "val" and jitter_scales[0] < train_crop:
            raise ValueError(
                f"DATA.TRAIN_JITTER_SCALES[0]={jitter_scales[0]} is below DATA.TRAIN_CROP_SIZE={train_crop}"
            )
        if num_crops not in (1, 3):
            raise ValueError(f"TEST.NUM_SPATIAL_CROPS={num_crops} must be 1 (centre) or 3 (ends + centre)")
        self.split = split
        self.jitter_scales = tuple(jitter_scales)
        self.train_crop = train_crop
        self.test_crop = test_crop
        self.num_crops = num_crops
        self.flip = flip
        self.inverse_uniform = inverse_uniform
        self.relative_scales = tuple(relative_scales)
        self.relative_aspect = tuple(relative_aspect)

    def __call__(self, src_w, src_h, rng=None, view=0):
        """Train: random plan from ``rng``; val: centre crop of the smallest jitter scale; test: crop ``view``."""
        if self.split == "train":
            if self.relative_scales:
                return random_resized_crop(src_w, src_h, rng, self.relative_scales,
                                           self.relative_aspect, self.train_crop, self.flip)
            return scale_jitter_crop(src_w, src_h, rng, *self.jitter_scales, self.train_crop,
                                     self.flip, self.inverse_uniform)
        if self.split == "val":
            return uniform_crop(src_w, src_h, self.jitter_scales[0], self.train_crop, 1)
        position = 1 if self.num_crops == 1 else view
        return uniform_crop(src_w, src_h, self.test_crop, self.test_crop, position)
