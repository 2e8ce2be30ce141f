"""tools/predict.py on the three real clips and on a frames folder, with a tiny random model."""
import csv
import json
import os

import av
import cv2
import numpy as np
import pytest
import simplejpeg
import torch

from slowfast.config import load_config
from slowfast.datasets.frames import VideoReader, decode_jpeg, jpeg_size
from slowfast.datasets.sampling import TemporalSampler
from slowfast.datasets.transforms import uniform_crop
from slowfast.engine.checkpoint import save_checkpoint
from slowfast.engine.model_setup import InputPrep
from slowfast.models import build_model
from tests.conftest import REPO, SHARED

CLIPS = {  # file -> frames, from ../shared/realclips/README.md
    "kth_person01_boxing_d2.mp4": 390,
    "kinetics_arm_wrestling.mp4": 280,
    "ucf_style_test.avi": 164,
}
NAMES = ["reach", "grasp", "turn", "push", "idle"]
TINY = """\
MODEL: {ARCH: cnn_lstm, MODEL_NAME: CNNLSTM, NUM_CLASSES: 5}
CNN_LSTM: {WIDTH_MULT: 0.25, HIDDEN_SIZE: 8}
DATA: {NUM_FRAMES: 4, SAMPLING_RATE: 4, SAMPLING_METHOD: stride, TARGET_FPS: 30, FPS: 12,
       TEST_CROP_SIZE: 32, TRAIN_CROP_SIZE: 32, INPUT_CHANNEL_NUM: [3],
       MEAN: [0.485, 0.456, 0.406], STD: [0.229, 0.224, 0.225]}
NUM_GPUS: 0
"""


def _load_cli():
    import importlib.util

    spec = importlib.util.spec_from_file_location("predict_cli", os.path.join(REPO, "tools", "predict.py"))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    return cli


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict")
    cfg_file = root / "tiny.yaml"
    cfg_file.write_text(TINY)
    names = root / "names.json"
    names.write_text(json.dumps(NAMES))
    cfg = load_config(str(cfg_file), [])
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    ckpt = str(root / "tiny.pyth")
    save_checkpoint(ckpt, model, torch.optim.SGD(model.parameters(), lr=0.1), 0, cfg)
    return dict(root=root, cfg=cfg, cfg_file=str(cfg_file), names=str(names), ckpt=ckpt, model=model,
                cli=_load_cli())


def _decode(path):
    with av.open(path) as c:
        fps = float(c.streams.video[0].average_rate)
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)], fps


def _expected_scores(setup, clip):
    """The engine's test path by hand: its normalisation, the model, softmax."""
    cfg = setup["cfg"]
    x = InputPrep.from_cfg(cfg, torch.device("cpu"), setup["model"])(clip[None])
    with torch.no_grad():
        return torch.softmax(setup["model"](x), dim=1)[0]


def _video_clip(setup, path, indices):
    """The clip the datasets' readers make: VideoReader.read at the crop's decode size, crop plan."""
    size = setup["cfg"].DATA.TEST_CROP_SIZE
    with VideoReader(path) as reader:
        plan = uniform_crop(reader.width, reader.height, size, size, 1)
        frames = reader.read(indices, *plan.decode_size(reader.width, reader.height))
        clip = np.stack([plan.apply(frames[i], reader.width, reader.height) for i in indices])
    return torch.from_numpy(clip).permute(3, 0, 1, 2)


def _jpeg_clip(setup, jpegs, indices):
    size = setup["cfg"].DATA.TEST_CROP_SIZE
    w, h = jpeg_size(jpegs[0], "frame")
    plan = uniform_crop(w, h, size, size, 1)
    clip = np.stack([plan.apply(decode_jpeg(jpegs[i], "frame", *plan.decode_size(w, h)), w, h) for i in indices])
    return torch.from_numpy(clip).permute(3, 0, 1, 2)


@pytest.mark.parametrize("clip", sorted(CLIPS))
def test_real_clip_json_and_labelled_video(setup, clip, capsys):
    src = os.path.join(SHARED, "realclips", clip)
    out_json = str(setup["root"] / f"{clip}.json")
    out_video = str(setup["root"] / f"{clip}.labelled.mp4")
    rc = setup["cli"].main(["--cfg", setup["cfg_file"], "--checkpoint", setup["ckpt"], src, "--topk", "3",
                            "--class-names", setup["names"], "--out", out_json, "--out-video", out_video])
    assert rc == 0, capsys.readouterr().err
    result = json.load(open(out_json))
    frames, fps = _decode(src)
    assert result["total_frames"] == len(frames) == CLIPS[clip]
    assert result["fps"] == pytest.approx(fps)
    # Span: NUM_FRAMES x SAMPLING_RATE at 30 fps, in this clip's frames; stride: half of it.
    span = round(4 * 4 * fps / 30)
    assert result["window"]["span"] == span and result["window"]["stride"] == span // 2
    assert len(result["windows"]) == (len(frames) - span) // (span // 2) + 1
    sampler = TemporalSampler("stride", 4, 4)
    for n, w in enumerate(result["windows"]):
        assert w["window"] == n and w["start_frame"] == n * (span // 2)
        assert w["end_frame"] == w["start_frame"] + span - 1
        expected_idx = sampler(w["start_frame"], w["end_frame"], 0, len(frames) - 1, rate_scale=fps / 30)
        assert w["frame_indices"] == expected_idx.tolist()
        assert [t["rank"] for t in w["topk"]] == [1, 2, 3]
        scores = [t["score"] for t in w["topk"]]
        assert scores == sorted(scores, reverse=True) and sum(scores) <= 1 + 1e-6
        assert all(t["class_name"] == NAMES[t["class_id"]] for t in w["topk"])
    # Same crop and normalisation as the engine's test: scores equal a hand-built clip's.
    for w in (result["windows"][0], result["windows"][-1]):
        probs = _expected_scores(setup, _video_clip(setup, src, w["frame_indices"]))
        top = [t["class_id"] for t in w["topk"]]
        assert [t["score"] for t in w["topk"]] == pytest.approx(probs[top].tolist(), abs=1e-5)
    out_frames, _ = _decode(out_video)
    assert len(out_frames) == len(frames)
    h, w = frames[0].shape[:2]
    out_h, out_w = out_frames[0].shape[:2]
    # Enlarged to a legible size (short side >= 360), aspect ratio kept, even sides.
    assert min(out_h, out_w) >= 360 and out_h % 2 == 0 and out_w % 2 == 0
    assert out_w / out_h == pytest.approx(w / h, rel=0.02)
    # The label banner darkens the top rows; the bottom of the frame is the input's picture.
    shrunk = cv2.resize(out_frames[10], (w, h), interpolation=cv2.INTER_AREA)
    assert np.abs(shrunk[-20:].astype(int) - frames[10][-20:]).mean() < 12
    assert shrunk[:4].mean() < frames[10][:4].mean() * 0.6


def test_frames_folder_csv_and_short_input(setup, capsys):
    frames, _ = _decode(os.path.join(SHARED, "realclips", "ucf_style_test.avi"))
    folder = setup["root"] / "0001"
    folder.mkdir()
    # MECCANO names: five digits below 10000, six from there on ("09999.jpg", "010000.jpg"),
    # so only numeric order puts the frames back in sequence.
    jpegs = []
    for i, f in enumerate(frames[:30]):
        n = 9985 + i
        jpegs.append(simplejpeg.encode_jpeg(f, quality=95))
        (folder / (f"{n:05d}.jpg" if n < 10000 else f"{n:06d}.jpg")).write_bytes(jpegs[-1])
    out_csv = str(setup["root"] / "folder.csv")
    rc = setup["cli"].main(["--cfg", setup["cfg_file"], "--checkpoint", setup["ckpt"], str(folder),
                            "--topk", "2", "--stride", "5", "--class-names", setup["names"], "--out", out_csv])
    assert rc == 0, capsys.readouterr().err
    rows = list(csv.DictReader(open(out_csv)))
    span = 16  # frames folder: NUM_FRAMES x SAMPLING_RATE, no fps rescaling
    n_windows = (30 - span) // 5 + 1
    assert len(rows) == 2 * n_windows
    assert list(rows[0]) == ["window", "start_frame", "end_frame", "start_s", "end_s", "rank", "class_id",
                             "class_name", "score"]
    assert float(rows[-1]["end_s"]) == pytest.approx((5 * (n_windows - 1) + span) / 12.0, abs=1e-3)  # DATA.FPS 12
    # An input shorter than one window still gets one prediction.
    out_json = str(setup["root"] / "short.json")
    rc = setup["cli"].main(["--cfg", setup["cfg_file"], "--checkpoint", setup["ckpt"], str(folder),
                            "--span", "64", "--class-names", setup["names"], "--out", out_json])
    assert rc == 0
    short = json.load(open(out_json))
    window = short["windows"][0]
    assert len(short["windows"]) == 1 and max(window["frame_indices"]) == 29
    probs = _expected_scores(setup, _jpeg_clip(setup, jpegs, window["frame_indices"]))
    assert window["topk"][0]["score"] == pytest.approx(probs.max().item(), abs=1e-5)
    assert window["topk"][0]["class_id"] == probs.argmax().item()


def test_bad_inputs_are_named(setup, capsys, tmp_path):
    cli = setup["cli"]
    base = ["--cfg", setup["cfg_file"], "--checkpoint", setup["ckpt"], "--class-names", setup["names"]]
    assert cli.main(base + [str(tmp_path / "missing.mp4")]) == 2
    assert "missing.mp4: no such file or folder" in capsys.readouterr().err
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    assert cli.main(base + [str(bad)]) == 2
    assert "bad.mp4" in capsys.readouterr().err
    clip = os.path.join(SHARED, "realclips", "ucf_style_test.avi")
    assert cli.main(base + [clip, "--out", str(tmp_path / "x.txt")]) == 2
    assert "use a .json or .csv" in capsys.readouterr().err
    other = ["MODEL.NUM_CLASSES", "7"]
    assert cli.main(["--cfg", setup["cfg_file"], "--checkpoint", setup["ckpt"], clip] + other) == 2
    assert "tiny.pyth" in capsys.readouterr().err
