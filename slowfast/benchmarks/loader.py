"""`benchmark.py loader`: clips/s of the real loader against its decode ceiling and the naive path.

All three run in one process tree on the same clips (same segments, same frame indices),
with the same number of worker processes:

* loader: ``build_loader(cfg, split)`` as training uses it (prefetched batches excluded);
* decode ceiling: only read + decode of the distinct frames of those clips, full size and at
  the reduced size the loader would ask for, in a process pool (no crop, resize, IPC);
* naive: what the official MECCANO plug-in does, optimistically: decode every frame of the
  segment at full size (cv2.imread), then pick the clip's frames, short-side resize with
  INTER_AREA and crop.

Each figure is a median over ``--rounds`` interleaved rounds. Besides clips/s, CPU time per
clip is reported (process tree for the loader, per-job process time for the pool), because
on a machine shared with other jobs wall-clock rates mostly measure the neighbours.

Without ``--data``, MECCANO-format frames are generated once at ``--size`` (default
1920x1080) with segment lengths drawn from the official train split (capped, so the naive
figure is if anything optimistic) and reused from ``--work-dir``.
"""
import argparse
import csv
import json
import os
import platform
import sys
import tempfile
import time
from multiprocessing import get_context

import numpy as np
import psutil

from slowfast.benchmarks import decode_jobs
from slowfast.config import ConfigError, load_config
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
    p.add_argument("--clips", type=int, default=48, help="clips timed through the loader per round")
    p.add_argument("--naive-clips", type=int, default=12, help="clips timed on the naive path per round")
    p.add_argument("--rounds", type=int, default=3, help="interleaved measurement rounds (medians reported)")
    p.add_argument("--data", default=None, help="existing MECCANO-format data dir (default: synthetic)")
    p.add_argument("--size", type=_parse_size, default=(1920, 1080), help="synthetic frame size WxH")
    p.add_argument("--segments", type=int, default=48, help="synthetic segments (train split)")
    p.add_argument("--work-dir", default=None, help="where synthetic data is kept between runs")
    p.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides (after all options)")
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
    """(wall seconds, CPU seconds) for the pool to run ``jobs`` (after one warm-up job per process)."""
    pool.map(fn, jobs[:workers], chunksize=1)
    start = time.perf_counter()
    cpu = sum(pool.map(fn, jobs, chunksize=1))
    return time.perf_counter() - start, cpu


def _tree_cpu():
    """CPU seconds used so far by this process and its children (loader workers included)."""
    total = 0.0
    me = psutil.Process()
    for proc in [me] + me.children(recursive=True):
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def endless_batches(loader):
    """Batches forever, epoch after epoch (set_epoch as the engine does)."""
    epoch = 0
    while True:
        set_epoch(loader, epoch)
        yield from loader
        epoch += 1


def time_loader(batches, clips, skip):
    """(clips/s, CPU s, [(sample, frame indices)]) over ``clips`` clips after ``skip`` untimed batches.

    Skipping drains what the workers prefetched while something else was being timed.
    """
    for _ in range(skip):
        next(batches)
    seen, start, cpu = [], time.perf_counter(), _tree_cpu()
    while len(seen) < clips:
        batch = next(batches)
        seen += list(zip(batch[2].tolist(), batch[3]["frame_indices"].tolist()))
    return len(seen) / (time.perf_counter() - start), _tree_cpu() - cpu, seen


def _needed_short_side(cfg, split, rng):
    if split == "train":
        if cfg.DATA.TRAIN_JITTER_SCALES_RELATIVE:
            return cfg.DATA.TRAIN_CROP_SIZE
        return int(round(rng.uniform(*cfg.DATA.TRAIN_JITTER_SCALES)))
    return cfg.DATA.TRAIN_JITTER_SCALES[0] if split == "val" else cfg.DATA.TEST_CROP_SIZE


def pool_jobs(cfg, split, dataset, seen, naive_clips, rng):
    """Decode jobs (reduced, full) for the distinct frames of ``seen``, naive jobs for the first clips."""
    crop = cfg.DATA.TRAIN_CROP_SIZE if split == "train" else cfg.DATA.TEST_CROP_SIZE
    reduced, full, naive, distinct = [], [], [], []
    for k, (sample, indices) in enumerate(seen):
        seg = dataset.segments[sample]
        paths = [dataset.frame_path(seg.video, n) for n in sorted(set(indices))]
        distinct.append(len(paths))
        src_w, src_h = jpeg_size(read_bytes(paths[0]), paths[0])
        short = _needed_short_side(cfg, split, rng)
        scale = short / min(src_w, src_h)
        reduced += [(p, round(src_w * scale), round(src_h * scale)) for p in paths]
        full += [(p, 0, 0) for p in paths]
        if k < naive_clips:
            lo, hi = min(min(indices), seg.start), max(max(indices), seg.end)
            span = [dataset.frame_path(seg.video, n) for n in range(lo, hi + 1)]
            naive.append((span, [n - lo for n in indices], max(short, crop), crop, k))
    return reduced, full, naive, distinct


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
    loader = build_loader(cfg, args.split)
    batches = endless_batches(loader)
    skip = 1 + args.workers * cfg.DATA_LOADER.PREFETCH_FACTOR
    rng = np.random.default_rng(0)
    rounds = []
    # Rounds interleave the four measurements, so a load change on a shared machine hits all of them.
    with get_context("spawn").Pool(args.workers, initializer=decode_jobs.init_worker) as pool:
        for _ in range(args.rounds):
            loader_rate, loader_cpu, seen = time_loader(batches, args.clips, skip)
            reduced, full, naive, distinct = pool_jobs(cfg, args.split, dataset, seen, args.naive_clips, rng)
            reduced_s, reduced_cpu = _timed_map(pool, args.workers, decode_jobs.decode, reduced)
            full_s, full_cpu = _timed_map(pool, args.workers, decode_jobs.decode, full)
            naive_s, naive_cpu = _timed_map(pool, args.workers, decode_jobs.naive_clip, naive)
            n = len(seen)
            r = {
                "loader_clips_per_s": loader_rate,
                "decode_full_img_per_s": len(full) / full_s,
                "decode_reduced_img_per_s": len(reduced) / reduced_s,
                "ceiling_full_clips_per_s": n / full_s,
                "ceiling_reduced_clips_per_s": n / reduced_s,
                "naive_clips_per_s": len(naive) / naive_s,
                "loader_cpu_ms_per_clip": 1000 * loader_cpu / n,
                "ceiling_reduced_cpu_ms_per_clip": 1000 * reduced_cpu / n,
                "ceiling_full_cpu_ms_per_clip": 1000 * full_cpu / n,
                "naive_cpu_ms_per_clip": 1000 * naive_cpu / len(naive),
                "distinct_frames_per_clip": float(np.mean(distinct)),
                "naive_frames_per_clip": float(np.mean([len(j[0]) for j in naive])),
            }
            r["loader_vs_reduced_ceiling"] = r["loader_clips_per_s"] / r["ceiling_reduced_clips_per_s"]
            r["loader_vs_naive"] = r["loader_clips_per_s"] / r["naive_clips_per_s"]
            # The same comparisons in CPU time per clip, which a busy machine distorts far less
            # (None when the window was too short to register loader CPU time: tiny data).
            loader_ms = r["loader_cpu_ms_per_clip"]
            r["cpu_reduced_ceiling_vs_loader"] = r["ceiling_reduced_cpu_ms_per_clip"] / loader_ms if loader_ms else None
            r["cpu_naive_vs_loader"] = r["naive_cpu_ms_per_clip"] / loader_ms if loader_ms else None
            rounds.append(r)
    del batches, loader
    result = {
        "cfg": args.cfg,
        "split": args.split,
        "workers": args.workers,
        "frame_size": list(jpeg_size(read_bytes(reduced[0][0]), reduced[0][0])),
        "num_frames": cfg.DATA.NUM_FRAMES,
        "sampling": cfg.DATA.SAMPLING_METHOD,
        "crop": cfg.DATA.TRAIN_CROP_SIZE if args.split == "train" else cfg.DATA.TEST_CROP_SIZE,
        "clips_per_round": args.clips,
        "cpu_count": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
    }
    # Medians over rounds; the ratios are medians of per-round ratios (same-round figures).
    for key in rounds[0]:
        values = [r[key] for r in rounds if r[key] is not None]
        result[key] = float(np.median(values)) if values else None
    result["rounds"] = rounds
    return result


def main(argv=None):
    args = parse_args(argv or [])
    try:
        result = run(args)
    except ConfigError as e:
        print(f"Config error: {e}", file=sys.stderr)
        return 2
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
        ("CPU ms per clip: loader", result["loader_cpu_ms_per_clip"]),
        ("CPU ms per clip: reduced-size decode only", result["ceiling_reduced_cpu_ms_per_clip"]),
        ("CPU ms per clip: full-size decode only", result["ceiling_full_cpu_ms_per_clip"]),
        ("CPU ms per clip: naive", result["naive_cpu_ms_per_clip"]),
        ("CPU: reduced ceiling / loader", result["cpu_reduced_ceiling_vs_loader"]),
        ("CPU: naive / loader", result["cpu_naive_vs_loader"]),
    ]
    print(f"{result['cfg']} [{result['split']}], {result['workers']} workers, {len(result['rounds'])} rounds "
          f"(medians), frames "
          f"{result['frame_size'][0]}x{result['frame_size'][1]}, {result['num_frames']} frames "
          f"({result['distinct_frames_per_clip']:.1f} distinct) per clip, crop {result['crop']}")
    for name, value in rows:
        print(f"  {name:<52} {value:8.2f}" if value is not None else f"  {name:<52}      n/a")
    return 0
