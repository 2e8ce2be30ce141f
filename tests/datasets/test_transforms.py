"""Crop plans (by hand) and clip augmentation (same op on every frame, config errors)."""
import numpy as np
import pytest

from slowfast.datasets.augment import ClipAugment, parse_rand_augment
from slowfast.datasets.transforms import (CropPlan, SpatialSampler, random_resized_crop,
                                          scale_jitter_crop, uniform_crop)


def test_uniform_crop_positions_by_hand():
    # 320x240 -> short side 120 -> 160x120; crop 120: x offset 0 / 20 / 40, in source pixels x2.
    boxes = [uniform_crop(320, 240, 120, 120, p) for p in (0, 1, 2)]
    assert [(b.x, b.y, b.w, b.h) for b in boxes] == [(0, 0, 240, 240), (40, 0, 240, 240), (80, 0, 240, 240)]
    # Portrait 240x320: the crops move down the long side.
    assert [uniform_crop(240, 320, 120, 120, p).y for p in (0, 1, 2)] == [0, 40, 80]


def test_scale_jitter_crop_box_in_source_pixels():
    for seed in range(10):
        plan = scale_jitter_crop(1920, 1080, np.random.default_rng(seed), 256, 320, 224, flip=True)
        size = 1080 * 224 / plan.h  # the short side the frame was scaled to
        assert 256 - 1 <= size <= 320 + 1
        assert plan.x >= 0 and plan.y >= 0 and plan.x + plan.w <= 1920 + 1e-6 and plan.y + plan.h <= 1080 + 1e-6
        min_w, min_h = plan.decode_size(1920, 1080)
        assert min_h == pytest.approx(size, abs=1) and min_w >= 1920 * size / 1080 - 1


def test_random_resized_crop_stays_inside_and_respects_ratio():
    for seed in range(10):
        plan = random_resized_crop(640, 480, np.random.default_rng(seed), (0.08, 1.0), (0.75, 1.3333), 32, False)
        assert 0 <= plan.x and plan.x + plan.w <= 640 and 0 <= plan.y and plan.y + plan.h <= 480
        assert 0.7 < plan.w / plan.h < 1.4 and (plan.out_w, plan.out_h) == (32, 32)


def test_crop_plan_apply_crops_resizes_and_flips():
    image = np.arange(8 * 12, dtype=np.uint8).reshape(8, 12, 1).repeat(3, axis=2)
    plan = CropPlan(4, 2, 4, 4, 4, 4, flip=False)
    assert np.array_equal(plan.apply(image, 12, 8)[..., 0], image[2:6, 4:8, 0])
    flipped = CropPlan(4, 2, 4, 4, 4, 4, flip=True).apply(image, 12, 8)
    assert np.array_equal(flipped[..., 0], image[2:6, 4:8, 0][:, ::-1])
    # The same box on a half-size decode of the image maps to half the pixels, then resizes.
    half = image[::2, ::2]
    assert plan.apply(half, 12, 8).shape == (4, 4, 3)


def test_spatial_sampler_validates_settings():
    with pytest.raises(ValueError, match="TEST.NUM_SPATIAL_CROPS"):
        SpatialSampler("test", (256, 320), 224, 256, num_crops=2)
    with pytest.raises(ValueError, match="TRAIN_JITTER_SCALES"):
        SpatialSampler("train", (200, 320), 224, 256)


def test_parse_rand_augment():
    assert parse_rand_augment("rand-m7-n4-mstd0.5-inc1") == (4, 7.0, 0.5)
    assert parse_rand_augment("rand-m9-mstd0.5-inc1") == (2, 9.0, 0.5)
    for bad in ("rand-m9-n2", "autoaug-m9", "rand-m9-w0-inc1", "rand-m12-inc1"):
        with pytest.raises(ValueError, match="AUG.AA_TYPE"):
            parse_rand_augment(bad)


def _identical_frames_clip(seed=0, t=4, size=32):
    rng = np.random.default_rng(seed)
    frame = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    return np.repeat(frame[None], t, axis=0)


@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic"])
def test_rand_augment_applies_the_same_op_to_every_frame(interpolation):
    augment = ClipAugment((0.45,) * 3, (0.225,) * 3, rand_augment=(2, 9.0, 0.5), interpolation=interpolation)
    changed = 0
    for seed in range(6):
        clip = _identical_frames_clip(seed)
        out = augment(clip.copy(), np.random.default_rng(seed))
        assert out.shape == clip.shape and out.dtype == np.uint8
        assert all(np.array_equal(out[0], out[k]) for k in range(1, len(out)))
        again = augment(clip.copy(), np.random.default_rng(seed))
        assert np.array_equal(out, again)  # a function of the item's generator
        changed += not np.array_equal(out, clip)
    assert changed >= 4


def test_colour_jitter_grayscale_and_erasing():
    clip = _identical_frames_clip(1)
    jitter = ClipAugment((0.45,) * 3, (0.225,) * 3, color_jitter_prob=1.0, color_jitter=0.4)
    out = jitter(clip.copy(), np.random.default_rng(0))
    assert not np.array_equal(out, clip) and all(np.array_equal(out[0], f) for f in out)
    gray = ClipAugment((0.45,) * 3, (0.225,) * 3, grayscale_prob=1.0)(clip.copy(), np.random.default_rng(0))
    assert np.array_equal(gray[..., 0], gray[..., 1]) and np.array_equal(gray[..., 1], gray[..., 2])
    erase = ClipAugment((0.45,) * 3, (0.225,) * 3, re_prob=1.0, re_mode="const", re_count=1)
    out = erase(clip.copy(), np.random.default_rng(0))
    diff = np.any(out != clip, axis=(0, 3))  # the erased box, the same on all frames
    assert diff.any() and np.all(out[:, diff] == round(0.45 * 255))


def test_clip_augment_refuses_what_it_cannot_honour():
    with pytest.raises(ValueError, match="AUG.INTERPOLATION"):
        ClipAugment((0.45,) * 3, (0.225,) * 3, interpolation="lanczos")
    with pytest.raises(ValueError, match="AUG.RE_MODE"):
        ClipAugment((0.45,) * 3, (0.225,) * 3, re_mode="noise")
