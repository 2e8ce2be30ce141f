"""`benchmark.py model`: forward and forward+backward time per clip, clips/s and peak memory.

Every (variant, mode) runs in a fresh subprocess, so that its peak memory is its own
(CPU: ``getrusage`` max RSS; CUDA: ``torch.cuda.max_memory_allocated``) and one variant's
allocator state or compiled code cannot leak into the next. ``--compare KEY=VAL[,KEY=VAL]``
adds a variant (config overrides on top of the base) timed in the same run, and ratios to
the base are reported: on a shared machine only such same-run ratios are meaningful.

``--pyslowfast DIR`` adds PySlowFast's own model, built from a PySlowFast checkout at DIR
with the same config, as the variant ``pyslowfast``; ``--rounds`` interleaves all variants
several times and reports medians, since a shared machine's speed drifts between minutes.

    python tools/benchmark.py model --cfg configs/meccano/SLOWFAST_8x8_R50.yaml --threads 2
    python tools/benchmark.py model --cfg configs/meccano/MVITv2_S_16x4.yaml \
        --compare MVIT.ATTN_IMPL=explicit --json
    python tools/benchmark.py model --cfg configs/meccano/SLOWFAST_8x8_R50.yaml --threads 2 \
        --pyslowfast ~/SlowFast --rounds 5
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
    p.add_argument("--pyslowfast", metavar="DIR", default=None,
                   help="a PySlowFast checkout: adds its model, same config, as variant 'pyslowfast'")
    p.add_argument("--rounds", type=int, default=1, help="interleaved rounds (medians reported)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.batch < 1 or args.repeat < 1 or args.warmup < 0 or args.rounds < 1:
        p.error("--batch, --repeat and --rounds must be >= 1, --warmup >= 0")
    if args.pyslowfast and not os.path.isfile(os.path.join(args.pyslowfast, "slowfast", "models", "__init__.py")):
        p.error(f"--pyslowfast {args.pyslowfast}: no slowfast/models/__init__.py there (expected a PySlowFast checkout)")
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


def peak_mb(device):
    import torch

    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10  # KiB on Linux


def run_worker(spec):
    """Build our model, time ``spec['mode']`` steps, return a dict (runs in a fresh process)."""
    import torch

    from slowfast.config import load_config
    from slowfast.models import build_model

    if spec["threads"]:
        torch.set_num_threads(spec["threads"])
    cfg = load_config(spec["cfg"], spec["opts"])
    device = pick_device(spec["device"])
    torch.manual_seed(cfg.RNG_SEED)
    model = build_model(cfg).to(device)
    x = random_clip(cfg, spec, device)
    if cfg.MODEL.CHANNELS_LAST:
        model = model.to(memory_format=torch.channels_last_3d)
        x = x.contiguous(memory_format=torch.channels_last_3d)
    if cfg.MODEL.COMPILE:
        model = torch.compile(model, mode=cfg.MODEL.COMPILE_MODE)
    return time_steps(model, x, cfg, spec, device)


def pick_device(want):
    import torch

    return torch.device("cuda" if want == "cuda" or (want == "auto" and torch.cuda.is_available()) else "cpu")


def random_clip(cfg, spec, device):
    """A ``batch x C x T x crop x crop`` input at the fast rate, as the engine feeds models."""
    import torch

    crop = spec["crop"] or cfg.DATA.TRAIN_CROP_SIZE
    return torch.randn(spec["batch"], cfg.DATA.INPUT_CHANNEL_NUM[0], cfg.DATA.NUM_FRAMES, crop, crop, device=device)


def time_steps(model, inputs, cfg, spec, device):
    """Median wall/CPU time of ``spec['repeat']`` forward or forward+backward steps, and peak memory.

    Imports nothing of this package, so the PySlowFast worker (another ``slowfast`` package)
    times its model with the same code.
    """
    import torch
    import torch.nn.functional as F

    labels = torch.randint(cfg.MODEL.NUM_CLASSES, (spec["batch"],), device=device)
    autocast = torch.autocast(device.type, dtype=getattr(torch, cfg.TRAIN.MIXED_PRECISION_DTYPE),
                              enabled=cfg.TRAIN.MIXED_PRECISION)

    def step():
        # A fresh list each step: PySlowFast's stem replaces the list's items in place.
        x = list(inputs) if isinstance(inputs, list) else inputs
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
    peak = peak_mb(device)
    return {
        "variant": spec["variant"],
        "round": spec.get("round", 0),
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
        "crop": inputs.shape[-1] if torch.is_tensor(inputs) else inputs[-1].shape[-1],
        "num_frames": cfg.DATA.NUM_FRAMES,
    }


def spawn_variant(module, spec, description):
    """Run one benchmark variant in a fresh interpreter (``python -m module --worker SPEC``).

    A fresh process per variant keeps allocator state, thread pools and peak memory of one
    variant out of the next; the worker prints its result as the last stdout line (JSON).
    A spec with ``pyslowfast`` runs ``pyslowfast_worker.py`` instead, with only that checkout
    on the path (two packages named ``slowfast`` cannot share a process).
    """
    env = dict(os.environ)
    if spec.get("pyslowfast"):
        env["PYTHONPATH"] = os.path.abspath(spec["pyslowfast"])
        cmd = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "pyslowfast_worker.py"),
               json.dumps(spec)]
        cwd = env["PYTHONPATH"]
    else:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_REPO, env.get("PYTHONPATH")) if p)
        cmd = [sys.executable, "-m", module, "--cfg", spec["cfg"], "--worker", json.dumps(spec)]
        cwd = _REPO
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{description} failed:\n{proc.stderr[-4000:]}")
    return json.loads(lines[-1])


def summarise(results):
    """Per (variant, mode): medians over rounds; ratios to base are medians of same-round ratios."""
    keys = list(dict.fromkeys((r["variant"], r["mode"]) for r in results))
    by = {(r["variant"], r["mode"], r["round"]): r for r in results}
    summary, ratios = [], []
    for variant, mode in keys:
        rows = [r for r in results if (r["variant"], r["mode"]) == (variant, mode)]
        entry = dict(rows[0])
        for key in ("step_s", "s_per_clip", "cpu_s_per_clip", "clips_per_s", "peak_mem_mb", "peak_extra_mb"):
            entry[key] = statistics.median(r[key] for r in rows)
        entry.pop("step_s_all")
        entry.pop("round")
        entry["rounds"] = len(rows)
        summary.append(entry)
        if variant != "base":
            base = [by["base", mode, r["round"]] for r in rows]
            ratios.append({
                "variant": variant, "mode": mode,
                "time_ratio": statistics.median(r["step_s"] / b["step_s"] for r, b in zip(rows, base)),
                "extra_mem_ratio": statistics.median(r["peak_extra_mb"] / max(b["peak_extra_mb"], 1e-9)
                                                     for r, b in zip(rows, base)),
            })
    return summary, ratios


def _table(summary, ratios, args):
    first = summary[0]
    print(f"model benchmark: {args.cfg}  batch {args.batch}  crop {first['crop']}  frames {first['num_frames']}  "
          f"{args.dtype}  device {first['device']}  threads {first['threads']}  {args.rounds} round(s)")
    print(f"{'variant':<34} {'mode':<26} {'s/clip':>8} {'cpu s/clip':>10} {'clips/s':>8} {'peak MB':>9} "
          f"{'extra MB':>9}")
    for r in summary:
        print(f"{r['variant']:<34} {MODES[r['mode']]:<26} {r['s_per_clip']:>8.3f} {r['cpu_s_per_clip']:>10.3f} "
              f"{r['clips_per_s']:>8.2f} {r['peak_mem_mb']:>9.0f} {r['peak_extra_mb']:>9.0f}")
    for r in ratios:
        print(f"ratio {r['variant']} / base, {r['mode']}: time x{r['time_ratio']:.3f}, "
              f"extra memory x{r['extra_mem_ratio']:.3f}")


def pyslowfast_config(args, opts):
    """Our config for the base variant, dumped to a YAML file the PySlowFast worker reads."""
    import tempfile

    from slowfast.config import load_config

    cfg = load_config(args.cfg, opts)
    fd, path = tempfile.mkstemp(prefix="pyslowfast_cfg_", suffix=".yaml")
    with os.fdopen(fd, "w") as f:
        f.write(cfg.dump())
    return path


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.worker:
        print(json.dumps(run_worker(json.loads(args.worker))))
        return 0
    base = base_opts(args)
    variants = [("base", base)] + [(c, base + compare_opts(c)) for c in args.compare]
    if args.pyslowfast:
        variants.append(("pyslowfast", base))
    modes = ["forward", "train"] if args.mode == "both" else [args.mode]
    ref_cfg = pyslowfast_config(args, base) if args.pyslowfast else None
    results = []
    try:
        for rnd in range(args.rounds):
            for name, opts in variants:
                for mode in modes:
                    spec = {"cfg": os.path.abspath(args.cfg), "opts": opts, "variant": name, "mode": mode,
                            "round": rnd, "batch": args.batch, "crop": args.crop, "threads": args.threads,
                            "repeat": args.repeat, "warmup": args.warmup, "device": args.device}
                    if name == "pyslowfast":
                        spec.update(pyslowfast=args.pyslowfast, cfg_dump=ref_cfg, worker_module=__file__)
                    results.append(spawn_variant("slowfast.benchmarks.model", spec,
                                                 f"benchmark worker for variant {name!r} ({mode}, round {rnd})"))
    finally:
        if ref_cfg:
            os.remove(ref_cfg)
    summary, ratios = summarise(results)
    if args.json:
        print(json.dumps({"cfg": args.cfg, "batch": args.batch, "dtype": args.dtype, "base_opts": base,
                          "rounds": args.rounds, "summary": summary, "results": results, "ratios": ratios},
                         indent=1))
    else:
        _table(summary, ratios, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
