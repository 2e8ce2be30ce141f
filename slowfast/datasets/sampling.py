"""Which frame numbers a clip uses: pure functions of the segment, the view and a seed.

Every function returns absolute frame numbers (numpy int64, length ``num_frames``) inside
``[lo, hi]``, the frames that exist in the video; ``[start, end]`` is the annotated segment
(both inclusive). Training passes a numpy ``Generator``; evaluation passes ``rng=None`` and
a temporal ``view`` out of ``num_views``, and gets the same indices every time. Because
indices are decided before anything is decoded, only the frames used are ever read.
"""
import numpy as np
import torch

METHODS = ("segment_uniform", "stride", "random_sorted")


def _linspace_floor(first, last, num_frames, lo, hi):
    """torch.linspace in float32 then truncation: bit-identical to PySlowFast and the plug-in."""
    index = torch.linspace(first, last, num_frames)
    return torch.clamp(index, lo, hi).long().numpy()


def segment_uniform(start, end, num_frames, view=0, num_views=1):
    """The official MECCANO plug-in's rule: ``linspace(start, end, T)`` truncated.

    Short segments repeat frames. With one view this is exactly the plug-in's clip (which it
    uses for every test view); view ``k`` of ``K`` shifts the grid by ``k/K`` of a step, so
    views differ whenever the segment has frames between the grid points.
    """
    span = end - start
    step = span / (num_frames - 1) if num_frames > 1 else span
    shift = step / num_views
    first = start + view * shift
    last = end - (num_views - 1 - view) * shift
    return _linspace_floor(first, last, num_frames, start, end)


def stride(start, end, num_frames, window, lo, hi, rng=None, view=0, num_views=1, offset=False):
    """PySlowFast's rule: ``num_frames`` points spread over a ``window``-frame window.

    ``window`` is NUM_FRAMES x SAMPLING_RATE (times source fps / TARGET_FPS for videos). When
    the segment is longer than the window, training puts the window at a uniformly random
    position; evaluation uses one centred window, or for ``num_views`` views PySlowFast's
    evenly spaced starts (``k * delta / K``, or ``k * delta / (K - 1)`` with offset sampling).
    When the segment is shorter, the window is centred on it and clamped to ``[lo, hi]``.
    """
    delta = (end - start + 1) - window
    if delta < 0:
        first = start + delta / 2.0
    elif rng is not None:
        first = start + rng.uniform(0, delta)
    elif num_views == 1:
        first = start + delta / 2.0
    elif offset:
        first = start + view * delta / (num_views - 1)
    else:
        first = start + view * delta / num_views
    return _linspace_floor(first, first + window - 1, num_frames, lo, hi)


def random_sorted(start, end, num_frames, rng=None, view=0, num_views=1):
    """``num_frames`` distinct random frames in increasing order (the MobileNet+LSTM protocol).

    A segment with fewer frames than needed contributes every frame once plus random repeats.
    Evaluation takes the centre of each of ``num_frames`` equal bins; view ``k`` of ``K``
    moves the point to ``(k + 0.5) / K`` of the bin.
    """
    length = end - start + 1
    if rng is not None:
        if length >= num_frames:
            picks = rng.choice(length, size=num_frames, replace=False)
        else:
            extra = rng.choice(length, size=num_frames - length, replace=True)
            picks = np.concatenate([np.arange(length), extra])
        return start + np.sort(picks).astype(np.int64)
    position = (np.arange(num_frames) + (view + 0.5) / num_views) * length / num_frames
    return start + np.minimum(np.floor(position), length - 1).astype(np.int64)


class TemporalSampler:
    """The configured rule with its constants bound; called once per item."""

    def __init__(self, method, num_frames, sampling_rate, offset=False):
        if method not in METHODS:
            raise ValueError(f"DATA.SAMPLING_METHOD={method!r} is not one of {', '.join(METHODS)}")
        if num_frames < 1 or sampling_rate < 1:
            raise ValueError(
                f"DATA.NUM_FRAMES={num_frames} and DATA.SAMPLING_RATE={sampling_rate} must be >= 1"
            )
        self.method = method
        self.num_frames = num_frames
        self.sampling_rate = sampling_rate
        self.offset = offset

    def __call__(self, start, end, lo, hi, rng=None, view=0, num_views=1, rate_scale=1.0):
        """Indices for one clip; ``rate_scale`` stretches the stride window (source fps / target fps)."""
        if self.method == "segment_uniform":
            return segment_uniform(start, end, self.num_frames, view, num_views)
        if self.method == "random_sorted":
            return random_sorted(start, end, self.num_frames, rng, view, num_views)
        window = self.num_frames * self.sampling_rate * rate_scale
        return stride(start, end, self.num_frames, window, lo, hi, rng, view, num_views, self.offset)
