"""Each temporal sampling rule against indices worked out by hand."""
import csv
import os

import numpy as np
import pytest
import torch

from slowfast.datasets.meccano import DEFAULT_ANNOTATIONS
from slowfast.datasets.sampling import TemporalSampler, random_sorted, segment_uniform, stride


def test_segment_uniform_by_hand():
    assert segment_uniform(0, 9, 4).tolist() == [0, 3, 6, 9]
    # 3-frame segment, 8 frames: linspace 5, 5.29, 5.57, 5.86, 6.14, 6.43, 6.71, 7.
    assert segment_uniform(5, 7, 8).tolist() == [5, 5, 5, 5, 6, 6, 6, 7]
    assert segment_uniform(12, 12, 4).tolist() == [12, 12, 12, 12]  # 1-frame segment
    assert segment_uniform(30, 40, 1).tolist() == [30]


def test_segment_uniform_views_shift_by_a_fraction_of_a_step():
    # step 3, two views shifted by 1.5: linspace(0, 7.5, 4) and linspace(1.5, 9, 4).
    assert segment_uniform(0, 9, 4, view=0, num_views=2).tolist() == [0, 2, 5, 7]
    assert segment_uniform(0, 9, 4, view=1, num_views=2).tolist() == [1, 4, 6, 9]
    # A 1-frame segment cannot differ: every view is that frame.
    assert segment_uniform(8, 8, 3, view=2, num_views=3).tolist() == [8, 8, 8]


def test_segment_uniform_equals_official_plugin_on_every_official_row():
    """The plug-in: torch.linspace(start, end, T), clamp(0, end), .long() on ints parsed from names."""
    for split in ("train", "val", "test"):
        with open(os.path.join(DEFAULT_ANNOTATIONS, f"MECCANO_{split}_actions.csv"), newline="") as f:
            for row in csv.DictReader(f):
                start, end = int(row["start_frame"][:-4]), int(row["end_frame"][:-4])
                official = torch.clamp(torch.linspace(start, end, 32), 0, end).long().numpy()
                assert np.array_equal(segment_uniform(start, end, 32), official), row


def test_stride_eval_views_by_hand():
    # Segment 100..199 (100 frames), window 8 x 4 = 32, delta 68.
    centred = stride(100, 199, 8, 32, 1, 500)  # first = 134, linspace(134, 165, 8)
    assert centred.tolist() == [134, 138, 142, 147, 151, 156, 160, 165]
    # PySlowFast: view k of 3 starts at k * 68 / 3; k = 1 -> linspace(122.67, 153.67, 8).
    assert stride(100, 199, 8, 32, 1, 500, view=1, num_views=3).tolist() == [122, 127, 131, 135, 140, 144, 149, 153]
    assert stride(100, 199, 8, 32, 1, 500, view=0, num_views=3).tolist()[0] == 100
    # Offset sampling: view 2 of 3 starts at 2 * 68 / 2 = 68 -> the window ends at the segment end.
    assert stride(100, 199, 8, 32, 1, 500, view=2, num_views=3, offset=True).tolist() == [
        168, 172, 176, 181, 185, 190, 194, 199]


def test_stride_short_segment_is_centred_and_clamped_at_the_video_end():
    # Segment 95..99 of a 100-frame video, window 32: first = 95 - 27/2 = 81.5, linspace(81.5, 112.5, 8).
    assert stride(95, 99, 8, 32, 1, 100).tolist() == [81, 85, 90, 94, 99, 100, 100, 100]
    # 1-frame segment 50, window 16: linspace(42.5, 57.5, 4).
    assert stride(50, 50, 4, 16, 1, 60).tolist() == [42, 47, 52, 57]
    # Segment 1..2 at the start: first = 1 - 14/2 = -6, linspace(-6, 9, 4) clamped to frame 1.
    assert stride(1, 2, 4, 16, 1, 60).tolist() == [1, 1, 4, 9]


def test_stride_training_window_is_random_inside_the_segment():
    starts = set()
    for seed in range(20):
        idx = stride(100, 199, 8, 32, 1, 500, rng=np.random.default_rng(seed))
        assert 100 <= idx[0] and idx[-1] <= 199 and idx[-1] - idx[0] in (30, 31)
        assert np.array_equal(idx, stride(100, 199, 8, 32, 1, 500, rng=np.random.default_rng(seed)))
        starts.add(int(idx[0]))
    assert len(starts) > 5


def test_random_sorted_training():
    for seed in range(10):
        idx = random_sorted(10, 29, 8, rng=np.random.default_rng(seed))
        assert len(set(idx.tolist())) == 8 and np.all(np.diff(idx) > 0)
        assert idx.min() >= 10 and idx.max() <= 29
    short = random_sorted(4, 6, 5, rng=np.random.default_rng(0))  # 3 frames for 5 slots
    assert set(short.tolist()) == {4, 5, 6} and np.all(np.diff(short) >= 0)


def test_random_sorted_eval_by_hand():
    # Bin centres (i + 0.5) * 10 / 4 = 1.25, 3.75, 6.25, 8.75.
    assert random_sorted(0, 9, 4).tolist() == [1, 3, 6, 8]
    assert random_sorted(0, 9, 4, view=0, num_views=2).tolist() == [0, 3, 5, 8]
    assert random_sorted(0, 9, 4, view=1, num_views=2).tolist() == [1, 4, 6, 9]
    assert random_sorted(7, 7, 3).tolist() == [7, 7, 7]


def test_sampler_stretches_the_stride_window_with_the_fps_ratio():
    sampler = TemporalSampler("stride", 4, 2, offset=False)
    # window 4 x 2 x (60 / 30) = 16 over a 100-frame video, centred: linspace(42, 57, 4).
    assert sampler(0, 99, 0, 99, rate_scale=2.0).tolist() == [42, 47, 52, 57]
    with pytest.raises(ValueError, match="DATA.SAMPLING_METHOD"):
        TemporalSampler("dense", 4, 2)
