"""DATA.DECODE_DEVICE cuda: start-up errors without a GPU, and the raw-bytes path run on the CPU.

The GPU path's pieces take a device, so the same code is checked here with device cpu
against the CPU pipeline: same frames, same crops, same labels and ids, pixels within a
few levels (nvJPEG/torch resizing vs libjpeg DCT scaling + OpenCV).
"""
import os
import shutil

import pytest
import torch

from slowfast.datasets import build_dataset
from slowfast.datasets.loader import build_loader, collate_clips
from slowfast.datasets.raw_jpeg import RawBatch, RawJpegClips, check_raw_decoding
from slowfast.engine.gpu_decode import decode_batch
from slowfast.engine.model_setup import InputPrep
from slowfast.engine.runner import run
from tests.datasets.helpers import meccano_cfg

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")


@no_cuda
def test_cuda_decoding_without_a_gpu_fails_at_startup(frames_dir, tmp_path):
    cfg = meccano_cfg(frames_dir, "DATA.DECODE_DEVICE", "cuda", "OUTPUT_DIR", str(tmp_path / "run"))
    with pytest.raises(ValueError, match=r"DATA.DECODE_DEVICE='cuda' needs a CUDA GPU.*set DATA.DECODE_DEVICE cpu"):
        build_loader(cfg, "train")
    # The engine refuses before building the model or writing a checkpoint.
    with pytest.raises(ValueError, match="DATA.DECODE_DEVICE='cuda' needs a CUDA GPU"):
        run(cfg)
    assert not os.path.exists(tmp_path / "run" / "checkpoints")


def test_cuda_decoding_refuses_what_it_cannot_do(frames_dir, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    base = ["DATA.DECODE_DEVICE", "cuda", "NUM_GPUS", "1"]
    check_raw_decoding(meccano_cfg(frames_dir, *base))  # supported: no error
    with pytest.raises(ValueError, match="NUM_GPUS=0"):
        check_raw_decoding(meccano_cfg(frames_dir, "DATA.DECODE_DEVICE", "cuda"))
    with pytest.raises(ValueError, match="AUG.COLOR_JITTER_PROB"):
        check_raw_decoding(meccano_cfg(frames_dir, *base, "AUG.COLOR_JITTER_PROB", "0.5"))
    with pytest.raises(ValueError, match="TEST.DATASET='video_folder'"):
        check_raw_decoding(meccano_cfg(frames_dir, *base, "TEST.DATASET", "video_folder"))


def _batch(dataset, keys):
    return collate_clips([dataset[k] for k in keys])


@pytest.mark.parametrize("split", ["train", "test"])
def test_raw_path_gives_the_cpu_paths_clips(frames_dir, split):
    cfg = meccano_cfg(frames_dir, "TEST.NUM_SPATIAL_CROPS", "3", "DATA.TRAIN_JITTER_SCALES", "[34, 44]")
    cpu = build_dataset(cfg, split)
    raw = RawJpegClips(cpu)
    assert (raw.num_samples, raw.num_views, len(raw)) == (cpu.num_samples, cpu.num_views, len(cpu))
    keys = [(i, 3, 1) for i in range(0, len(cpu), 3)] if split == "train" else list(range(6))
    want = _batch(cpu, keys)
    got = _batch(raw, keys)
    assert isinstance(got[0], RawBatch) and len(got[0]) == len(keys)
    for a, b in zip(want[1:3], got[1:3]):
        assert torch.equal(a, b)
    for key in ("frame_indices", "view", "bad"):
        assert torch.equal(want[3][key], got[3][key]), key
    assert want[3]["video_id"] == got[3]["video_id"]
    clips = decode_batch(got[0], torch.device("cpu"))
    assert clips.dtype == torch.uint8 and clips.shape == want[0].shape
    diff = (clips.float() - want[0].float()).abs()
    # Same frames and boxes: resizing differences only (a wrong crop or frame costs tens of levels).
    assert diff.mean() < 4 and diff.quantile(0.99) < 24, (diff.mean(), diff.quantile(0.99))
    # The engine's InputPrep takes either form and normalises both the same way.
    prep = InputPrep([0.45] * 3, [0.225] * 3, False, torch.device("cpu"), False)
    assert torch.equal(prep(got[0]), prep(clips))


def test_raw_path_replaces_unreadable_training_items_like_the_cpu_path(frames_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(frames_dir, data)
    cfg = meccano_cfg(data)
    cpu = build_dataset(cfg, "train")
    seg = cpu.segments[2]
    broken = cpu.frame_path(seg.video, seg.start)
    for n in range(seg.start, seg.end + 1):
        open(cpu.frame_path(seg.video, n), "wb").close()  # empty files: unreadable
    raw = RawJpegClips(cpu)
    want, got = cpu[(2, 0, 0)], raw[(2, 0, 0)]
    assert got[3]["bad"] == want[3]["bad"] == 1 and got[3]["bad_files"] == [broken]
    assert got[2] == want[2] != 2 and torch.equal(got[3]["frame_indices"], want[3]["frame_indices"])
