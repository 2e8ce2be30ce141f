#!/usr/bin/env python3
"""Train, evaluate and test a model from a PySlowFast-style YAML config.

    python tools/run_net.py --cfg configs/meccano/SLOWFAST_8x8_R50.yaml [KEY VALUE ...]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.config import ConfigError, load_config  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Train / evaluate / test a video model (PySlowFast-compatible configs).",
        epilog="Any trailing KEY VALUE pairs override the YAML, e.g. SOLVER.BASE_LR 0.01 NUM_GPUS 0.",
    )
    parser.add_argument("--cfg", dest="cfg_file", required=True, help="path to the YAML config")
    parser.add_argument(
        "--init_method",
        default=None,
        help="torch.distributed init method for multi-machine runs, e.g. tcp://host:9999 "
        "(default: env:// under torchrun/SLURM, else a local port)",
    )
    parser.add_argument("--num_shards", type=int, default=None, help="number of machines (overrides NUM_SHARDS)")
    parser.add_argument("--shard_id", type=int, default=None, help="index of this machine (overrides SHARD_ID)")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    opts = list(args.opts)
    if args.num_shards is not None:
        opts += ["NUM_SHARDS", str(args.num_shards)]
    if args.shard_id is not None:
        opts += ["SHARD_ID", str(args.shard_id)]
    try:
        cfg = load_config(args.cfg_file, opts)
    except ConfigError as e:
        print(f"Config error: {e}", file=sys.stderr)
        return 2
    from slowfast.datasets.errors import AnnotationError, MissingDataError
    from slowfast.engine.launch import launch_job
    from slowfast.models import ModelBuildError

    try:
        code = launch_job(cfg, init_method=args.init_method) or 0
    except (MissingDataError, AnnotationError, ModelBuildError) as e:
        # Problems the user fixes in the data or the config: the message, not a traceback.
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        return 2
    if code == 0 and os.environ.get("RANK", "0") == "0":
        print(f"Run directory: {os.path.abspath(cfg.OUTPUT_DIR)} (results.json, predictions.npz, json_stats.log, "
              f"checkpoints/, tensorboard/)")
        print(f"Compare runs with: python tools/compare_runs.py {cfg.OUTPUT_DIR} [RUN_DIR ...] --out DIR")
    return code


if __name__ == "__main__":
    sys.exit(main())
