"""Issue 9, row 1: unreadable frames and videos are replaced and counted in training, fatal in val/test.

Every fault is injected into real files of a synthetic dataset: MECCANO-format JPEG frames
(missing, zero bytes, truncated, PNG bytes under a .jpg name, a frame of another size) and
video files (truncated mp4, a JPEG or text under an .mp4 name, no frames, a decoder that
fails after two frames). Training must hand back a replacement sample, say which file was
bad and count it; evaluation must stop with the file and the reason; both through worker
processes too, so a worker never dies silently.
"""
import json
import logging
import os
import pathlib
import shutil

import av
import cv2
import numpy as np
import pytest
import simplejpeg

from slowfast.config import load_config
from slowfast.datasets import build_dataset
from slowfast.datasets import frames as frames_module
from slowfast.datasets.errors import BadInputError
from slowfast.datasets.loader import build_loader, set_epoch
from slowfast.datasets.synthetic import make_video_folder
from slowfast.engine.runner import run
from tests.engine.tiny import install
from tests.faults.helpers import copy_data, error_text, meccano_cfg, run_cfg


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _png_bytes(path):
    img = np.full((48, 64, 3), 120, np.uint8)
    path.write_bytes(cv2.imencode(".png", img)[1].tobytes())


def _double_size(path):
    img = simplejpeg.decode_jpeg(path.read_bytes())
    path.write_bytes(simplejpeg.encode_jpeg(cv2.resize(img, (img.shape[1] * 2, img.shape[0] * 2))))


# kind -> (injection into a frame file, words of the reason in the error).
FRAME_FAULTS = {
    "missing": (os.remove, "cannot read"),
    "zero_bytes": (lambda p: p.write_bytes(b""), "empty file"),
    "truncated_jpeg": (_truncate, "corrupt or truncated JPEG"),
    "not_jpeg": (_png_bytes, "not a readable JPEG"),
    "wrong_size": (_double_size, "frame is 128x96"),
}


@pytest.fixture(scope="module")
def broken_frames(tiny_meccano, tmp_path_factory):
    """Segment k of train and of test gets fault k: the first frame, or every later one for a size change."""
    root = copy_data(tiny_meccano, tmp_path_factory.mktemp("frames"))
    broken = {}
    for split in ("train", "test"):
        dataset = build_dataset(meccano_cfg(root), split)
        for k, (kind, (inject, _)) in enumerate(FRAME_FAULTS.items()):
            seg = dataset.segments[k]
            numbers = range(seg.start + 1, seg.end + 1) if kind == "wrong_size" else [seg.start]
            paths = [dataset.frame_path(seg.video, n) for n in numbers]
            for path in paths:
                inject(pathlib.Path(path))
            broken[(split, kind)] = set(paths)
    return root, broken


@pytest.mark.parametrize("k, kind", list(enumerate(FRAME_FAULTS)))
def test_training_replaces_a_bad_frame_warns_and_counts(broken_frames, k, kind, caplog):
    root, broken = broken_frames
    dataset = build_dataset(meccano_cfg(root), "train")
    with caplog.at_level(logging.WARNING):
        clip, label, index, meta = dataset[(k, 0, 0)]
    assert meta["bad"] >= 1 and meta["bad_files"][0] in broken[("train", kind)]
    assert index != k and label == dataset.sample_labels[index] and clip.shape == (3, 4, 32, 32)
    assert meta["bad_files"][0] in caplog.text and FRAME_FAULTS[kind][1] in caplog.text


@pytest.mark.parametrize("k, kind", list(enumerate(FRAME_FAULTS)))
def test_evaluation_stops_naming_the_file_and_reason(broken_frames, k, kind):
    root, broken = broken_frames
    dataset = build_dataset(meccano_cfg(root), "test")
    with pytest.raises(BadInputError, match=FRAME_FAULTS[kind][1]) as err:
        dataset[k]
    assert err.value.path in broken[("test", kind)] and err.value.path in str(err.value)


def test_loader_workers_carry_the_counts_and_raise_in_the_main_process(broken_frames):
    root, broken = broken_frames
    # Batch 7 over 21 training samples: every sample is loaded once, none dropped.
    loader = build_loader(meccano_cfg(root, "DATA_LOADER.NUM_WORKERS", "2", "TRAIN.BATCH_SIZE", "7"), "train")
    set_epoch(loader, 0)
    batches = list(loader)
    assert len(batches) == 3 and all(b[0].shape == (7, 3, 4, 32, 32) for b in batches)
    bad_files = [f for b in batches for files in b[3]["bad_files"] for f in files]
    assert sum(int(b[3]["bad"].sum()) for b in batches) == len(bad_files) >= len(FRAME_FAULTS)
    for kind in FRAME_FAULTS:
        assert broken[("train", kind)] & set(bad_files), kind
    test_loader = build_loader(meccano_cfg(root, "DATA_LOADER.NUM_WORKERS", "2"), "test")
    # The worker's error reaches the caller with the file named; nothing hangs or vanishes.
    message = error_text(list, test_loader)
    assert "BadInputError" in message
    assert any(path in message for kind in FRAME_FAULTS for path in broken[("test", kind)])


def test_a_run_trains_through_bad_frames_then_refuses_to_test_on_them(broken_frames, tmp_path, monkeypatch):
    root, broken = broken_frames
    install(monkeypatch)
    out = tmp_path / "run"
    cfg = run_cfg(root, out, DATA_LOADER__NUM_WORKERS=2, TRAIN__BATCH_SIZE=7, DATA__MAX_BAD_FRACTION=0.5,
                  TRAIN__EVAL_PERIOD=100)
    message = error_text(run, cfg)
    assert "BadInputError" in message
    assert any(path in message for kind in FRAME_FAULTS for path in broken[("test", kind)])
    epochs = [json.loads(line) for line in (out / "json_stats.log").read_text().splitlines()]
    epochs = [e for e in epochs if e["_type"] == "train_epoch"]
    assert len(epochs) == 1 and epochs[0]["bad_items"] >= len(FRAME_FAULTS)
    assert "unreadable items replaced" in (out / "stdout.log").read_text()
    assert (out / "checkpoints" / "checkpoint_epoch_00001.pyth").is_file()


def test_default_bad_fraction_stops_training_naming_files(broken_frames, tmp_path, monkeypatch):
    root, broken = broken_frames
    install(monkeypatch)
    cfg = run_cfg(root, tmp_path / "run", TRAIN__BATCH_SIZE=7, TEST__ENABLE=False)
    with pytest.raises(RuntimeError, match=r"items were unreadable, more than DATA.MAX_BAD_FRACTION=0.01") as err:
        run(cfg)
    assert any(path in str(err.value) for kind in FRAME_FAULTS for path in broken[("train", kind)])
    assert not (tmp_path / "run" / "checkpoints").exists()


# ---- videos ---------------------------------------------------------------------------------
def _zero_frames(path):
    """A container with a video stream header and no frame (an encoder that died at once)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "yuv420p"
        container.start_encoding()


VIDEO_FAULTS = {
    "truncated_mp4": (_truncate, "cannot open video"),
    "jpeg_named_mp4": (lambda p: p.write_bytes(simplejpeg.encode_jpeg(np.zeros((24, 32, 3), np.uint8))),
                       "a still image"),
    "text_named_mp4": (lambda p: p.write_text("not a video\n" * 50), "cannot open video"),
    "zero_frames": (_zero_frames, "no video stream"),
}


def _video_cfg(root, *opts):
    return load_config(None, ["NUM_GPUS", "0", "TRAIN.DATASET", "video_folder", "TEST.DATASET", "video_folder",
                              "MODEL.NUM_CLASSES", "2", "DATA.PATH_TO_DATA_DIR", str(root),
                              "DATA.NUM_FRAMES", "4", "DATA.SAMPLING_METHOD", "segment_uniform",
                              "DATA.TRAIN_JITTER_SCALES", "[24, 24]", "DATA.TRAIN_CROP_SIZE", "24",
                              "DATA.TEST_CROP_SIZE", "24", "TEST.NUM_ENSEMBLE_VIEWS", "1",
                              "TEST.NUM_SPATIAL_CROPS", "1", "DATA_LOADER.NUM_WORKERS", "0", *opts])


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """Two classes x 15 clips (9 train / 3 val / 3 test each); train and test line k get fault k."""
    root = tmp_path_factory.mktemp("videos")
    make_video_folder(str(root), classes=2, videos=30, size=(32, 24), seed=4, frames=(24, 26))
    pristine = root / "pristine"
    pristine.mkdir()
    broken = {}
    for split in ("train", "test"):
        names = (root / f"{split}.txt").read_text().split()
        for k, (kind, (inject, _)) in enumerate(VIDEO_FAULTS.items()):
            path = root / names[k]
            shutil.copy(path, pristine / f"{split}_{k}.mp4")
            inject(path)
            broken[(split, kind)] = str(path)
    return root, broken


@pytest.mark.parametrize("k, kind", list(enumerate(VIDEO_FAULTS)))
def test_bad_videos_are_replaced_in_training_and_fatal_in_test(videos, k, kind, caplog):
    root, broken = videos
    cfg = _video_cfg(root)
    with caplog.at_level(logging.WARNING):
        clip, label, index, meta = build_dataset(cfg, "train")[(k, 0, 0)]
    assert meta["bad"] >= 1 and meta["bad_files"][0] == broken[("train", kind)] and index != k
    assert broken[("train", kind)] in caplog.text and clip.shape == (3, 4, 24, 24)
    with pytest.raises(BadInputError, match=VIDEO_FAULTS[kind][1]) as err:
        build_dataset(cfg, "test")[k]
    assert err.value.path == broken[("test", kind)]


def test_a_misleading_extension_on_a_real_video_decodes_by_content(videos, tmp_path):
    """An mp4 saved as .avi is no fault: FFmpeg probes the content, frames are identical."""
    root, _ = videos
    original = str(root / "pristine" / "train_0.mp4")
    renamed = str(tmp_path / "clip.avi")
    shutil.copy(original, renamed)
    with frames_module.VideoReader(original) as a, frames_module.VideoReader(renamed) as b:
        assert a.num_frames == b.num_frames
        got_a, got_b = a.read(range(a.num_frames)), b.read(range(b.num_frames))
    assert all(np.array_equal(got_a[i], got_b[i]) for i in got_a)


class _FailingContainer:
    """A real container whose decoder raises an FFmpeg error after ``good`` frames."""

    def __init__(self, container, good):
        self._container, self._good = container, good

    def __getattr__(self, name):
        return getattr(self._container, name)

    def decode(self, *args, **kwargs):
        for count, frame in enumerate(self._container.decode(*args, **kwargs)):
            if count == self._good:
                raise av.error.InvalidDataError(-1094995529, "Invalid data found when processing input")
            yield frame


def test_a_stream_that_errors_mid_way(videos, monkeypatch):
    root, _ = videos
    names = {split: (root / f"{split}.txt").read_text().split() for split in ("train", "val")}
    victims = {str(root / names["train"][6]), str(root / names["val"][4])}
    real_open = av.open

    def failing_open(path, *args, **kwargs):
        container = real_open(path, *args, **kwargs)
        return _FailingContainer(container, 2) if str(path) in victims else container

    monkeypatch.setattr(frames_module.av, "open", failing_open)
    cfg = _video_cfg(root)
    meta = build_dataset(cfg, "train")[(6, 0, 0)][3]
    assert meta["bad_files"][:1] == [str(root / names["train"][6])]
    with pytest.raises(BadInputError, match="corrupt or truncated video .*Invalid data") as err:
        build_dataset(cfg, "val")[4]
    assert err.value.path == str(root / names["val"][4])
    # Forked workers inherit the fault: the error crosses the process boundary with the file named.
    loader = build_loader(_video_cfg(root, "DATA_LOADER.NUM_WORKERS", "2", "TEST.BATCH_SIZE", "2"), "val")
    message = error_text(list, loader)
    assert "BadInputError" in message and str(root / names["val"][4]) + ": corrupt or truncated video" in message
