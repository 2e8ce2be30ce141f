"""Frames of the input, in order: a video file (PyAV) or a MECCANO-style folder of JPEGs.

Frames are streamed, never all held in memory, so hour-long inputs work.
"""
import os
import re

import av
import numpy as np
import simplejpeg
from PIL import Image

_IMAGE_EXT = (".jpg", ".jpeg", ".png")


class InputError(ValueError):
    """An input that cannot be read; the message names the path."""


class VideoSource:
    """A video file decoded with PyAV; fps from the container."""

    is_video = True

    def __init__(self, path):
        self.path = path
        try:
            with av.open(path) as container:
                if not container.streams.video:
                    raise InputError(f"{path}: no video stream")
                stream = container.streams.video[0]
                rate = stream.average_rate or stream.guessed_rate
                self.fps = float(rate) if rate else 25.0
                self.rate = rate
        except av.error.FFmpegError as e:
            raise InputError(f"{path}: cannot be decoded by PyAV ({e})") from e

    def frames(self):
        """Yield H x W x 3 uint8 RGB frames."""
        try:
            with av.open(self.path) as container:
                for frame in container.decode(video=0):
                    yield frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as e:
            raise InputError(f"{self.path}: decoding failed ({e})") from e


def _frame_number(name):
    digits = re.findall(r"\d+", os.path.splitext(name)[0])
    return int(digits[-1]) if digits else None


class FolderSource:
    """A folder of numbered images (``00001.jpg``, ``010122.jpg``: the number, not the string, orders)."""

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

    def frames(self):
        for name in self.files:
            file = os.path.join(self.path, name)
            try:
                with open(file, "rb") as f:
                    data = f.read()
                if simplejpeg.is_jpeg(data):
                    yield simplejpeg.decode_jpeg(data, colorspace="RGB")
                else:
                    yield np.asarray(Image.open(file).convert("RGB"))
            except (OSError, ValueError) as e:
                raise InputError(f"{file}: cannot be decoded ({e})") from e


def open_source(path, folder_fps):
    """A :class:`VideoSource` or :class:`FolderSource` for ``path``."""
    if os.path.isdir(path):
        return FolderSource(path, folder_fps)
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such file or folder")
    return VideoSource(path)
