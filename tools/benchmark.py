#!/usr/bin/env python3
"""Measure speed: `loader`, `model` or `train`; each subcommand takes --help and --json.

    python tools/benchmark.py loader --cfg FILE [--json]
    python tools/benchmark.py model --cfg configs/meccano/SLOWFAST_8x8_R50.yaml [--json]
    python tools/benchmark.py train --cfg FILE [--json]
"""
import importlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SUBCOMMANDS = ("loader", "model", "train")


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in SUBCOMMANDS:
        print(__doc__.strip())
        print(f"\nsubcommands: {', '.join(SUBCOMMANDS)}")
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    module = importlib.import_module(f"slowfast.benchmarks.{argv[0]}")
    return module.main(argv[1:]) or 0


if __name__ == "__main__":
    sys.exit(main())
