"""Work items for the loader benchmark's process pool, in a module that does not import torch.

Pool children are spawned (a forked child calling cv2.setNumThreads can deadlock), so they
import this module afresh; keeping it light keeps start-up out of the way. Each job returns
the CPU seconds it used, which other jobs on a shared machine do not inflate.
"""
import time

import cv2
import numpy as np

from slowfast.datasets.frames import decode_jpeg, read_bytes


def init_worker():
    cv2.setNumThreads(1)


def decode(job):
    """Read + decode one frame, full size (0, 0) or reduced to at least (min_w, min_h)."""
    start = time.process_time()
    path, min_w, min_h = job
    decode_jpeg(read_bytes(path), path, min_w, min_h)
    return time.process_time() - start


def naive_clip(job):
    """The plug-in's order of work: every frame of the range at full size, then sample and resize."""
    start = time.process_time()
    paths, picks, short_side, crop, seed = job
    frames = [cv2.cvtColor(cv2.imread(p, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB) for p in paths]
    rng = np.random.default_rng(seed)
    for k in picks:
        img = frames[k]
        h, w = img.shape[:2]
        scale = short_side / min(h, w)
        img = cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        y = int(rng.integers(0, img.shape[0] - crop + 1))
        x = int(rng.integers(0, img.shape[1] - crop + 1))
        np.ascontiguousarray(img[y:y + crop, x:x + crop])
    return time.process_time() - start
