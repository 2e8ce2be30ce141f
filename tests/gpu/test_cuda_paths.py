"""What only a CUDA GPU can check: reference numbers on the GPU, bf16, the one-GPU loop, nvJPEG.

CI has no GPU, so every test here is skipped there; on a GPU machine run `pytest tests/gpu`.
docs/benchmarks.md records when and where these last passed.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from slowfast.config.load import load_config
from slowfast.datasets import build_dataset
from slowfast.datasets.loader import collate_clips
from slowfast.datasets.raw_jpeg import RawJpegClips
from slowfast.datasets.synthetic import make_meccano_like
from slowfast.engine.gpu_decode import decode_batch
from slowfast.models import build_model
from tests.conftest import REPO, SHARED
from tests.datasets.helpers import meccano_cfg

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

CUDA = torch.device("cuda")
REF = os.path.join(SHARED, "reference", "pyslowfast")
CONFIGS = os.path.join(SHARED, "reference", "configs")
# The overrides the reference outputs were produced with (README in ../shared/reference/pyslowfast).
REFERENCES = {
    "slowfast_8x8_r50_small": (
        "pyslowfast_Kinetics_SLOWFAST_8x8_R50.yaml",
        ["RESNET.WIDTH_PER_GROUP", "8", "DATA.TRAIN_CROP_SIZE", "64", "DATA.TEST_CROP_SIZE", "64",
         "MODEL.NUM_CLASSES", "7", "RNG_SEED", "0"],
    ),
    "mvitv2_s_16x4_small": (
        "pyslowfast_Kinetics_MVITv2_S_16x4.yaml",
        ["MVIT.EMBED_DIM", "16", "MVIT.NUM_HEADS", "1", "DATA.TRAIN_CROP_SIZE", "64",
         "DATA.TEST_CROP_SIZE", "64", "MODEL.NUM_CLASSES", "7", "RNG_SEED", "0"],
    ),
}


@pytest.fixture
def exact_fp32():
    """Full float32 convolutions and matmuls (cuDNN uses TF32 for convolutions by default)."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def _reference_model(name, *extra):
    yaml_name, overrides = REFERENCES[name]
    model = build_model(load_config(os.path.join(CONFIGS, yaml_name), overrides + list(extra)))
    state = torch.load(os.path.join(REF, f"{name}_perturbed_state_dict.pt"), weights_only=True)
    model.load_state_dict(state, strict=True)
    io = torch.load(os.path.join(REF, f"{name}_io.pt"), weights_only=True)
    inputs = io["inputs"]
    inputs = [x.to(CUDA) for x in inputs] if isinstance(inputs, (list, tuple)) else inputs.to(CUDA)
    return model.to(CUDA).eval(), inputs, io["perturbed_logits"]


@pytest.mark.parametrize("name, extra", [
    ("slowfast_8x8_r50_small", ()),
    ("mvitv2_s_16x4_small", ("MVIT.ATTN_IMPL", "sdpa")),
    ("mvitv2_s_16x4_small", ("MVIT.ATTN_IMPL", "explicit")),
])
def test_reference_logits_on_the_gpu(name, extra, exact_fp32, shared_dir):
    model, inputs, want = _reference_model(name, *extra)
    with torch.no_grad():
        got = model(inputs).cpu()
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", ["slowfast_8x8_r50_small", "mvitv2_s_16x4_small"])
def test_bf16_autocast_stays_close_to_float32(name, shared_dir):
    model, inputs, want = _reference_model(name)
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        got = model(inputs).float().cpu()
    # bf16 operands: relative error between 1e-3 and 1e-2 of the logits' norm.
    rel = (got - want).norm() / want.norm()
    assert rel < 3e-2, rel
    assert torch.isfinite(got).all()


def test_channels_last_3d_gives_the_same_logits(exact_fp32, shared_dir):
    model, inputs, want = _reference_model("slowfast_8x8_r50_small")
    model = model.to(memory_format=torch.channels_last_3d)
    inputs = [x.contiguous(memory_format=torch.channels_last_3d) for x in inputs]
    with torch.no_grad():
        got = model(inputs).cpu()
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    data = tmp_path_factory.mktemp("gpu_data")
    make_meccano_like(str(data), classes=4, videos=5, size=(160, 120), seed=0, segments_per_video=8)
    return data


def _run_net(config, data, out, *opts, epochs=2):
    cmd = [
        sys.executable, os.path.join(REPO, "tools", "run_net.py"),
        "--cfg", os.path.join(REPO, "configs", "demo", config),
        "DATA.PATH_TO_DATA_DIR", str(data), "DATA.PATH_TO_ANNOTATIONS", str(data / "annotations"),
        "MODEL.NUM_CLASSES", "4", "SOLVER.MAX_EPOCH", str(epochs), "TRAIN.BATCH_SIZE", "8", "TEST.BATCH_SIZE", "8",
        "DATA_LOADER.NUM_WORKERS", "2", "NUM_GPUS", "1", "OUTPUT_DIR", str(out), *opts,
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    results = json.loads((out / "results.json").read_text())
    pred = np.load(out / "predictions.npz")
    assert len(pred["index"]) == results["dataset"]["test_samples"] == len(set(pred["index"].tolist()))
    with open(out / "json_stats.log") as f:
        stats = [json.loads(line) for line in f]
    train = [s for s in stats if s["_type"] == "train_epoch"]
    assert [s["epoch"] for s in train] == list(range(1, epochs + 1))
    assert all(np.isfinite(s["loss"]) for s in train)
    assert os.path.exists(out / "checkpoints" / f"checkpoint_epoch_{epochs:05d}.pyth")
    return proc.stdout + proc.stderr, results


@pytest.mark.parametrize("config, opts", [
    ("SLOWFAST_TINY.yaml", ()),
    ("SLOWFAST_TINY.yaml", ("TRAIN.MIXED_PRECISION", "True", "TRAIN.MIXED_PRECISION_DTYPE", "bfloat16",
                            "MODEL.CHANNELS_LAST", "True")),
    ("MVITv2_TINY.yaml", ("TRAIN.MIXED_PRECISION", "True", "TRAIN.MIXED_PRECISION_DTYPE", "bfloat16",
                          "MODEL.COMPILE", "True")),
    ("SLOWFAST_TINY.yaml", ("DATA.DECODE_DEVICE", "cuda")),
    ("MOBILENETV2_LSTM_TINY.yaml", ("CNN_LSTM.BACKBONE_WEIGHTS", "")),
])
def test_run_net_trains_and_tests_on_one_gpu(config, opts, demo_data, tmp_path):
    log, results = _run_net(config, demo_data, tmp_path / "run", *opts)
    assert "torch.compile failed" not in log
    assert results["model"]["params"] > 0


def test_resume_on_the_gpu_continues_from_the_last_checkpoint(demo_data, tmp_path):
    out = tmp_path / "run"
    _run_net("SLOWFAST_TINY.yaml", demo_data, out, "TRAIN.CHECKPOINT_PERIOD", "1")
    # A longer schedule on the same output dir: AUTO_RESUME starts at epoch 3, not from scratch.
    # json_stats.log lists epochs 1, 2 (first run) and 3 (resumed run) once each.
    log, _ = _run_net("SLOWFAST_TINY.yaml", demo_data, out, "TRAIN.CHECKPOINT_PERIOD", "1", epochs=3)
    assert "Resuming from" in log and "checkpoint_epoch_00002.pyth" in log


@pytest.mark.parametrize("split", ["train", "test"])
def test_nvjpeg_batches_give_the_cpu_paths_clips(split, tmp_path_factory):
    data = tmp_path_factory.mktemp("nvjpeg")
    make_meccano_like(str(data), classes=4, videos=5, size=(160, 120), seed=4, segments_per_video=4,
                      segment_frames=(6, 12))
    cfg = meccano_cfg(data, "TEST.NUM_SPATIAL_CROPS", "3", "DATA.TRAIN_JITTER_SCALES", "[34, 44]")
    cpu = build_dataset(cfg, split)
    raw = RawJpegClips(cpu)
    keys = [(i, 3, 1) for i in range(0, len(cpu), 3)] if split == "train" else list(range(6))
    want = collate_clips([cpu[k] for k in keys])[0]
    got = decode_batch(collate_clips([raw[k] for k in keys])[0], CUDA)
    assert got.device.type == "cuda" and got.dtype == torch.uint8 and got.shape == want.shape
    diff = (got.cpu().float() - want.float()).abs()
    # Same frames and boxes: resizing and IDCT differences only (a wrong crop costs tens of levels).
    assert diff.mean() < 4 and diff.quantile(0.99) < 24, (diff.mean(), diff.quantile(0.99))
