#!/usr/bin/env python3
"""Write a small synthetic action dataset in MECCANO's (or a video folder's) on-disk format.

    python tools/make_demo_data.py --out demo_data [--format meccano|video_folder]
        [--classes 8] [--videos N] [--size 128x96] [--seed 0]

Verbs are motions and objects coloured shapes, so a model has to use time (see
slowfast/datasets/synthetic.py). MECCANO format: point DATA.PATH_TO_DATA_DIR at --out and
DATA.PATH_TO_ANNOTATIONS at --out/annotations. Video folder: DATA.PATH_TO_DATA_DIR --out.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.datasets.synthetic import make_meccano_like, make_video_folder  # noqa: E402


def parse_size(text):
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--size must look like 128x96, got {text!r}") from None
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise argparse.ArgumentTypeError(f"--size needs even sides of at least 16 pixels, got {text!r}")
    return width, height


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--out", required=True, help="output folder (created)")
    parser.add_argument("--format", choices=("meccano", "video_folder"), default="meccano")
    parser.add_argument("--classes", type=int, default=8, help="number of verb x object classes")
    parser.add_argument("--videos", type=int, default=None,
                        help="recordings (meccano, default 10) or clips in all (video_folder, default 96)")
    parser.add_argument("--segments", type=int, default=30, help="actions per recording (meccano)")
    parser.add_argument("--size", type=parse_size, default=(128, 96), help="frame size WxH")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        if args.format == "meccano":
            summary = make_meccano_like(args.out, classes=args.classes, videos=args.videos or 10,
                                        size=args.size, seed=args.seed, segments_per_video=args.segments)
        else:
            summary = make_video_folder(args.out, classes=args.classes, videos=args.videos or 96,
                                        size=args.size, seed=args.seed)
    except ValueError as e:
        parser.error(str(e))
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
