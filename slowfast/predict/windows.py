"""Which input frames each sliding window feeds to the model.

A window is treated like an annotated segment of ``span`` frames and sampled with the
config's own test-time rule (slowfast.datasets.sampling), so prediction sees clips
exactly like the engine's test. The default span is NUM_FRAMES x SAMPLING_RATE frames
at the model's rate: for a video whose fps differs from DATA.TARGET_FPS it is rescaled,
as PySlowFast does when it decodes a clip.
"""
from dataclasses import dataclass

import numpy as np

from slowfast.datasets.sampling import TemporalSampler

_NO_END = np.iinfo(np.int64).max // 4


@dataclass(frozen=True)
class WindowPlan:
    sampler: TemporalSampler
    rate_scale: float  # source fps / DATA.TARGET_FPS for videos, 1 for frame folders
    span: int  # input frames a window covers
    stride: int  # input frames between the starts of two windows

    def indices(self, start, total=None):
        """Frame indices of the window starting at ``start``, clamped to the input's frames."""
        hi = _NO_END if total is None else total - 1
        idx = self.sampler(start, start + self.span - 1, 0, hi, rate_scale=self.rate_scale)
        return [int(i) for i in np.minimum(idx, hi)]

    def count(self, total):
        """Number of windows for ``total`` frames: one short window if the input is shorter."""
        if total <= 0:
            return 0
        return 1 if total < self.span else (total - self.span) // self.stride + 1


def make_plan(cfg, source_fps=None, span=None, stride=None):
    """The plan for ``cfg``'s sampling; ``source_fps`` (videos only) rescales the span,
    ``span`` overrides the window length, ``stride`` defaults to half a window."""
    data = cfg.DATA
    sampler = TemporalSampler(data.SAMPLING_METHOD, data.NUM_FRAMES, data.SAMPLING_RATE)
    scale = source_fps / data.TARGET_FPS if source_fps else 1.0
    span = span or max(1, round(data.NUM_FRAMES * data.SAMPLING_RATE * scale))
    stride = stride or max(1, span // 2)
    if span < 1 or stride < 1:
        raise ValueError(f"window span and stride must be >= 1 frame, got {span} and {stride}")
    return WindowPlan(sampler=sampler, rate_scale=scale, span=span, stride=stride)
