"""Decoding: reduced-size JPEG decode quality, real and written videos, bad files."""
import os
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest
import simplejpeg

from slowfast.datasets.errors import BadInputError
from slowfast.datasets.frames import VideoReader, decode_jpeg, jpeg_size, read_bytes
from slowfast.datasets.synthetic import _Scene, write_video
from slowfast.datasets.transforms import scale_jitter_crop
from tests.conftest import SHARED

REAL_CLIPS = {  # file: (frames, width, height)
    "kinetics_arm_wrestling.mp4": (280, 340, 256),
    "kth_person01_boxing_d2.mp4": (390, 160, 120),
    "ucf_style_test.avi": (164, 320, 240),
}


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0**2 / mse)


@pytest.fixture(scope="module")
def frame_720p():
    scene = _Scene(np.random.default_rng(0), 1280, 720)
    img = scene.frame(("circle", (40, 80, 230), 640.0, 360.0, 90.0, 0.3))
    return simplejpeg.encode_jpeg(img, quality=90, colorspace="RGB", colorsubsampling="420")


def test_reduced_decode_matches_full_decode_plus_resize(frame_720p):
    full = decode_jpeg(frame_720p, "f.jpg")
    small = decode_jpeg(frame_720p, "f.jpg", 320, 180)
    assert full.shape == (720, 1280, 3) and small.shape == (180, 320, 3)  # DCT scale 1/4
    reference = cv2.resize(full, (320, 180), interpolation=cv2.INTER_AREA)
    assert psnr(small, reference) > 30
    # Less than 2x larger than needed: decoded at full size.
    assert decode_jpeg(frame_720p, "f.jpg", 700, 400).shape == (720, 1280, 3)


def test_crop_plan_gives_the_same_clip_from_reduced_and_full_decode(frame_720p):
    plan = scale_jitter_crop(1280, 720, np.random.default_rng(1), 160, 200, 128, flip=True)
    min_w, min_h = plan.decode_size(1280, 720)
    reduced = decode_jpeg(frame_720p, "f.jpg", min_w, min_h)
    assert reduced.shape[0] < 720  # the plan allowed a reduced decode
    a = plan.apply(reduced, 1280, 720)
    b = plan.apply(decode_jpeg(frame_720p, "f.jpg"), 1280, 720)
    assert a.shape == b.shape == (128, 128, 3)
    assert psnr(a, b) > 30


@pytest.mark.parametrize("name", sorted(REAL_CLIPS))
def test_real_clips_decode_and_seek_to_the_same_frames(name):
    path = os.path.join(SHARED, "realclips", name)
    frames, width, height = REAL_CLIPS[name]
    with av.open(path) as container:
        sequential = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(sequential) == frames
    with VideoReader(path) as video:
        assert (video.num_frames, video.width, video.height) == (frames, width, height)
    # The later ones need a seek. (The AVI mislabels the pts of its frames 2-3, which FFmpeg's
    # best-effort timestamp rule only detects one frame late: those two are not asked for.)
    wanted = [0, 1, 9, 40, frames // 2, frames - 30, frames - 1]
    with VideoReader(path) as video:
        got = video.read(wanted)
    assert sorted(got) == sorted(wanted)
    for i in wanted:
        assert got[i].shape == (height, width, 3)
        assert np.array_equal(got[i], sequential[i]), (name, i)


def test_real_clip_reduced_conversion(tmp_path):
    path = os.path.join(SHARED, "realclips", "kinetics_arm_wrestling.mp4")
    with VideoReader(path) as video:
        small = video.read([10], min_width=100, min_height=75)[10]
        full = video.read([10])[10]
    # Scaled by min(340 / 100, 256 / 75) = 3.4 in the conversion: 100 x ceil(75.3).
    assert small.shape == (76, 100, 3)
    assert psnr(small, cv2.resize(full, (100, 76), interpolation=cv2.INTER_AREA)) > 30


@pytest.mark.parametrize("ext", ["mp4", "avi", "mkv", "webm"])
def test_containers_portrait_frames(tmp_path, ext):
    frames = [np.full((64, 32, 3), 8 * i, np.uint8) for i in range(20)]  # portrait 32x64, ramp
    path = str(tmp_path / f"ramp.{ext}")
    write_video(path, frames, fps=10)
    with VideoReader(path) as video:
        assert (video.width, video.height) == (32, 64)
        got = video.read([0, 7, 19])
    for i, img in got.items():
        assert abs(float(img.mean()) - 8 * i) < 6, (ext, i)


def _write_raw(path, codec, pix_fmt, frames, pts_ms):
    with av.open(path, "w") as container:
        stream = container.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], pix_fmt
        stream.time_base = stream.codec_context.time_base = Fraction(1, 1000)
        src_fmt = "gray" if frames[0].ndim == 2 else "rgb24"
        for img, pts in zip(frames, pts_ms):
            frame = av.VideoFrame.from_ndarray(img, format=src_fmt)
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def test_grayscale_video_gives_rgb(tmp_path):
    path = str(tmp_path / "gray.mkv")
    _write_raw(path, "ffv1", "gray", [np.full((24, 32), 40 * i, np.uint8) for i in range(5)], [0, 100, 200, 300, 400])
    with VideoReader(path) as video:
        img = video.read([2])[2]
    assert img.shape == (24, 32, 3) and np.all(img == 80)


def test_variable_frame_rate_maps_to_the_nearest_frame(tmp_path):
    path = str(tmp_path / "vfr.mkv")
    pts = [0, 100, 150, 400, 500, 1000]  # irregular timestamps (ms)
    _write_raw(path, "ffv1", "gray", [np.full((16, 16), 40 * i, np.uint8) for i in range(6)], pts)
    with av.open(path) as container:
        assert [f.pts for f in container.decode(video=0)] == pts
    with VideoReader(path) as video:
        fps = video.fps
        got = video.read(range(int(1.0 * fps) + 1))
    assert len(got) > 6  # more grid points than frames: some frames are used twice
    for i, img in got.items():
        nearest = int(np.argmin([abs(p / 1000 - i / fps) for p in pts]))
        assert img[0, 0, 0] == 40 * nearest, (i, fps)


def test_bad_jpegs_name_the_file(tmp_path, frame_720p):
    missing = tmp_path / "missing.jpg"
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(os.urandom(2000))
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(frame_720p[: len(frame_720p) // 2])
    for path, words in [(missing, "cannot read"), (empty, "empty")]:
        with pytest.raises(BadInputError, match=words) as err:
            read_bytes(str(path))
        assert err.value.path == str(path)
    with pytest.raises(BadInputError, match="corrupt.jpg"):
        jpeg_size(read_bytes(str(corrupt)), str(corrupt))
    with pytest.raises(BadInputError, match="truncated.jpg: corrupt or truncated"):
        decode_jpeg(read_bytes(str(truncated)), str(truncated))


def test_unreadable_and_truncated_videos_name_the_file(tmp_path):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(os.urandom(5000))
    with pytest.raises(BadInputError, match="garbage.mp4"):
        VideoReader(str(garbage))
    data = open(os.path.join(SHARED, "realclips", "kth_person01_boxing_d2.mp4"), "rb").read()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(BadInputError, match="cut.mp4"):
        with VideoReader(str(cut)) as video:
            video.read([video.num_frames - 1])


def test_multi_threaded_decoder_gives_the_same_frames():
    """DATA_LOADER.ENABLE_MULTI_THREAD_DECODE switches VideoReader to FFmpeg's own threading."""
    path = os.path.join(SHARED, "realclips", "kinetics_arm_wrestling.mp4")
    with VideoReader(path) as one, VideoReader(path, threads=0) as auto:
        a, b = one.read([5, 200]), auto.read([5, 200])
    assert all(np.array_equal(a[i], b[i]) for i in (5, 200))
