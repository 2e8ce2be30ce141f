"""Mixup / CutMix on normalised clips, with label-smoothed soft targets (PySlowFast's MIXUP.*).

Each batch is mixed with itself reversed along the batch axis. The random draws come from a
generator the caller seeds from (RNG_SEED, epoch, iteration), so a resumed run mixes exactly
as an uninterrupted one.
"""
import numpy as np

from slowfast.engine.losses import one_hot


class MixUp:
    def __init__(self, mixup_alpha, cutmix_alpha, prob, switch_prob, label_smoothing, num_classes):
        if mixup_alpha <= 0 and cutmix_alpha <= 0:
            raise ValueError("MIXUP.ENABLE needs MIXUP.ALPHA > 0 or MIXUP.CUTMIX_ALPHA > 0")
        self.mixup_alpha = mixup_alpha
        self.cutmix_alpha = cutmix_alpha
        self.prob = prob
        self.switch_prob = switch_prob
        self.label_smoothing = label_smoothing
        self.num_classes = num_classes

    @classmethod
    def from_cfg(cls, cfg):
        m = cfg.MIXUP
        return cls(m.ALPHA, m.CUTMIX_ALPHA, m.PROB, m.SWITCH_PROB, m.LABEL_SMOOTH_VALUE, cfg.MODEL.NUM_CLASSES)

    def _draw(self, rng):
        """Return (lam, use_cutmix); lam = 1 means no mixing for this batch."""
        if rng.random() >= self.prob:
            return 1.0, False
        if self.mixup_alpha > 0 and self.cutmix_alpha > 0:
            use_cutmix = rng.random() < self.switch_prob
        else:
            use_cutmix = self.cutmix_alpha > 0
        alpha = self.cutmix_alpha if use_cutmix else self.mixup_alpha
        return float(rng.beta(alpha, alpha)), use_cutmix

    @staticmethod
    def _box(rng, height, width, lam):
        """A box covering about 1 - lam of the frame, centred uniformly, clipped at the borders."""
        ratio = np.sqrt(1.0 - lam)
        cut_h, cut_w = int(height * ratio), int(width * ratio)
        cy, cx = rng.integers(0, height), rng.integers(0, width)
        y0, y1 = np.clip([cy - cut_h // 2, cy + cut_h // 2], 0, height)
        x0, x1 = np.clip([cx - cut_w // 2, cx + cut_w // 2], 0, width)
        return int(y0), int(y1), int(x0), int(x1)

    def __call__(self, x, labels, rng):
        """Mix ``x`` (B x C x T x H x W float) in place; return (x, soft targets B x K)."""
        if x.shape[0] < 2:
            raise ValueError("mixup needs a per-process batch of at least 2 clips")
        lam, use_cutmix = self._draw(rng)
        if lam < 1.0:
            if use_cutmix:
                height, width = x.shape[-2:]
                y0, y1, x0, x1 = self._box(rng, height, width, lam)
                x[..., y0:y1, x0:x1] = x.flip(0)[..., y0:y1, x0:x1]
                lam = 1.0 - (y1 - y0) * (x1 - x0) / float(height * width)
            else:
                flipped = x.flip(0)
                x.mul_(lam).add_(flipped, alpha=1.0 - lam)
        target = one_hot(labels, self.num_classes, self.label_smoothing)
        return x, target * lam + target.flip(0) * (1.0 - lam)
