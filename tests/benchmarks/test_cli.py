"""Each `tools/benchmark.py` subcommand on a tiny config: --json prints one valid JSON object
with its figures (no timing assertions: only that the figures exist and fit together)."""
import json

import pytest

from tools.benchmark import main as benchmark_main

TINY_SLOWFAST = ["RESNET.WIDTH_PER_GROUP", "4", "DATA.NUM_FRAMES", "8", "DATA.TRAIN_CROP_SIZE", "32",
                 "DATA.TEST_CROP_SIZE", "32", "DATA.TRAIN_JITTER_SCALES", "[34, 40]", "RESNET.DEPTH", "18",
                 "RESNET.TRANS_FUNC", "basic_transform"]
SLOWFAST_CFG = "configs/demo/SLOWFAST_TINY.yaml"


def _json(capsys):
    return json.loads(capsys.readouterr().out)


def test_train_subcommand_compares_variants_on_synthetic_frames(tmp_path, capsys):
    args = ["train", "--cfg", SLOWFAST_CFG, "--size", "96x72", "--segments", "4", "--work-dir", str(tmp_path),
            "--steps", "2", "--warmup", "1", "--batch", "2", "--workers", "1", "--threads", "1", "--rounds", "2",
            "--device", "cpu", "--compare", "MODEL.CHANNELS_LAST=True", "--json", "--opts", *TINY_SLOWFAST]
    assert benchmark_main(args) == 0
    report = _json(capsys)
    assert report["frame_size"] == [96, 72]
    # 3 train segments repeated until an epoch holds 4 x batch x workers = 8 clips: 9 rows.
    rows = (tmp_path / "annotations" / "MECCANO_train_actions.csv").read_text().splitlines()
    long_rows = (tmp_path / "annotations_x3" / "MECCANO_train_actions.csv").read_text().splitlines()
    assert len(rows) == 4 and long_rows == rows + rows[1:] * 2
    assert (tmp_path / "annotations_x3" / "MECCANO_test_actions.csv").read_text() == \
        (tmp_path / "annotations" / "MECCANO_test_actions.csv").read_text()
    assert [r["variant"] for r in report["results"]] == ["base", "MODEL.CHANNELS_LAST=True"] * 2
    assert [r["round"] for r in report["results"]] == [0, 0, 1, 1]
    for r in report["results"]:
        assert r["clip_shape"] == [3, 8, 32, 32] and r["batch"] == 2 and r["threads"] == 1
        assert r["clips_per_s"] == pytest.approx(2 * r["steps_per_s"])
        assert r["compute_clips_per_s"] == pytest.approx(2 * r["compute_steps_per_s"])
        assert 0 <= r["data_wait_frac"] < 1 and r["peak_mem_mb"] > 0
        assert 0 < r["mean_loss"] < 20  # finite losses of real steps (8 classes: about ln 8)
    base, variant = report["summary"]
    by_round = {(r["variant"], r["round"]): r for r in report["results"]}
    ratios = [by_round[variant["variant"], k]["steps_per_s"] / by_round["base", k]["steps_per_s"] for k in (0, 1)]
    assert variant["speedup_steps_per_s"] == pytest.approx(sum(ratios) / 2)
    assert "speedup_steps_per_s" not in base


def test_train_subcommand_names_a_failing_variant(frames_dir):
    with pytest.raises(RuntimeError, match=r"variant 'base' \(round 0\) failed:(.|\n)*MODEL.NO_SUCH_KEY"):
        benchmark_main(["train", "--cfg", SLOWFAST_CFG, "--data", str(frames_dir), "--device", "cpu",
                        "--workers", "0", "--steps", "1", "--opts", "MODEL.NO_SUCH_KEY", "1"])


def test_model_subcommand(capsys):
    args = ["model", "--cfg", SLOWFAST_CFG, "--batch", "1", "--repeat", "1", "--warmup", "0", "--threads", "1",
            "--device", "cpu", "--json", "--opts", *TINY_SLOWFAST]
    assert benchmark_main(args) == 0
    report = _json(capsys)
    assert [r["mode"] for r in report["results"]] == ["forward", "train"] and report["ratios"] == []
    for r in report["results"]:
        assert r["clips_per_s"] == pytest.approx(1 / r["step_s"]) and r["crop"] == 32 and r["num_frames"] == 8


# A stand-in PySlowFast checkout: build_model(cfg) and a model taking PySlowFast's [slow, fast] list.
FAKE_PYSLOWFAST_MODELS = """
import torch
from torch import nn


class Model(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.frames, self.alpha = cfg.DATA.NUM_FRAMES, cfg.SLOWFAST.ALPHA
        self.conv = nn.Conv3d(3, 4, 1)
        self.fc = nn.Linear(8, cfg.MODEL.NUM_CLASSES)

    def forward(self, x):
        slow, fast = x
        assert fast.shape[2] == self.frames and slow.shape[2] == self.frames // self.alpha
        x[0] = x[1] = None  # PySlowFast's stem replaces the list's items in place
        return self.fc(torch.cat([self.conv(p).mean((2, 3, 4)) for p in (slow, fast)], 1))


def build_model(cfg):
    assert cfg.NUM_GPUS == 0 and cfg.MODEL.NUM_CLASSES == 8 and cfg.RESNET.WIDTH_PER_GROUP == 4
    return Model(cfg)
"""


def test_model_subcommand_times_pyslowfast_in_interleaved_rounds(tmp_path, capsys):
    models = tmp_path / "SlowFast" / "slowfast" / "models"
    models.mkdir(parents=True)
    (models.parent / "__init__.py").write_text("")
    (models / "__init__.py").write_text(FAKE_PYSLOWFAST_MODELS)
    args = ["model", "--cfg", SLOWFAST_CFG, "--batch", "1", "--repeat", "1", "--warmup", "1", "--threads", "1",
            "--device", "cpu", "--rounds", "2", "--pyslowfast", str(tmp_path / "SlowFast"), "--json",
            "--opts", *TINY_SLOWFAST]
    assert benchmark_main(args) == 0
    report = _json(capsys)
    keys = [(r["round"], r["variant"], r["mode"]) for r in report["results"]]
    assert keys == [(k, v, m) for k in (0, 1) for v in ("base", "pyslowfast") for m in ("forward", "train")]
    assert [(s["variant"], s["mode"], s["rounds"]) for s in report["summary"]] == [
        ("base", "forward", 2), ("base", "train", 2), ("pyslowfast", "forward", 2), ("pyslowfast", "train", 2)]
    by = {(r["round"], r["variant"], r["mode"]): r for r in report["results"]}
    for ratio in report["ratios"]:
        per_round = [by[k, "pyslowfast", ratio["mode"]]["step_s"] / by[k, "base", ratio["mode"]]["step_s"]
                     for k in (0, 1)]
        assert ratio["variant"] == "pyslowfast" and ratio["time_ratio"] == pytest.approx(sum(per_round) / 2)


def test_model_subcommand_refuses_a_folder_without_pyslowfast(tmp_path, capsys):
    with pytest.raises(SystemExit):
        benchmark_main(["model", "--cfg", SLOWFAST_CFG, "--pyslowfast", str(tmp_path)])
    assert "no slowfast/models/__init__.py there" in capsys.readouterr().err


def test_loader_subcommand(frames_dir, tmp_path, capsys):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text("DATA:\n  NUM_FRAMES: 4\n  SAMPLING_METHOD: segment_uniform\n"
                   "  TRAIN_JITTER_SCALES: [32, 40]\n  TRAIN_CROP_SIZE: 32\n")
    args = ["loader", "--cfg", str(cfg), "--json", "--workers", "1", "--batch-size", "2", "--clips", "4",
            "--rounds", "1", "--naive-clips", "2", "--data", str(frames_dir), "DATA.PATH_TO_ANNOTATIONS",
            str(frames_dir / "annotations"), "MODEL.NUM_CLASSES", "4"]
    assert benchmark_main(args) == 0
    result = _json(capsys)
    assert result["frame_size"] == [160, 120] and result["num_frames"] == 4 and result["workers"] == 1
    for key in ("loader_clips_per_s", "ceiling_reduced_clips_per_s", "naive_clips_per_s", "loader_cpu_ms_per_clip"):
        assert result[key] > 0, key
