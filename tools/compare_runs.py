#!/usr/bin/env python3
"""Compare finished runs side by side: accuracy, cost, curves, per-class results, significance.

    python tools/compare_runs.py RUN_DIR [RUN_DIR ...] --out DIR

Writes DIR/report.md, DIR/report.html (self-contained, opens offline) and DIR/report.json.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.report import ReportError, build_report  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="OUTPUT_DIR of a finished run")
    parser.add_argument("--out", required=True, help="folder for report.md / report.html / report.json")
    parser.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    args = parser.parse_args(argv)
    try:
        build_report(args.run_dirs, args.out, n_resamples=args.resamples, seed=args.seed)
    except ReportError as e:
        print(f"compare_runs: {e}", file=sys.stderr)
        return 2
    print(os.path.join(os.path.abspath(args.out), "report.html"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
