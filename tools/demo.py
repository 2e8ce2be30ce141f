#!/usr/bin/env python3
"""The one-command demo: synthetic MECCANO-format data, three tiny models, one comparison report.

    python tools/demo.py --data demo_data --out runs/demo [--quick]

1. makes the synthetic data in --data unless it is already complete there;
2. trains and tests every config in configs/demo/ (SlowFast, MViTv2, MobileNet+LSTM) with
   the engine, each into --out/<config name>; a finished run of the same config is reused,
   an interrupted one resumes, one of another config is replaced;
3. writes the comparison report to --out/report and prints its path on the last line.
--quick (for tests) uses tiny data, one epoch and one test view: it checks the plumbing only.
"""
import argparse
import os
import resource
import shutil
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from slowfast.config import load_config  # noqa: E402

CONFIGS = ("SLOWFAST_TINY", "MVITv2_TINY", "MOBILENETV2_LSTM_TINY")
# --quick: 3 recordings of 6 actions (one per split), 64x48 frames; one short epoch.
QUICK_DATA = dict(videos=3, segments_per_video=6, size=(64, 48))
QUICK_OPTS = ["SOLVER.MAX_EPOCH", "1", "TEST.NUM_ENSEMBLE_VIEWS", "1", "DATA_LOADER.NUM_WORKERS", "0",
              "TRAIN.BATCH_SIZE", "6", "TEST.BATCH_SIZE", "6"]


class Stages:
    """Wall and CPU seconds (this process and its finished children, e.g. loader workers) per stage."""

    def __init__(self):
        self.rows = []

    @staticmethod
    def _cpu():
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    def run(self, name, fn, *args):
        wall, cpu = time.perf_counter(), self._cpu()
        print(f"== {name}", flush=True)
        out = fn(*args)
        self.rows.append((name, time.perf_counter() - wall, self._cpu() - cpu))
        return out

    def table(self):
        lines = [f"{'stage':<36} {'wall s':>8} {'cpu s':>8}"]
        lines += [f"{n:<36} {w:8.1f} {c:8.1f}" for n, w, c in self.rows]
        total_w, total_c = sum(r[1] for r in self.rows), sum(r[2] for r in self.rows)
        lines.append(f"{'total':<36} {total_w:8.1f} {total_c:8.1f}")
        return "\n".join(lines)


def ensure_data(data_dir, quick):
    """Make the synthetic data unless complete (its annotation CSVs are written last)."""
    if os.path.isfile(os.path.join(data_dir, "annotations", "MECCANO_test_actions.csv")):
        print(f"Using the demo data in {data_dir}")
        return
    from slowfast.datasets.synthetic import make_meccano_like

    summary = make_meccano_like(data_dir, **(QUICK_DATA if quick else {}))
    print(f"Made {sum(summary['segments'].values())} synthetic actions of {len(summary['class_names'])} "
          f"classes in {data_dir}")


def demo_cfg(name, data_dir, out_dir, quick):
    opts = ["DATA.PATH_TO_DATA_DIR", data_dir, "DATA.PATH_TO_ANNOTATIONS", os.path.join(data_dir, "annotations"),
            "OUTPUT_DIR", os.path.join(out_dir, name.lower())]
    return load_config(os.path.join(REPO, "configs", "demo", f"{name}.yaml"), opts + (QUICK_OPTS if quick else []))


def train_and_test(cfg):
    """Run the engine unless this exact config already finished in OUTPUT_DIR.

    An interrupted run of the same config resumes (the engine's AUTO_RESUME); a run of an
    older demo config is deleted first, since resuming its checkpoints would mix configs.
    """
    saved = os.path.join(cfg.OUTPUT_DIR, "config.yaml")
    if os.path.isfile(saved):
        with open(saved) as f:
            same = f.read() == cfg.dump()
        if same and os.path.isfile(os.path.join(cfg.OUTPUT_DIR, "results.json")):
            print(f"Reusing the finished run {cfg.OUTPUT_DIR}")
            return 0
        if not same:
            print(f"{cfg.OUTPUT_DIR} was made with another config: deleting it and starting over")
            shutil.rmtree(cfg.OUTPUT_DIR)
    from slowfast.engine.launch import launch_job

    return launch_job(cfg) or 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--data", default="demo_data", help="synthetic data folder (made if absent)")
    parser.add_argument("--out", default="runs/demo", help="folder for the runs and the report")
    parser.add_argument("--quick", action="store_true", help="tiny data, one epoch: a smoke test")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: these tiny models gain little from more, "
                             "and lose much when the CPU is shared)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    data_dir, out_dir = os.path.abspath(args.data), os.path.abspath(args.out)
    stages = Stages()
    stages.run("synthetic data", ensure_data, data_dir, args.quick)
    run_dirs = []
    for name in CONFIGS:
        cfg = demo_cfg(name, data_dir, out_dir, args.quick)
        code = stages.run(f"train + test {name}", train_and_test, cfg)
        if code:
            print(f"demo: the {name} run failed (exit code {code}); see {cfg.OUTPUT_DIR}/stdout.log", file=sys.stderr)
            return code
        run_dirs.append(cfg.OUTPUT_DIR)
    from slowfast.report import build_report

    report_dir = os.path.join(out_dir, "report")
    data = stages.run("comparison report", build_report, run_dirs, report_dir)
    print()
    for row in data["summary"]:
        if not row["reference"]:
            print(f"{row['run']:<28} test top-1 {row['top1']:6.2f}%  mean class acc {row['mean_class_acc']:6.2f}%")
    print()
    print(stages.table())
    print(f"Report: {os.path.join(report_dir, 'report.html')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
