"""`benchmark.py train`: end-to-end training steps/s, data loading included, on frames on disk.

Training runs through the engine's own pieces (build_model, prepare_model, build_optimizer,
InputPrep, build_loader and Trainer's step) on MECCANO-format JPEG frames generated once at
``--size`` (default the real 1920x1080). Each worker process times two things on the same
model, so their ratio shows whether the data pipeline keeps up:

* end-to-end: ``--steps`` steps, each waiting for the loader's next batch (the time spent
  waiting is reported as ``data_wait_frac``);
* compute only: ``--steps`` steps re-using one batch already in memory (no loading).

End-to-end runs first, after a warm-up that also drains the batches queued while the model
started; synthetic train lists are repeated so that an epoch keeps every worker busy.

``--compare KEY=VAL[,KEY=VAL]`` adds a variant. Every (round, variant) runs in a fresh
process, rounds interleave the variants, and ratios to the base are medians of same-round
ratios: on a shared machine only those are meaningful.

    python tools/benchmark.py train --cfg configs/meccano/SLOWFAST_8x8_R50.yaml --batch 16 \
        --compare MODEL.CHANNELS_LAST=True --compare TRAIN.MIXED_PRECISION=True,TRAIN.MIXED_PRECISION_DTYPE=bfloat16
"""
import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time

from slowfast.benchmarks.model import compare_opts, peak_mb, spawn_variant


def _parse_size(text):
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--size expects WIDTHxHEIGHT such as 1920x1080, got {text!r}") from None
    return width, height


def parse_args(argv):
    p = argparse.ArgumentParser(prog="benchmark.py train", description=__doc__.split("\n\n")[0])
    p.add_argument("--cfg", required=True, help="config YAML (model, solver, DATA settings)")
    p.add_argument("--opts", nargs="*", default=[], metavar="KEY VALUE", help="config overrides for every variant")
    p.add_argument("--compare", action="append", default=[], metavar="KEY=VAL[,KEY=VAL]",
                   help="a further variant: base overrides plus these (repeatable)")
    p.add_argument("--steps", type=int, default=10, help="timed training steps per measurement")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (worker start, compile)")
    p.add_argument("--rounds", type=int, default=1, help="interleaved rounds (medians reported)")
    p.add_argument("--batch", type=int, default=2, help="TRAIN.BATCH_SIZE (default 2)")
    p.add_argument("--workers", type=int, default=2, help="DATA_LOADER.NUM_WORKERS (default 2)")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads in the trainer")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--size", type=_parse_size, default=(1920, 1080), help="synthetic frame size WxH")
    p.add_argument("--segments", type=int, default=48, help="synthetic train segments")
    p.add_argument("--work-dir", default=None, help="where synthetic frames are kept between runs")
    p.add_argument("--data", default=None, help="existing MECCANO-format data dir instead of synthetic frames")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.steps < 1 or args.rounds < 1 or args.batch < 1 or args.warmup < 1 or args.workers < 0:
        p.error("--steps, --rounds, --batch and --warmup must be >= 1, --workers >= 0")
    if len(args.opts) % 2:
        p.error(f"--opts takes KEY VALUE pairs, got {args.opts}")
    return args


def _synchronize(device):
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_worker(spec):
    """Build the engine's training pieces and time end-to-end and compute-only steps (fresh process)."""
    import torch

    from slowfast.benchmarks.loader import endless_batches
    from slowfast.config import load_config
    from slowfast.datasets.loader import build_loader
    from slowfast.engine.checkpoint import unwrap
    from slowfast.engine.distributed import init
    from slowfast.engine.model_setup import InputPrep, prepare_model
    from slowfast.engine.optimizer import build_optimizer
    from slowfast.engine.train import Trainer, _Detectors, _Window
    from slowfast.models import build_model
    from slowfast.utils.seed import seed_everything

    if spec["threads"]:
        torch.set_num_threads(spec["threads"])
    cfg = load_config(spec["cfg"], spec["opts"])
    ctx = init(0, 1, 0, cfg.NUM_GPUS, cfg.DIST_BACKEND, None)
    device = ctx.device
    seed_everything(cfg.RNG_SEED)
    model, forward = prepare_model(build_model(cfg), cfg, ctx)
    module = unwrap(model)
    optimizer = build_optimizer(module, cfg)
    amp16 = cfg.TRAIN.MIXED_PRECISION and cfg.TRAIN.MIXED_PRECISION_DTYPE == "float16"
    scaler = torch.amp.GradScaler(device.type) if amp16 else None

    def autocast():
        return torch.autocast(device.type, dtype=getattr(torch, cfg.TRAIN.MIXED_PRECISION_DTYPE),
                              enabled=cfg.TRAIN.MIXED_PRECISION)

    prepare = InputPrep.from_cfg(cfg, device, module)
    # The step reads neither the JSON log, TensorBoard nor the stop flag.
    trainer = Trainer(cfg, ctx, model, forward, optimizer, scaler, prepare, autocast, None, None, None)
    loader = build_loader(cfg, "train")
    batches = endless_batches(loader)
    # Warm-up also empties the batches the workers prefetched while the model started, so the
    # timed steps see the loader's steady rate, not a full queue.
    queued = cfg.DATA_LOADER.NUM_WORKERS * cfg.DATA_LOADER.PREFETCH_FACTOR
    total = spec["warmup"] + queued + 2 * spec["steps"]
    window, detectors = _Window(device), _Detectors(device, 0, 0.0)
    model.train()
    it = 0

    def step(batch):
        nonlocal it
        trainer._step(batch, 0, it, total, window, detectors)
        it += 1

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(spec["warmup"] + queued):
        batch = next(batches)
        step(batch)
    _synchronize(device)
    # End to end: every step waits for its own batch.
    wait = 0.0
    start = time.perf_counter()
    for _ in range(spec["steps"]):
        t0 = time.perf_counter()
        batch = next(batches)
        wait += time.perf_counter() - t0
        step(batch)
    _synchronize(device)
    e2e_s = time.perf_counter() - start
    # Compute only: the batch in hand, again and again.
    start = time.perf_counter()
    for _ in range(spec["steps"]):
        step(batch)
    _synchronize(device)
    compute_s = time.perf_counter() - start
    sums = window.sums.tolist()  # one host read, after timing
    batch_size = batch[1].shape[0]
    clip_shape = list(prepare(batch[0]).shape[1:])
    del batches, loader
    return {
        "variant": spec["variant"],
        "round": spec["round"],
        "steps_per_s": spec["steps"] / e2e_s,
        "clips_per_s": spec["steps"] * batch_size / e2e_s,
        "data_wait_frac": wait / e2e_s,
        "compute_steps_per_s": spec["steps"] / compute_s,
        "compute_clips_per_s": spec["steps"] * batch_size / compute_s,
        "e2e_vs_compute": compute_s / e2e_s,
        "mean_loss": sums[0] / max(sums[3], 1.0),
        "peak_mem_mb": peak_mb(device),
        "batch": batch_size,
        "clip_shape": clip_shape,
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "threads": torch.get_num_threads(),
    }


def long_epoch_annotations(ann, min_items):
    """A copy of ``ann`` whose train list repeats its rows until an epoch holds ``min_items`` clips.

    Each batch is built by one worker, so an epoch of a few batches (48 synthetic segments at
    batch 16) leaves most workers idle and the loader looks several times slower than on
    MECCANO's 5,057-clip epochs. A repeated row is decoded again, as a distinct segment would be.
    """
    with open(os.path.join(ann, "MECCANO_train_actions.csv"), newline="") as f:
        header, *rows = list(csv.reader(f))
    copies = -(-min_items // max(len(rows), 1))
    if copies <= 1:
        return ann
    out = f"{ann}_x{copies}"
    if not os.path.isfile(os.path.join(out, "MECCANO_train_actions.csv")):
        os.makedirs(out, exist_ok=True)
        for name in os.listdir(ann):
            if name != "MECCANO_train_actions.csv":
                shutil.copy(os.path.join(ann, name), out)
        with open(os.path.join(out, "MECCANO_train_actions.csv"), "w", newline="") as f:
            csv.writer(f, lineterminator="\r\n").writerows([header] + rows * copies)
    return out


def data_opts(args):
    """Overrides that point the config at the benchmark's frames, batch, workers and device."""
    if args.data is None:
        from slowfast.benchmarks.loader import synthetic_data

        data_dir, ann = synthetic_data(args.size, args.segments, args.work_dir)
        ann = long_epoch_annotations(ann, 4 * args.batch * max(args.workers, 1))
        extra = ["DATA.PATH_TO_ANNOTATIONS", ann, "MODEL.NUM_CLASSES", "8"]
    else:
        data_dir, extra = args.data, []
    import torch

    gpus = 1 if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()) else 0
    return extra + [
        "DATA.PATH_TO_DATA_DIR", data_dir, "TRAIN.DATASET", "meccano", "TRAIN.BATCH_SIZE", str(args.batch),
        "DATA_LOADER.NUM_WORKERS", str(args.workers), "NUM_GPUS", str(gpus), "NUM_SHARDS", "1",
        "OUTPUT_DIR", tempfile.gettempdir(),
    ]


_RATIO_KEYS = ("steps_per_s", "compute_steps_per_s")


def summarise(results, variants):
    """Per-variant medians, and per-variant speed-ups over base as medians of same-round ratios."""
    summary = []
    for name in variants:
        rows = [r for r in results if r["variant"] == name]
        entry = {"variant": name}
        for key in ("steps_per_s", "clips_per_s", "data_wait_frac", "compute_steps_per_s", "compute_clips_per_s",
                    "e2e_vs_compute", "peak_mem_mb"):
            entry[key] = statistics.median(r[key] for r in rows)
        if name != "base":
            base = {r["round"]: r for r in results if r["variant"] == "base"}
            for key in _RATIO_KEYS:
                entry[f"speedup_{key}"] = statistics.median(r[key] / base[r["round"]][key] for r in rows)
        summary.append(entry)
    return summary


def _table(report):
    first = report["results"][0]
    print(f"train benchmark: {report['cfg']}  batch {first['batch']}  clip {first['clip_shape']}  frames "
          f"{report['frame_size']}  workers {report['workers']}  device {first['device']}  threads "
          f"{first['threads']}  {report['rounds']} round(s)")
    print(f"{'variant':<44} {'steps/s':>8} {'clips/s':>8} {'wait %':>7} {'compute steps/s':>16} "
          f"{'e2e/compute':>12} {'peak MB':>8} {'speed-up':>9}")
    for s in report["summary"]:
        speedup = f"x{s['speedup_steps_per_s']:.3f}" if "speedup_steps_per_s" in s else "-"
        print(f"{s['variant']:<44} {s['steps_per_s']:>8.3f} {s['clips_per_s']:>8.2f} "
              f"{100 * s['data_wait_frac']:>7.1f} {s['compute_steps_per_s']:>16.3f} {s['e2e_vs_compute']:>12.3f} "
              f"{s['peak_mem_mb']:>8.0f} {speedup:>9}")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.worker:
        print(json.dumps(run_worker(json.loads(args.worker))))
        return 0
    base = data_opts(args) + list(args.opts)
    variants = [("base", base)] + [(c, base + compare_opts(c)) for c in args.compare]
    results = []
    for rnd in range(args.rounds):
        for name, opts in variants:
            spec = {"cfg": os.path.abspath(args.cfg), "opts": opts, "variant": name, "round": rnd,
                    "steps": args.steps, "warmup": args.warmup, "threads": args.threads}
            r = spawn_variant("slowfast.benchmarks.train", spec,
                              f"train benchmark worker for variant {spec['variant']!r} (round {spec['round']})")
            results.append(r)
            # Progress on stderr: a run stopped early (time limit) still leaves its finished variants.
            print(f"round {rnd} {name}: {r['clips_per_s']:.2f} clips/s end to end, {r['compute_clips_per_s']:.2f} "
                  f"compute, wait {100 * r['data_wait_frac']:.1f}%, peak {r['peak_mem_mb']:.0f} MB",
                  file=sys.stderr, flush=True)
    report = {
        "cfg": args.cfg, "opts": list(args.opts), "steps": args.steps, "warmup": args.warmup,
        "rounds": args.rounds, "workers": args.workers,
        "frame_size": list(args.size) if args.data is None else None,
        "machine": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d"),
        "results": results, "summary": summarise(results, [name for name, _ in variants]),
    }
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        _table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
