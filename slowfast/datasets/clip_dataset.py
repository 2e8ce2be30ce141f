"""What every clip dataset shares: items, views, seeds, augmentation and bad-input handling.

A subclass lists its samples (``sample_labels``, ``class_names``, ``video_id(i)``) and
implements ``_load(sample, rng, temporal_view, spatial_view)`` -> (frames, frame_indices),
frames being a list of equal-size H x W x 3 uint8 arrays. This class turns an item key into
``(clip, label, index, meta)``:

* Item ``i`` is view ``i % num_views`` of sample ``i // num_views``; a test view ``v`` is
  temporal position ``v // NUM_SPATIAL_CROPS`` and spatial crop ``v % NUM_SPATIAL_CROPS``.
* Training keys are ``(item, epoch, repeat)`` tuples from the sampler (a bare int means
  epoch 0, repeat 0); every random choice comes from a generator seeded with
  ``(RNG_SEED, epoch, sample, repeat, attempt)``, never from worker or process state.
* A ``BadInputError`` in training is logged, counted in ``meta["bad"]`` and the item is
  replaced by a seeded random other sample; in val/test it propagates.
"""
import logging

import numpy as np
import torch

from slowfast.datasets.augment import ClipAugment
from slowfast.datasets.errors import BadInputError
from slowfast.datasets.sampling import TemporalSampler
from slowfast.datasets.transforms import SpatialSampler

logger = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


class ClipDataset(torch.utils.data.Dataset):
    """Base class; see the module docstring for the contract with subclasses."""

    # Replacement attempts before a training item gives up (only with mostly broken data).
    MAX_ATTEMPTS = 10

    def __init__(self, cfg, split):
        if split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
        self.split = split
        self.training = split == "train"
        self.seed = cfg.RNG_SEED
        self.num_classes = cfg.MODEL.NUM_CLASSES
        self.temporal = TemporalSampler(cfg.DATA.SAMPLING_METHOD, cfg.DATA.NUM_FRAMES,
                                        cfg.DATA.SAMPLING_RATE, cfg.DATA.USE_OFFSET_SAMPLING)
        num_crops = cfg.TEST.NUM_SPATIAL_CROPS if split == "test" else 1
        self.spatial = SpatialSampler(
            split, cfg.DATA.TRAIN_JITTER_SCALES, cfg.DATA.TRAIN_CROP_SIZE, cfg.DATA.TEST_CROP_SIZE,
            num_crops, cfg.DATA.RANDOM_FLIP, cfg.DATA.INV_UNIFORM_SAMPLE,
            cfg.DATA.TRAIN_JITTER_SCALES_RELATIVE, cfg.DATA.TRAIN_JITTER_ASPECT_RELATIVE,
        )
        self.augment = ClipAugment.from_cfg(cfg) if self.training else None
        if split == "test":
            if cfg.TEST.NUM_ENSEMBLE_VIEWS < 1:
                raise ValueError(f"TEST.NUM_ENSEMBLE_VIEWS={cfg.TEST.NUM_ENSEMBLE_VIEWS} must be >= 1")
            self.num_temporal_views = cfg.TEST.NUM_ENSEMBLE_VIEWS
            self.num_spatial_crops = num_crops
        else:
            self.num_temporal_views = self.num_spatial_crops = 1
        self.num_views = self.num_temporal_views * self.num_spatial_crops
        self.sample_labels = []
        self.class_names = []

    # ---- the subclass contract ------------------------------------------------------
    def video_id(self, sample):
        raise NotImplementedError

    def _load(self, sample, rng, temporal_view, spatial_view):
        raise NotImplementedError

    # ---- shared behaviour ------------------------------------------------------------
    @property
    def num_samples(self):
        return len(self.sample_labels)

    def __len__(self):
        return self.num_samples * self.num_views

    def _check_classes(self, source):
        """class_names must match MODEL.NUM_CLASSES: the head size and the names go together."""
        if len(self.class_names) != self.num_classes:
            raise ValueError(
                f"{source} names {len(self.class_names)} classes but MODEL.NUM_CLASSES="
                f"{self.num_classes}; set MODEL.NUM_CLASSES {len(self.class_names)}"
            )

    def read_item(self, key, read):
        """Resolve a sampler key and call ``read(sample, rng, temporal_view, spatial_view)``.

        ``read`` returns ``(payload, frame_indices)``. In training an unreadable sample is
        replaced by a seeded pick and counted; in evaluation the error propagates. Returns
        ``(payload, rng, sample_id, meta)``; every loading path (decoded frames, raw JPEG
        bytes) goes through here so they make identical choices.
        """
        item, epoch, repeat = key if isinstance(key, tuple) else (key, 0, 0)
        if not 0 <= item < len(self):
            raise IndexError(f"item {item} out of range for {len(self)} items")
        sample, view = divmod(item, self.num_views)
        temporal_view, spatial_view = divmod(view, self.num_spatial_crops)
        bad_files = []
        current = sample
        for attempt in range(self.MAX_ATTEMPTS):
            rng = np.random.default_rng([self.seed, epoch, sample, repeat, attempt]) if self.training else None
            try:
                payload, indices = read(current, rng, temporal_view, spatial_view)
                break
            except BadInputError as e:
                if not self.training:
                    raise
                logger.warning("bad input, training item replaced by another sample: %s", e)
                bad_files.append(e.path)
                current = int(rng.integers(self.num_samples))
        else:
            raise BadInputError(bad_files[-1], f"{self.MAX_ATTEMPTS} samples in a row were unreadable")
        meta = {
            "video_id": self.video_id(current),
            "view": view,
            "frame_indices": torch.as_tensor(np.asarray(indices), dtype=torch.long),
            "bad": len(bad_files),
            "bad_files": bad_files,
        }
        return payload, rng, current, meta

    def __getitem__(self, key):
        frames, rng, current, meta = self.read_item(key, self._load)
        clip = np.stack(frames)
        if self.augment is not None:
            clip = self.augment(clip, rng)
        clip = torch.from_numpy(np.ascontiguousarray(clip)).permute(3, 0, 1, 2)
        return clip, self.sample_labels[current], current, meta
