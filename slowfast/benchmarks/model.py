"""`benchmark.py model`: forward and forward+backward time per clip, clips/s and peak memory.

Every (variant, mode) runs in a fresh subprocess, so that its peak memory is its own
(CPU: ``getrusage`` max RSS; CUDA: ``torch.cuda.max_memory_allocated``) and one variant's
allocator state or compiled code cannot leak into the next. ``--compare KEY=VAL[,KEY=VAL]``
adds a variant (config overrides on top of the base) timed in the same run, and ratios to
the base are reported: on a shared machine only such same-run ratios are meaningful.

    python tools/benchmark.py model --cfg configs/meccano/SLOWFAST_8x8_R50.yaml --threads 2
    python tools/benchmark.py model --cfg configs/meccano/MVITv2_S_16x4.yaml \
        --compare MVIT.ATTN_IMPL=explicit --json
"""
import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODES = {"forward": "forward (eval, no grad)", "train": "forward+backward (train)"}


def parse_args(argv):
    p = argparse.ArgumentParser(prog="benchmark.py model", description=__doc__.split("\n\n")[0])
    p.add_argument("--cfg", required=True, help="config YAML")
    p.add_argument("--batch", type=int, default=2, help="clips per step (default 2)")
    p.add_argument("--crop", type=int, default=None, help="input side (default DATA.TRAIN_CROP_SIZE)")
    p.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32",
                   help="bfloat16 = autocast, as TRAIN.MIXED_PRECISION does")
    p.add_argument("--channels-last", action="store_true", help="sets MODEL.CHANNELS_LAST True")
    p.add_argument("--compile", action="store_true", help="sets MODEL.COMPILE True (torch.compile)")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--repeat", type=int, default=3, help="timed steps per mode (median reported)")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    p.add_argument("--mode", choices=("both", "forward", "train"), default="both")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--opts", nargs="*", default=[], metavar="KEY VALUE", help="config overrides")
    p.add_argument("--compare", action="append", default=[], metavar="KEY=VAL[,KEY=VAL]",
                   help="a further variant: base overrides plus these (repeatable)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.batch < 1 or args.repeat < 1 or args.warmup < 0:
        p.error("--batch and --repeat must be >= 1, --warmup >= 0")
    if len(args.opts) % 2:
        p.error(f"--opts takes KEY VALUE pairs, got {args.opts}")
    return args


def compare_opts(text):
    """``A.B=1,C.D=[1, 2]`` -> ``["A.B", "1", "C.D", "[1, 2]"]`` (commas inside values kept)."""
    opts = []
    for item in re.split(r",(?=\s*[A-Za-z_][\w.]*=)", text):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--compare expects KEY=VAL[,KEY=VAL], got {text!r}")
        opts += [key.strip(), value.strip()]
    return opts


def base_opts(args):
    opts = list(args.opts)
    if args.channels_last:
        opts += ["MODEL.CHANNELS_LAST", "True"]
    if args.compile:
        opts += ["MODEL.COMPILE", "True"]
    if args.dtype == "bfloat16":
        opts += ["TRAIN.MIXED_PRECISION", "True", "TRAIN.MIXED_PRECISION_DTYPE", "bfloat16"]
    return opts


def _memory_now_mb(device):
    import psutil
    import torch

    if device.type == "cuda":
        return torch.cuda.memory_allocated(device) / 2**20
    return psutil.Process().memory_info().rss / 2**20


def _peak_mb(device):
    import torch

    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10  # KiB on Linux


def run_worker(spec):
    """Build the model, time ``spec['mode']`` steps, return a dict (runs in a fresh process)."""
    import torch
    import torch.nn.functional as F

    from slowfast.config import load_config
    from slowfast.models import build_model

    if spec["threads"]:
        torch.set_num_threads(spec["threads"])
    cfg = load_config(spec["cfg"], spec["opts"])
    want = spec["device"]
    device = torch.device("cuda" if want == "cuda" or (want == "auto" and torch.cuda.is_available()) else "cpu")
    torch.manual_seed(cfg.RNG_SEED)
    model = build_model(cfg).to(device)
    crop = spec["crop"] or cfg.DATA.TRAIN_CROP_SIZE
    x = torch.randn(spec["batch"], cfg.DATA.INPUT_CHANNEL_NUM[0], cfg.DATA.NUM_FRAMES, crop, crop, device=device)
    labels = torch.randint(cfg.MODEL.NUM_CLASSES, (spec["batch"],), device=device)
    if cfg.MODEL.CHANNELS_LAST:
        model = model.to(memory_format=torch.channels_last_3d)
        x = x.contiguous(memory_format=torch.channels_last_3d)
    if cfg.MODEL.COMPILE:
        model = torch.compile(model, mode=cfg.MODEL.COMPILE_MODE)
    dtype = getattr(torch, cfg.TRAIN.MIXED_PRECISION_DTYPE)
    autocast = torch.autocast(device.type, dtype=dtype, enabled=cfg.TRAIN.MIXED_PRECISION)

    def step():
        if spec["mode"] == "forward":
            with torch.no_grad(), autocast:
                model(x)
        else:
            with autocast:
                loss = F.cross_entropy(model(x).float(), labels)
            loss.backward()
            model.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    model.train(spec["mode"] == "train")
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    before_mb = _memory_now_mb(device)
    for _ in range(spec["warmup"]):
        step()
    times, cpu_times = [], []
    for _ in range(spec["repeat"]):
        start, cpu_start = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    step_s = statistics.median(times)
    peak = _peak_mb(device)
    return {
        "variant": spec["variant"],
        "mode": spec["mode"],
        "step_s": step_s,
        "step_s_all": times,
        "s_per_clip": step_s / spec["batch"],
        # CPU seconds of all threads: with --threads 1 on a busy machine, a better guess of the
        # idle wall time than the wall time itself.
        "cpu_s_per_clip": statistics.median(cpu_times) / spec["batch"],
        "clips_per_s": spec["batch"] / step_s,
        "peak_mem_mb": peak,
        "peak_extra_mb": peak - before_mb,
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "threads": torch.get_num_threads(),
        "crop": crop,
        "num_frames": cfg.DATA.NUM_FRAMES,
    }


def spawn_variant(module, spec, description):
    """Run one benchmark variant in a fresh interpreter (``python -m module --worker SPEC``).

    A fresh process per variant keeps allocator state, thread pools and peak memory of one
    variant out of the next; the worker prints its result as the last stdout line (JSON).
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_REPO, env.get("PYTHONPATH")) if p)
    proc = subprocess.run(
        [sys.executable, "-m", module, "--cfg", spec["cfg"], "--worker", json.dumps(spec)],
        capture_output=True, text=True, env=env, cwd=_REPO,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{description} failed:\n{proc.stderr[-4000:]}")
    return json.loads(lines[-1])


def _table(results, ratios, args):
    first = results[0]
    print(f"model benchmark: {args.cfg}  batch {args.batch}  crop {first['crop']}  "
          f"frames {first['num_frames']}  {args.dtype}  device {first['device']}  threads {first['threads']}")
    print(f"{'variant':<34} {'mode':<26} {'s/clip':>8} {'cpu s/clip':>10} {'clips/s':>8} {'peak MB':>9} "
          f"{'extra MB':>9}")
    for r in results:
        print(f"{r['variant']:<34} {MODES[r['mode']]:<26} {r['s_per_clip']:>8.3f} {r['cpu_s_per_clip']:>10.3f} "
              f"{r['clips_per_s']:>8.2f} {r['peak_mem_mb']:>9.0f} {r['peak_extra_mb']:>9.0f}")
    for r in ratios:
        print(f"ratio {r['variant']} / base, {r['mode']}: time x{r['time_ratio']:.3f}, "
              f"extra memory x{r['extra_mem_ratio']:.3f}")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.worker:
        print(json.dumps(run_worker(json.loads(args.worker))))
        return 0
    base = base_opts(args)
    variants = [("base", base)] + [(c, base + compare_opts(c)) for c in args.compare]
    modes = ["forward", "train"] if args.mode == "both" else [args.mode]
    results = []
    for name, opts in variants:
        for mode in modes:
            spec = {"cfg": os.path.abspath(args.cfg), "opts": opts, "variant": name, "mode": mode,
                    "batch": args.batch, "crop": args.crop, "threads": args.threads, "repeat": args.repeat,
                    "warmup": args.warmup, "device": args.device}
            results.append(spawn_variant("slowfast.benchmarks.model", spec,
                                      f"benchmark worker for variant {spec['variant']!r} ({spec['mode']})"))
    by_key = {(r["variant"], r["mode"]): r for r in results}
    ratios = [
        {"variant": r["variant"], "mode": r["mode"],
         "time_ratio": r["step_s"] / by_key["base", r["mode"]]["step_s"],
         "extra_mem_ratio": r["peak_extra_mb"] / max(by_key["base", r["mode"]]["peak_extra_mb"], 1e-9)}
        for r in results if r["variant"] != "base"
    ]
    if args.json:
        print(json.dumps({"cfg": args.cfg, "batch": args.batch, "dtype": args.dtype, "base_opts": base,
                          "results": results, "ratios": ratios}, indent=1))
    else:
        _table(results, ratios, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
