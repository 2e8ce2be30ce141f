#!/usr/bin/env python3
"""Predict actions over time in a video file or a MECCANO-style frames folder.

    python tools/predict.py --cfg CFG.yaml --checkpoint CKPT.pyth INPUT [--topk K]
        [--stride N] [--span N] [--out FILE.json|FILE.csv] [--out-video FILE.mp4] [KEY VALUE ...]

Windows of NUM_FRAMES frames are sampled with the config's test-time rule and the
engine's centre crop at TEST_CROP_SIZE; each gets its top-K classes and scores.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.config import ConfigError, load_config  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--cfg", dest="cfg_file", required=True, help="the model's YAML config")
    p.add_argument("--checkpoint", required=True, help=".pyth checkpoint (or Caffe2 .pkl) of that model")
    p.add_argument("input", metavar="INPUT", help="video file, or folder of numbered frames (00001.jpg ...)")
    p.add_argument("--topk", type=int, default=5, help="classes reported per window (default 5)")
    p.add_argument("--stride", type=int, default=None, help="input frames between window starts (default: half a window)")
    p.add_argument("--span", type=int, default=None,
                   help="input frames per window (default NUM_FRAMES x SAMPLING_RATE, fps-rescaled for videos)")
    p.add_argument("--class-names", default=None, help="JSON list / {name: id}, CSV or text file of class names")
    p.add_argument("--batch-size", type=int, default=8, help="windows per forward pass (default 8)")
    p.add_argument("--out", default=None, help="write predictions to FILE.json or FILE.csv")
    p.add_argument("--out-video", default=None, help="write the input with the current top label drawn on it")
    p.add_argument("opts", nargs="*", help="KEY VALUE config overrides")
    # Intermixed: options may follow INPUT and the KEY VALUE pairs.
    return p.parse_intermixed_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.topk < 1:
        print("predict: --topk must be >= 1", file=sys.stderr)
        return 2
    if args.out and os.path.splitext(args.out)[1].lower() not in (".json", ".csv"):
        print(f"predict: --out {args.out}: use a .json or .csv file name", file=sys.stderr)
        return 2
    try:
        cfg = load_config(args.cfg_file, list(args.opts))
    except ConfigError as e:
        print(f"Config error: {e}", file=sys.stderr)
        return 2
    from slowfast.engine.checkpoint import CheckpointError
    from slowfast.predict import InputError, build_predictor, predict, summary_lines
    from slowfast.predict import write_labelled_video, write_predictions
    from slowfast.predict.class_names import class_names_for

    try:
        names = class_names_for(cfg, args.class_names)
        predictor = build_predictor(cfg, args.checkpoint, names, batch_size=args.batch_size)
        result, source = predict(predictor, cfg, args.input, topk=args.topk, span=args.span, stride=args.stride)
    except (InputError, CheckpointError, ValueError) as e:
        print(f"predict: {e}", file=sys.stderr)
        return 2
    print("\n".join(summary_lines(result)))
    if args.out:
        write_predictions(result, args.out)
        print(f"predictions: {args.out}")
    if args.out_video:
        codec = write_labelled_video(source, result["windows"], result["total_frames"], args.out_video)
        print(f"labelled video ({codec}): {args.out_video}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
