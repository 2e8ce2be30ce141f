"""`benchmark.py loader`: clips/s of the real loader against its decode ceiling and the naive path.

All three run in one process tree on the same clips (same segments, same frame indices),
with the same number of worker processes:

* loader: ``build_loader(cfg, split)`` as training uses it (first batch excluded);
* decode ceiling: only read + decode of the distinct frames of those clips, full size and at
  the reduced size the loader would ask for, in a process pool (no crop, resize, IPC);
* naive: what the official MECCANO plug-in does, optimistically: decode every frame of the
  segment at full size (cv2.imread), then pick the clip's frames, short-side resize with
  INTER_AREA and crop.

Without ``--data``, MECCANO-format frames are generated once at ``--size`` (default
1920x1080) with segment lengths drawn from the official train split (capped, so the naive
figure is if anything optimistic) and reused from ``--work-dir``.
"""
import argparse
import csv
import json
import os
import platform
import tempfile
import time
from multiprocessing import get_context

import numpy as np

from slowfast.benchmarks import decode_jobs
from slowfast.config import load_config
from slowfast.datasets.frames import jpeg_size, read_bytes
from slowfast.datasets.loader import build_loader, set_epoch
from slowfast.datasets.meccano import DEFAULT_ANNOTATIONS, Meccano
from slowfast.datasets.synthetic import make_meccano_like

MAX_SEGMENT = 128


def _parse_size(text):
    width, height = (int(v) for v in text.lower().split("x"))
    return width, height


def parse_args(argv):
    p = argparse.ArgumentParser(prog="benchmark.py loader", description=__doc__.strip().splitlines()[0])
    p.add_argument("--cfg", required=True, help="YAML config (its DATA/TRAIN/TEST settings are used)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--split", default="train", choices=("train", "val", "test"))
    p.add_argument("--workers", type=int, default=2, help="loader workers = pool processes")
    p.add_argument("--batch-size", type=int, default=4, help="per-step batch size")
    p.add_argument("--clips", type=int, default=64, help="clips timed through the loader")
    p.add_argument("--naive-clips", type=int, default=16, help="clips timed on the naive path")
    p.add_argument("--data", default=None, help="existing MECCANO-format data dir (default: synthetic)")
    p.add_argument("--size", type=_parse_size, default=(1920, 1080), help="synthetic frame size WxH")
    p.add_argument("--segments", type=int, default=48, help="synthetic segments (train split)")
    p.add_argument("--work-dir", default=None, help="where synthetic data is kept between runs")
    p.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides")
    return p.parse_args(argv)


def _meccano_lengths():
    """Segment lengths of the official train split, capped at MAX_SEGMENT frames."""
    with open(os.path.join(DEFAULT_ANNOTATIONS, "MECCANO_train_actions.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    lengths = [int(r["end_frame"][:-4]) - int(r["start_frame"][:-4]) + 1 for r in rows]
    return np.minimum(lengths, MAX_SEGMENT)


def synthetic_data(size, segments, work_dir):
    """Generate (once) MECCANO-format frames: 5 recordings, ``segments`` train segments."""
    work_dir = work_dir or os.path.join(tempfile.gettempdir(), f"slowfast_bench_{size[0]}x{size[1]}_{segments}")
    ann = os.path.join(work_dir, "annotations")
    if not os.path.isfile(os.path.join(ann, "MECCANO_test_actions.csv")):
        per_video = max(1, segments // 3)
        make_meccano_like(work_dir, classes=8, videos=5, size=size, seed=0, segments_per_video=per_video,
                          length_pool=_meccano_lengths())
    return work_dir, ann


def _timed_map(pool, workers, fn, jobs):
    """Seconds for the pool to run ``jobs`` (after a warm-up of one job per process)."""
    pool.map(fn, jobs[:workers], chunksize=1)
    start = time.perf_counter()
    pool.map(fn, jobs, chunksize=1)
    return time.perf_counter() - start


def time_loader(cfg, split, clips):
    """(clips/s, [(sample, frame indices)]) over at least ``clips`` clips after the first batch."""
    loader = build_loader(cfg, split)
    seen, count, epoch, start = [], 0, 0, None
    while count < clips:
        set_epoch(loader, epoch)
        for batch in loader:
            if start is None:
                start = time.perf_counter()
                continue
            count += batch[0].shape[0]
            seen += list(zip(batch[2].tolist(), batch[3]["frame_indices"].tolist()))
            if count >= clips:
                break
        epoch += 1
    rate = count / (time.perf_counter() - start)
    del loader
    return rate, seen


def _needed_short_side(cfg, split, rng):
    if split == "train":
        if cfg.DATA.TRAIN_JITTER_SCALES_RELATIVE:
            return cfg.DATA.TRAIN_CROP_SIZE
        return int(round(rng.uniform(*cfg.DATA.TRAIN_JITTER_SCALES)))
    return cfg.DATA.TRAIN_JITTER_SCALES[0] if split == "val" else cfg.DATA.TEST_CROP_SIZE


def run(args):
    opts = list(args.opts) + ["NUM_SHARDS", "1", "DATA_LOADER.NUM_WORKERS", str(args.workers),
                              "TRAIN.BATCH_SIZE", str(args.batch_size), "TEST.BATCH_SIZE", str(args.batch_size),
                              "NUM_GPUS", "0"]
    data_dir = args.data
    if data_dir is None:
        data_dir, ann = synthetic_data(args.size, args.segments, args.work_dir)
        opts += ["DATA.PATH_TO_ANNOTATIONS", ann, "MODEL.NUM_CLASSES", "8"]
    opts += ["DATA.PATH_TO_DATA_DIR", data_dir, "TRAIN.DATASET", "meccano", "TEST.DATASET", "meccano"]
    cfg = load_config(args.cfg, opts)
    dataset = Meccano(cfg, args.split)
    loader_rate, seen = time_loader(cfg, args.split, args.clips)

    rng = np.random.default_rng(0)
    reduced, full, naive, distinct = [], [], [], []
    for k, (sample, indices) in enumerate(seen):
        seg = dataset.segments[sample]
        paths = {n: dataset.frame_path(seg.video, n) for n in sorted(set(indices))}
        distinct.append(len(paths))
        first = next(iter(paths.values()))
        src_w, src_h = jpeg_size(read_bytes(first), first)
        short = _needed_short_side(cfg, args.split, rng)
        min_w, min_h = round(src_w * short / min(src_w, src_h)), round(src_h * short / min(src_w, src_h))
        reduced += [(p, min_w, min_h) for p in paths.values()]
        full += [(p, 0, 0) for p in paths.values()]
        if k < args.naive_clips:
            lo, hi = min(min(indices), seg.start), max(max(indices), seg.end)
            span = [dataset.frame_path(seg.video, n) for n in range(lo, hi + 1)]
            picks = [n - lo for n in indices]
            crop = cfg.DATA.TRAIN_CROP_SIZE if args.split == "train" else cfg.DATA.TEST_CROP_SIZE
            naive.append((span, picks, max(short, crop), crop, k))
    n = len(seen)
    with get_context("spawn").Pool(args.workers, initializer=decode_jobs.init_worker) as pool:
        reduced_s = _timed_map(pool, args.workers, decode_jobs.decode, reduced)
        full_s = _timed_map(pool, args.workers, decode_jobs.decode, full)
        naive_s = _timed_map(pool, args.workers, decode_jobs.naive_clip, naive)
    result = {
        "cfg": args.cfg,
        "split": args.split,
        "workers": args.workers,
        "frame_size": list(jpeg_size(read_bytes(reduced[0][0]), reduced[0][0])),
        "num_frames": cfg.DATA.NUM_FRAMES,
        "sampling": cfg.DATA.SAMPLING_METHOD,
        "crop": cfg.DATA.TRAIN_CROP_SIZE if args.split == "train" else cfg.DATA.TEST_CROP_SIZE,
        "clips": n,
        "distinct_frames_per_clip": float(np.mean(distinct)),
        "naive_frames_per_clip": float(np.mean([len(j[0]) for j in naive])),
        "loader_clips_per_s": loader_rate,
        "decode_full_img_per_s": len(full) / full_s,
        "decode_reduced_img_per_s": len(reduced) / reduced_s,
        "ceiling_full_clips_per_s": n / full_s,
        "ceiling_reduced_clips_per_s": n / reduced_s,
        "naive_clips_per_s": len(naive) / naive_s,
        "cpu_count": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
    }
    result["loader_vs_reduced_ceiling"] = result["loader_clips_per_s"] / result["ceiling_reduced_clips_per_s"]
    result["loader_vs_naive"] = result["loader_clips_per_s"] / result["naive_clips_per_s"]
    return result


def main(argv=None):
    args = parse_args(argv or [])
    result = run(args)
    if args.json:
        print(json.dumps(result))
        return 0
    rows = [
        ("loader (clips/s)", result["loader_clips_per_s"]),
        ("decode ceiling, reduced size (clips/s)", result["ceiling_reduced_clips_per_s"]),
        ("decode ceiling, full size (clips/s)", result["ceiling_full_clips_per_s"]),
        ("naive: decode whole segment, then sample (clips/s)", result["naive_clips_per_s"]),
        ("decode reduced (img/s)", result["decode_reduced_img_per_s"]),
        ("decode full (img/s)", result["decode_full_img_per_s"]),
        ("loader / reduced ceiling", result["loader_vs_reduced_ceiling"]),
        ("loader / naive", result["loader_vs_naive"]),
    ]
    print(f"{result['cfg']} [{result['split']}], {result['workers']} workers, frames "
          f"{result['frame_size'][0]}x{result['frame_size'][1]}, {result['num_frames']} frames "
          f"({result['distinct_frames_per_clip']:.1f} distinct) per clip, crop {result['crop']}")
    for name, value in rows:
        print(f"  {name:<52} {value:8.2f}")
    return 0
