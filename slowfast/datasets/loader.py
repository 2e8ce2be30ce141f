"""DataLoaders for the engine: samplers, worker setup and a collate that keeps view ids.

Training: a ``DistributedSampler`` (one replica when not distributed) shuffled with
``RNG_SEED + epoch``, each index repeated AUG.NUM_SAMPLE times in a row (repeated
augmentation: the repeats differ only in their augmentation seed), keys carrying
``(item, epoch, repeat)`` so persistent workers need no epoch broadcast. Val/test: each rank
takes every ``world``-th sample with all its views, so every sample is seen exactly once
across ranks and nothing is padded. Call ``set_epoch(loader, epoch)`` before each epoch.
"""
import functools
import math

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler, Sampler, default_collate

from slowfast.datasets.raw_jpeg import RawBatch, RawClip, RawJpegClips, check_raw_decoding
from slowfast.datasets.registry import build_dataset


class TrainSampler(DistributedSampler):
    """This rank's shuffled share of the items, each repeated ``repeats`` times, as keys."""

    def __init__(self, dataset, num_replicas, rank, seed, repeats=1):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed)
        self.repeats = repeats

    def __iter__(self):
        for item in super().__iter__():
            for repeat in range(self.repeats):
                yield (item, self.epoch, repeat)

    def __len__(self):
        return super().__len__() * self.repeats


class EvalSampler(Sampler):
    """Samples ``rank, rank + world, ...``, each with all its views: no duplicates, no padding."""

    def __init__(self, num_samples, num_views, num_replicas=1, rank=0):
        self.items = [s * num_views + v for s in range(rank, num_samples, num_replicas) for v in range(num_views)]

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)


def collate_clips(items):
    """(clips B x C x T x H x W uint8, labels, sample index, meta of lists/tensors).

    DATA.DECODE_DEVICE cuda items carry RawClips, batched into one RawBatch for the engine.
    """
    clips, labels, index, metas = zip(*items)
    meta = {
        "video_id": [m["video_id"] for m in metas],
        "view": torch.tensor([m["view"] for m in metas], dtype=torch.long),
        "frame_indices": torch.stack([m["frame_indices"] for m in metas]),
        "bad": torch.tensor([m["bad"] for m in metas], dtype=torch.long),
        "bad_files": [list(m["bad_files"]) for m in metas],
    }
    # default_collate stacks straight into shared memory inside a worker.
    batch = RawBatch(clips) if isinstance(clips[0], RawClip) else default_collate(list(clips))
    return (batch, torch.tensor(labels, dtype=torch.long),
            torch.tensor(index, dtype=torch.long), meta)


def _init_worker(seed, worker_id):
    """Seeded global RNGs (augmentation uses per-item generators; this covers anything else).

    DataLoader already limits torch to one thread per worker. OpenCV is left alone: calling
    cv2.setNumThreads in a forked child whose parent ran OpenCV's thread pool deadlocks.
    """
    np.random.seed((seed + worker_id) % 2**32)
    torch.manual_seed(seed + worker_id)


def _distributed():
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def build_loader(cfg, split):
    """The DataLoader of ``split`` (train/val/test) for this process's rank."""
    check_raw_decoding(cfg)
    dataset = build_dataset(cfg, split)
    if cfg.DATA.DECODE_DEVICE == "cuda":
        dataset = RawJpegClips(dataset)
    rank, world = _distributed()
    training = split == "train"
    total = cfg.TRAIN.BATCH_SIZE if training else cfg.TEST.BATCH_SIZE
    per_rank = max(1, total // world)
    if training:
        repeats = cfg.AUG.NUM_SAMPLE
        if repeats < 1:
            raise ValueError(f"AUG.NUM_SAMPLE={repeats} must be >= 1")
        sampler = TrainSampler(dataset, world, rank, cfg.RNG_SEED, repeats)
        batch_size = per_rank * repeats
        if len(sampler) < batch_size:
            raise ValueError(
                f"the train split has {dataset.num_samples} samples, {math.ceil(len(dataset) / world)} per "
                f"rank: fewer than one batch of TRAIN.BATCH_SIZE={total} over {world} rank(s)"
            )
    else:
        sampler = EvalSampler(dataset.num_samples, dataset.num_views, world, rank)
        batch_size = per_rank
    workers = cfg.DATA_LOADER.NUM_WORKERS
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=workers,
        collate_fn=collate_clips,
        pin_memory=bool(cfg.DATA_LOADER.PIN_MEMORY and cfg.NUM_GPUS > 0 and torch.cuda.is_available()),
        drop_last=training,
        worker_init_fn=functools.partial(_init_worker, cfg.RNG_SEED),
        persistent_workers=bool(workers > 0 and cfg.DATA_LOADER.PERSISTENT_WORKERS),
        prefetch_factor=cfg.DATA_LOADER.PREFETCH_FACTOR if workers > 0 else None,
        # A private generator: building or iterating a loader never moves the global torch RNG.
        generator=torch.Generator().manual_seed(cfg.RNG_SEED),
    )


def set_epoch(loader, epoch):
    """Select the epoch's shuffle and augmentation seeds (the sampler carries them to workers)."""
    if hasattr(loader.sampler, "set_epoch"):
        loader.sampler.set_epoch(epoch)
