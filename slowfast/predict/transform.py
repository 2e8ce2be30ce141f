"""The engine's single-view test crop, applied frame by frame."""
import torch

from slowfast.datasets.transforms import uniform_crop


class TestCrop:
    """Short side to TEST_CROP_SIZE, centre square (PySlowFast's test crop with one spatial view)."""

    def __init__(self, size):
        self.size = size
        self._plans = {}

    def plan(self, src_w, src_h):
        if (src_w, src_h) not in self._plans:
            self._plans[(src_w, src_h)] = uniform_crop(src_w, src_h, self.size, self.size, 1)
        return self._plans[(src_w, src_h)]

    def decode_size(self, src_w, src_h):
        """The smallest decode size that keeps the crop's resolution."""
        return self.plan(src_w, src_h).decode_size(src_w, src_h)

    def __call__(self, image, src_w, src_h):
        """``image``: the source frame decoded at any size; returns C x H x W uint8."""
        out = self.plan(src_w, src_h).apply(image, src_w, src_h)
        return torch.from_numpy(out).permute(2, 0, 1)
