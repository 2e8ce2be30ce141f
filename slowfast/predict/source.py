"""Frames of the input, in order: a video file (PyAV) or a MECCANO-style folder of JPEGs.

Frames are streamed, never all held in memory, so hour-long inputs work. Given a crop
(see ``transform.TestCrop``) a frame is decoded at the reduced size the dataset readers
would use for that crop (JPEG DCT scaling, scaling in PyAV's colour conversion), so
prediction sees the same pixels as the engine's test.
"""
import math
import os
import re

import av
import numpy as np
from PIL import Image

from slowfast.datasets.errors import BadInputError
from slowfast.datasets.frames import decode_jpeg, jpeg_size, read_bytes

_IMAGE_EXT = (".jpg", ".jpeg", ".png")


class InputError(ValueError):
    """An input that cannot be read; the message names the path."""


def _video_scale(width, height, min_w, min_h):
    """PyAV conversion size: as slowfast.datasets.frames.VideoReader.read picks it."""
    if min_w > 0 and min_h > 0 and width >= 2 * min_w and height >= 2 * min_h:
        factor = min(width / min_w, height / min_h)
        return dict(width=int(math.ceil(width / factor)), height=int(math.ceil(height / factor)),
                    interpolation="AREA")
    return {}


class VideoSource:
    """A video file decoded with PyAV in presentation order; fps from the container."""

    is_video = True

    def __init__(self, path):
        self.path = path
        try:
            with av.open(path) as container:
                if not container.streams.video:
                    raise InputError(f"{path}: no video stream")
                stream = container.streams.video[0]
                self.rate = stream.average_rate or stream.guessed_rate
                self.fps = float(self.rate) if self.rate else 25.0
        except av.FFmpegError as e:
            raise InputError(f"{path}: cannot be opened by PyAV ({e})") from e

    def frames(self, crop=None):
        """Yield (RGB uint8 image, source width, source height), reduced for ``crop`` if given."""
        try:
            with av.open(self.path) as container:
                size = None
                for frame in container.decode(video=0):
                    if size is None:
                        size = {} if crop is None else _video_scale(
                            frame.width, frame.height, *crop.decode_size(frame.width, frame.height))
                    yield frame.to_ndarray(format="rgb24", **size), frame.width, frame.height
        except av.FFmpegError as e:
            raise InputError(f"{self.path}: decoding failed ({e})") from e


def _frame_number(name):
    digits = re.findall(r"\d+", os.path.splitext(name)[0])
    return int(digits[-1]) if digits else None


class FolderSource:
    """A folder of numbered images (``09999.jpg`` then ``010000.jpg``: the number orders them)."""

    is_video = False

    def __init__(self, path, fps):
        self.path = path
        self.fps = float(fps)
        self.rate = None
        names = [n for n in os.listdir(path) if n.lower().endswith(_IMAGE_EXT)]
        unnumbered = [n for n in names if _frame_number(n) is None]
        if unnumbered:
            raise InputError(f"{path}: frame file without a number: {unnumbered[0]}")
        if not names:
            raise InputError(f"{path}: no .jpg/.png frames in the folder")
        self.files = sorted(names, key=_frame_number)

    def frames(self, crop=None):
        for name in self.files:
            file = os.path.join(self.path, name)
            try:
                if name.lower().endswith(".png"):
                    img = np.asarray(Image.open(file).convert("RGB"))
                    yield img, img.shape[1], img.shape[0]
                    continue
                data = read_bytes(file)
                w, h = jpeg_size(data, file)
                min_size = crop.decode_size(w, h) if crop is not None else (0, 0)
                yield decode_jpeg(data, file, *min_size), w, h
            except (BadInputError, OSError) as e:
                raise InputError(str(e)) from e


def open_source(path, folder_fps):
    """A :class:`VideoSource` or :class:`FolderSource` for ``path``."""
    if os.path.isdir(path):
        return FolderSource(path, folder_fps)
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such file or folder")
    return VideoSource(path)
