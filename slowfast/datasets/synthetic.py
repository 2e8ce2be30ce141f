"""Synthetic action data in the real on-disk formats, learnable only by looking at motion.

Classes are verb x object, like MECCANO's: the verb is a motion of the object
(left-to-right vs right-to-left, approach vs recede, down vs up, clockwise vs
counter-clockwise), the object a coloured shape with an orientation dot. Verbs come in
opposite pairs whose single frames have the same distribution (a frame of "move_right" at
time t looks like one of "move_left" at 1 - t), so a model must use time to tell them
apart; the object needs only colour and shape. Textured per-video backgrounds, static
clutter, drifting grey/brown distractor shapes and sensor noise keep it from being trivial.
Train with DATA.RANDOM_FLIP False: a mirrored "move_right" clip is a "move_left" one.

``make_meccano_like`` writes MECCANO's layout (JPEG frames at 12 fps under
``frames/<video>/%05d.jpg``, the official CSV header, CRLF line ends, some six-digit frame
names, a classes CSV); ``make_video_folder`` writes ``<class>/<video>.mp4`` with split lists.
Everything is a deterministic function of the arguments.
"""
import csv
import io
import math
import os

import av
import cv2
import numpy as np
import simplejpeg

from slowfast.utils.io import write_text_atomic

VERB_PAIRS = (("move_right", "move_left"), ("approach", "recede"),
              ("move_down", "move_up"), ("rotate_cw", "rotate_ccw"))
OBJECTS = (("red", (220, 40, 40), "square"), ("blue", (40, 80, 230), "circle"),
           ("green", (40, 180, 70), "triangle"), ("yellow", (235, 210, 40), "cross"),
           ("orange", (245, 130, 20), "diamond"), ("magenta", (200, 50, 200), "bar"))
DISTRACTOR_COLOURS = ((200, 200, 200), (70, 70, 70), (130, 90, 60), (245, 245, 240))
HEADER = ["video_id", "action_id", "action_name", "start_frame", "end_frame"]


def _polygon(shape):
    """Unit-radius outline of a shape, angle 0."""
    if shape == "circle":
        a = np.linspace(0, 2 * np.pi, 20, endpoint=False)
        return np.stack([np.cos(a), np.sin(a)], 1)
    if shape == "square":
        a = np.pi / 4 + np.arange(4) * np.pi / 2
        return np.stack([np.cos(a), np.sin(a)], 1)
    if shape == "triangle":
        a = np.arange(3) * 2 * np.pi / 3
        return np.stack([np.cos(a), np.sin(a)], 1)
    if shape == "diamond":
        return np.array([[1, 0], [0, 0.55], [-1, 0], [0, -0.55]], dtype=float)
    if shape == "bar":
        return np.array([[1, 0.35], [-1, 0.35], [-1, -0.35], [1, -0.35]], dtype=float)
    if shape == "cross":
        w = 0.35
        return np.array([[w, w], [w, 1], [-w, 1], [-w, w], [-1, w], [-1, -w], [-w, -w],
                         [-w, -1], [w, -1], [w, -w], [1, -w], [1, w]], dtype=float)
    raise ValueError(f"unknown shape {shape!r}")


def class_list(num_classes):
    """[(name, verb, colour name, rgb, shape)]: opposite verb pairs first, then more objects."""
    n_verbs = 2 if num_classes <= 4 else 4 if num_classes <= 4 * len(OBJECTS) else 8
    verbs = [v for pair in VERB_PAIRS for v in pair][:n_verbs]
    n_objects = math.ceil(num_classes / n_verbs)
    if num_classes < 2 or n_objects > len(OBJECTS):
        raise ValueError(f"classes must be in 2..{8 * len(OBJECTS)}, got {num_classes}")
    out = []
    for colour, rgb, shape in OBJECTS[:n_objects]:
        for verb in verbs:
            out.append((f"{verb}_{colour}_{shape}", verb, colour, rgb, shape))
    return out[:num_classes]


def object_pose(verb, t, cx, cy, radius, angle, travel):
    """(x, y, radius, angle) of the object at time ``t`` in [0, 1] of its segment."""
    d = (t - 0.5) * travel
    moves = {"move_right": (d, 0), "move_left": (-d, 0), "move_down": (0, d), "move_up": (0, -d)}
    if verb in moves:
        dx, dy = moves[verb]
        return cx + dx, cy + dy, radius, angle
    if verb in ("approach", "recede"):
        grow = 2 * t - 1 if verb == "approach" else 1 - 2 * t
        return cx, cy, radius * (1 + 0.45 * grow), angle
    turn = np.pi * (t - 0.5) * (1 if verb == "rotate_cw" else -1)
    return cx, cy, radius, angle + turn


def _draw(img, shape, rgb, x, y, radius, angle):
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    pts = _polygon(shape) @ rot.T * radius + (x, y)
    cv2.fillPoly(img, [np.round(pts * 16).astype(np.int32)], rgb, lineType=cv2.LINE_AA, shift=4)
    dot = np.array([0.5 * radius, 0.0]) @ rot.T + (x, y)
    cv2.circle(img, tuple(np.round(dot * 16).astype(int)), max(1, int(round(0.2 * radius * 16))),
               (25, 25, 25), -1, lineType=cv2.LINE_AA, shift=4)


class _Scene:
    """One recording: textured background, static clutter, drifting distractors, noise."""

    def __init__(self, rng, width, height, num_noise=4):
        self.width, self.height = width, height
        base = rng.uniform(60, 170, 3)
        blobs = cv2.resize(rng.uniform(-40, 40, (6, 8, 3)).astype(np.float32), (width, height),
                           interpolation=cv2.INTER_CUBIC)
        grain = cv2.GaussianBlur(rng.normal(0, 14, (height, width)).astype(np.float32), (0, 0), 1.2)
        bg = np.clip(base + blobs + grain[..., None], 0, 255).astype(np.uint8)
        for _ in range(3):
            x0, y0 = rng.uniform(0, width), rng.uniform(0, height)
            w, h = rng.uniform(0.1, 0.3) * width, rng.uniform(0.1, 0.3) * height
            colour = tuple(float(c) for c in rng.uniform(50, 180, 3))
            cv2.rectangle(bg, (int(x0), int(y0)), (int(x0 + w), int(y0 + h)), colour, -1)
        self.backgrounds = [
            np.clip(bg.astype(np.int16) + rng.normal(0, 3, bg.shape).astype(np.int16), 0, 255).astype(np.uint8)
            for _ in range(num_noise)
        ]
        s = min(width, height)
        self.distractors = [
            dict(shape=str(rng.choice(["circle", "square", "triangle", "bar"])),
                 rgb=DISTRACTOR_COLOURS[int(rng.integers(len(DISTRACTOR_COLOURS)))],
                 pos=np.array([rng.uniform(0.1, 0.9) * width, rng.uniform(0.1, 0.9) * height]),
                 vel=rng.normal(0, 0.01 * s, 2), radius=rng.uniform(0.06, 0.1) * s,
                 angle=rng.uniform(0, 2 * np.pi))
            for _ in range(2)
        ]
        self.rng = rng
        self.count = 0

    def frame(self, obj=None):
        """The next frame; ``obj`` = (shape, rgb, x, y, radius, angle) or None."""
        img = self.backgrounds[self.count % len(self.backgrounds)].copy()
        self.count += 1
        limits = np.array([self.width, self.height])
        for d in self.distractors:
            d["vel"] = 0.9 * d["vel"] + self.rng.normal(0, 0.004 * min(limits), 2)
            d["pos"] = np.clip(d["pos"] + d["vel"], 0.05 * limits, 0.95 * limits)
            _draw(img, d["shape"], d["rgb"], *d["pos"], d["radius"], d["angle"])
        if obj is not None:
            _draw(img, *obj)
        return img


def _segment_params(rng, width, height):
    s = min(width, height)
    return dict(cx=rng.uniform(0.38, 0.62) * width, cy=rng.uniform(0.38, 0.62) * height,
                radius=rng.uniform(0.1, 0.14) * s, angle=rng.uniform(0, 2 * np.pi),
                travel=rng.uniform(0.35, 0.45) * s)


def render_segment(scene, rng, cls, length):
    """Frames of one action: the object of ``cls`` performing its verb over ``length`` frames."""
    _, verb, _, rgb, shape = cls
    p = _segment_params(rng, scene.width, scene.height)
    frames = []
    for i in range(length):
        t = i / (length - 1) if length > 1 else 0.5
        frames.append(scene.frame((shape, rgb, *object_pose(verb, t, **p))))
    return frames


def _split_counts(videos):
    if videos < 3:
        raise ValueError(f"need at least 3 videos (train, val, test), got {videos}")
    n_val = max(1, round(0.2 * videos))
    n_test = max(1, round(0.2 * videos))
    return videos - n_val - n_test, n_val, n_test


def _label_sequence(rng, num_classes, count):
    """``count`` labels from shuffled rounds of all classes: every class appears, evenly."""
    rounds = [rng.permutation(num_classes) for _ in range(math.ceil(count / num_classes))]
    return np.concatenate(rounds)[:count].tolist()


def _write_csv(path, header, rows):
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_text_atomic(path, buf.getvalue())


def make_meccano_like(out_dir, classes=8, videos=10, size=(128, 96), seed=0, segments_per_video=30,
                      segment_frames=(10, 24), length_pool=None, quality=90):
    """Write a MECCANO-format dataset to ``out_dir``; returns a summary dict.

    ``videos`` recordings (60/20/20 % train/val/test, ids 0001...), each a sequence of
    ``segments_per_video`` actions of ``segment_frames`` (inclusive range) frames, or
    lengths drawn from ``length_pool``, separated by 0-3 idle frames. Frames go to
    ``frames/<video>/%05d.jpg``; ``annotations/`` gets MECCANO_{train,val,test}_actions.csv
    and MECCANO_action_classes.csv, written last, so their presence means the data is complete.
    Use DATA.PATH_TO_DATA_DIR ``out_dir`` and DATA.PATH_TO_ANNOTATIONS ``out_dir/annotations``.
    """
    width, height = size
    cls = class_list(classes)
    counts = dict(zip(("train", "val", "test"), _split_counts(videos)))
    split_of = ["train"] * counts["train"] + ["val"] * counts["val"] + ["test"] * counts["test"]
    rng = np.random.default_rng([seed, 0])
    labels = {s: _label_sequence(rng, classes, n * segments_per_video) for s, n in counts.items()}
    rows = {s: [] for s in counts}
    for v, split in enumerate(split_of):
        video = f"{v + 1:04d}"
        vrng = np.random.default_rng([seed, 1, v])
        scene = _Scene(vrng, width, height)
        folder = os.path.join(out_dir, "frames", video)
        os.makedirs(folder, exist_ok=True)
        number = 1
        first = split_of.index(split)
        for k in range(segments_per_video):
            label = labels[split][(v - first) * segments_per_video + k]
            for _ in range(int(vrng.integers(0, 4))):
                _write_jpeg(folder, number, scene.frame(), quality)
                number += 1
            if length_pool is not None:
                length = int(vrng.choice(length_pool))
            else:
                length = int(vrng.integers(segment_frames[0], segment_frames[1] + 1))
            start = number
            for img in render_segment(scene, vrng, cls[label], length):
                _write_jpeg(folder, number, img, quality)
                number += 1
            digits = 6 if vrng.random() < 0.25 else 5
            rows[split].append([video, str(label), cls[label][0],
                                f"{start:0{digits}d}.jpg", f"{number - 1:0{digits}d}.jpg"])
    ann = os.path.join(out_dir, "annotations")
    os.makedirs(ann, exist_ok=True)
    per_split = {s: np.bincount([int(r[1]) for r in rows[s]], minlength=classes) for s in rows}
    class_rows = [[str(i), c[0], c[1], f"{c[2]}_{c[4]}", *(str(per_split[s][i]) for s in rows),
                   str(sum(per_split[s][i] for s in rows))] for i, c in enumerate(cls)]
    _write_csv(os.path.join(ann, "MECCANO_action_classes.csv"),
               ["action_id", "action_name", "verb", "objects", "n_train", "n_val", "n_test", "n_total"],
               class_rows)
    for split in counts:
        _write_csv(os.path.join(ann, f"MECCANO_{split}_actions.csv"), HEADER, rows[split])
    return {"data_dir": out_dir, "annotations": ann, "class_names": [c[0] for c in cls],
            "segments": {s: len(r) for s, r in rows.items()}}


def _write_jpeg(folder, number, img, quality):
    with open(os.path.join(folder, f"{number:05d}.jpg"), "wb") as f:
        f.write(simplejpeg.encode_jpeg(img, quality=quality, colorspace="RGB", colorsubsampling="420"))


_CODECS = {"mp4": "libx264", "mkv": "libx264", "avi": "mpeg4", "webm": "libvpx-vp9"}


def write_video(path, frames, fps):
    """Encode RGB frames with PyAV (single-threaded, so the bytes are reproducible)."""
    ext = os.path.splitext(path)[1].lstrip(".")
    if ext not in _CODECS:
        raise ValueError(f"{path}: container must be one of {', '.join(_CODECS)}")
    height, width = frames[0].shape[:2]
    with av.open(path, "w") as container:
        stream = container.add_stream(_CODECS[ext], rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.thread_count = 1
        if _CODECS[ext] == "libx264":
            stream.options = {"crf": "18", "preset": "veryfast"}
        for img in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        container.mux(stream.encode())


def make_video_folder(out_dir, classes=8, videos=96, size=(128, 96), seed=0, frames=(20, 30), fps=12,
                      ext="mp4"):
    """Write ``<class>/<class>_<k>.<ext>`` clips, one action each, plus split lists.

    ``videos`` clips in all, spread evenly over classes, 60/20/20 % per class into
    ``train.txt``/``val.txt``/``test.txt`` (``<class>/<file>`` lines); ``classes.txt``
    names the classes. Use DATA.PATH_TO_DATA_DIR ``out_dir`` with TRAIN.DATASET video_folder.
    """
    width, height = size
    cls = class_list(classes)
    per_class = videos // classes
    n_train, n_val, _ = _split_counts(per_class)
    lists = {"train": [], "val": [], "test": []}
    for label, c in enumerate(cls):
        os.makedirs(os.path.join(out_dir, c[0]), exist_ok=True)
        for k in range(per_class):
            rng = np.random.default_rng([seed, 2, label, k])
            scene = _Scene(rng, width, height)
            length = int(rng.integers(frames[0], frames[1] + 1))
            pad = [scene.frame() for _ in range(int(rng.integers(0, 3)))]
            clip = pad + render_segment(scene, rng, c, length)
            name = f"{c[0]}/{c[0]}_{k:03d}.{ext}"
            write_video(os.path.join(out_dir, name), clip, fps)
            split = "train" if k < n_train else "val" if k < n_train + n_val else "test"
            lists[split].append(name)
    for split, names in lists.items():
        write_text_atomic(os.path.join(out_dir, f"{split}.txt"), "".join(n + "\n" for n in names))
    write_text_atomic(os.path.join(out_dir, "classes.txt"), "".join(c[0] + "\n" for c in cls))
    return {"data_dir": out_dir, "class_names": [c[0] for c in cls],
            "videos": {s: len(n) for s, n in lists.items()}}
