#!/usr/bin/env python3
"""Re-encode MECCANO's 1920x1080 frames at a smaller size (optional, one time, resumable).

    python tools/prepare_meccano.py --src data/MECCANO --dst data/MECCANO_320 --short-side 320

Same layout and file names under --dst; then set DATA.PATH_TO_DATA_DIR to --dst. The loader
works on either unchanged. Decoding 320 px frames is roughly 10x cheaper than 1080p ones.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.datasets.prepare import prepare  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--src", required=True, help="folder holding the frames (any MECCANO layout)")
    parser.add_argument("--dst", required=True, help="output folder (mirrors --src)")
    parser.add_argument("--short-side", type=int, default=320, help="short side of the output frames")
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    args = parser.parse_args(argv)
    if os.path.abspath(args.src) == os.path.abspath(args.dst):
        parser.error("--dst must differ from --src")
    try:
        summary = prepare(args.src, args.dst, args.short_side, args.quality, args.workers)
    except FileNotFoundError as e:
        parser.error(str(e))
    print(f"{len(summary['done'])} folders written ({summary['frames']} frames), "
          f"{len(summary['skipped'])} already done, in {args.dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
