"""MECCANO action segments read from the official CSVs, frames from any released layout.

Annotations: ``MECCANO_{train,val,test}_actions.csv`` in DATA.PATH_TO_ANNOTATIONS (default
``data_lists/meccano``), read exactly as published: header, CRLF, duplicate rows kept (the
protocol counts them), frame names parsed as numbers (``010122.jpg`` is frame 10122, stored
as ``10122.jpg``), video ids plain folder names (no separators or ``..``). Class names
come from ``MECCANO_action_classes.csv`` beside the CSVs, else from ``data_lists/meccano``.
Frames: ``<root>/frames/<video>/%05d.jpg`` (the official plug-in),
``<root>/RGB_frames/{Train,Val,Test}/<video>/%05d.jpg`` (the released zip) or
``<root>/<video>/%05d.jpg``, found automatically.
"""
import csv
import io
import os
from collections import namedtuple

from slowfast.datasets.annotation_files import check_folder_name, read_list_text
from slowfast.datasets.clip_dataset import ClipDataset
from slowfast.datasets.errors import AnnotationError, BadInputError, MissingDataError
from slowfast.datasets.frames import decode_jpeg, jpeg_size, read_bytes

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_ANNOTATIONS = os.path.join(REPO, "data_lists", "meccano")
HEADER = ["video_id", "action_id", "action_name", "start_frame", "end_frame"]
CLASSES_FILE = "MECCANO_action_classes.csv"
ZIP_SPLIT_DIRS = ("Train", "Val", "Test")

Segment = namedtuple("Segment", "video label name start end line")


def _frame_number(name, path, line):
    stem, ext = os.path.splitext(name.strip())
    if ext.lower() != ".jpg" or not stem.isdigit():
        raise AnnotationError(f"{path}:{line}: frame name {name!r} is not like 00010.jpg")
    return int(stem)


def read_classes(path):
    """Class names indexed by id from a ``action_id,action_name,...`` CSV (ids 0..K-1, any order)."""
    names = {}
    with io.StringIO(read_list_text(path), newline="") as f:
        rows = csv.reader(f)
        header = next(rows, None)
        if not header or header[:2] != ["action_id", "action_name"]:
            raise AnnotationError(f"{path}:1: expected a header starting action_id,action_name")
        for line, row in enumerate(rows, start=2):
            try:
                names[int(row[0])] = row[1]
            except (IndexError, ValueError):
                raise AnnotationError(f"{path}:{line}: malformed class row {row!r}") from None
    if sorted(names) != list(range(len(names))):
        raise AnnotationError(f"{path}: class ids must be 0..{len(names) - 1} without gaps")
    return [names[i] for i in range(len(names))]


def read_segments(path, num_classes, class_names=None):
    """Rows of an official action CSV as Segments; any malformed row fails with file and line."""
    if not os.path.isfile(path):
        raise MissingDataError(f"annotation file not found: {path}")
    segments = []
    with io.StringIO(read_list_text(path), newline="") as f:
        rows = csv.reader(f)
        header = next(rows, None)
        if header is None:
            raise AnnotationError(f"{path}:1: empty file, expected the official header {','.join(HEADER)}")
        if header != HEADER:
            raise AnnotationError(f"{path}:1: expected the official header {','.join(HEADER)}, got {header}")
        for line, row in enumerate(rows, start=2):
            if not row:
                continue
            if len(row) != 5:
                raise AnnotationError(f"{path}:{line}: expected 5 fields, got {len(row)}: {row!r}")
            video, action, name, start, end = row
            check_folder_name(video.strip(), path, line, "video_id")
            if not action.strip().isdigit():
                raise AnnotationError(f"{path}:{line}: action_id {action!r} is not an integer")
            label = int(action)
            if label >= num_classes:
                raise AnnotationError(
                    f"{path}:{line}: action_id {label} is outside MODEL.NUM_CLASSES={num_classes}"
                )
            if class_names is not None and name != class_names[label]:
                raise AnnotationError(
                    f"{path}:{line}: action_name {name!r} does not match class {label} "
                    f"({class_names[label]!r}) of the class list"
                )
            first, last = _frame_number(start, path, line), _frame_number(end, path, line)
            if last < first:
                raise AnnotationError(f"{path}:{line}: end_frame {end} is before start_frame {start}")
            segments.append(Segment(video.strip(), label, name, first, last, line))
    if not segments:
        raise AnnotationError(f"{path}: no segments")
    return segments


def _candidates(root, video, split):
    """(layout name, folder) pairs where a video's frames may live, most specific first."""
    zip_dirs = [{"train": "Train", "val": "Val", "test": "Test"}[split]]
    zip_dirs += [d for d in ZIP_SPLIT_DIRS if d not in zip_dirs]
    return (
        [("frames/<video>", os.path.join(root, "frames", video))]
        + [("RGB_frames/{Train,Val,Test}/<video>", os.path.join(root, "RGB_frames", d, video)) for d in zip_dirs]
        + [("<video>", os.path.join(root, video))]
    )


def find_video_dirs(root, segments, split, csv_path):
    """{video: folder} in the first layout holding any of the split's videos; errors say what was tried."""
    videos = sorted({s.video for s in segments})
    for layout in ("frames/<video>", "RGB_frames/{Train,Val,Test}/<video>", "<video>"):
        found = {}
        for video in videos:
            for name, folder in _candidates(root, video, split):
                if name == layout and os.path.isdir(folder):
                    found[video] = folder
                    break
        if found:
            for seg in segments:
                if seg.video not in found:
                    raise AnnotationError(
                        f"{csv_path}:{seg.line}: unknown video {seg.video!r}: no folder "
                        f"{layout.replace('<video>', seg.video)} under {root} (other videos are there)"
                    )
            return found
    example = videos[0]
    tried = "\n".join(f"  {folder}/%05d.jpg" for _, folder in _candidates(root, example, split))
    raise MissingDataError(
        f"MECCANO frames not found under DATA.PATH_TO_DATA_DIR={root!r} "
        f"(absolute: {os.path.abspath(root)}). For video {example} of the {split} split, looked for:\n"
        f"{tried}\n"
        "To get them: download MECCANO_RGB_frames.zip from the MECCANO web page "
        "(https://iplab.dmi.unict.it/MECCANO/) and unpack it into DATA.PATH_TO_DATA_DIR "
        "(default data/MECCANO), or set DATA.PATH_TO_DATA_DIR to where the frames are.\n"
        "To try the framework without MECCANO, run `make demo` (synthetic data in the same format)."
    )


def last_frame_numbers(video_dirs):
    """{video: largest frame number on disk}: the bound stride sampling clamps to."""
    last = {}
    for video, folder in video_dirs.items():
        numbers = [int(n[:-4]) for n in os.listdir(folder) if n.endswith(".jpg") and n[:-4].isdigit()]
        if not numbers:
            raise MissingDataError(f"no %05d.jpg frames in {folder}")
        last[video] = max(numbers)
    return last


class Meccano(ClipDataset):
    """One sample per row of the split's official CSV (TRAIN.DATASET / TEST.DATASET meccano)."""

    def __init__(self, cfg, split):
        super().__init__(cfg, split)
        ann_dir = cfg.DATA.PATH_TO_ANNOTATIONS or DEFAULT_ANNOTATIONS
        classes_path = os.path.join(ann_dir, CLASSES_FILE)
        if not os.path.isfile(classes_path):
            classes_path = os.path.join(DEFAULT_ANNOTATIONS, CLASSES_FILE)
        self.class_names = read_classes(classes_path)
        self._check_classes(classes_path)
        csv_path = os.path.join(ann_dir, f"MECCANO_{split}_actions.csv")
        self.segments = read_segments(csv_path, self.num_classes, self.class_names)
        self.sample_labels = [s.label for s in self.segments]
        root = cfg.DATA.PATH_TO_DATA_DIR or "data/MECCANO"
        self.video_dirs = find_video_dirs(root, self.segments, split, csv_path)
        self._last_frame = last_frame_numbers(self.video_dirs) if self.temporal.method == "stride" else {}

    def video_id(self, sample):
        return self.segments[sample].video

    def frame_path(self, video, number):
        return os.path.join(self.video_dirs[video], f"{number:05d}.jpg")

    def _load(self, sample, rng, temporal_view, spatial_view):
        seg = self.segments[sample]
        hi = self._last_frame.get(seg.video, seg.end)
        indices = self.temporal(seg.start, seg.end, 1, hi, rng, temporal_view, self.num_temporal_views)
        paths = {n: self.frame_path(seg.video, n) for n in sorted(set(indices.tolist()))}
        data = {n: read_bytes(p) for n, p in paths.items()}
        first = next(iter(paths))
        src_w, src_h = jpeg_size(data[first], paths[first])
        for n, p in paths.items():
            # One crop plan serves the whole clip: a frame of another size would be silently distorted.
            w, h = jpeg_size(data[n], p)
            if (w, h) != (src_w, src_h):
                raise BadInputError(p, f"frame is {w}x{h}, frame {paths[first]} of the same clip is {src_w}x{src_h}")
        plan = self.spatial(src_w, src_h, rng, spatial_view)
        min_w, min_h = plan.decode_size(src_w, src_h)
        decoded = {n: plan.apply(decode_jpeg(data[n], paths[n], min_w, min_h), src_w, src_h) for n in paths}
        return [decoded[n] for n in indices.tolist()], indices
