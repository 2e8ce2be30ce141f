"""model_stats (params, fvcore multiply-add GFLOPs, activations) and the model benchmark tool."""
import json
import os

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from slowfast.benchmarks import model as bench
from slowfast.config import load_config
from slowfast.models import build_model
from slowfast.models.stats import model_stats
from tests.conftest import REPO

SLOWFAST_CFG = os.path.join(REPO, "configs", "meccano", "SLOWFAST_8x8_R50.yaml")


def test_slowfast_8x8_r50_full_size_matches_pyslowfast_stats():
    """PySlowFast's get_model_stats: 33,785,093 params, 66.07 GFLOPs at 256 px and 50.58 at 224."""
    cfg = load_config(SLOWFAST_CFG)
    model = build_model(cfg)
    stats = model_stats(model, cfg)
    assert stats["params"] == 33_785_093
    assert round(stats["gflops"], 2) == 66.07
    assert stats["input_shape"] == [1, 3, 32, 256, 256]
    assert stats["activations_m"] > 0 and model.training
    at_224 = model_stats(model, load_config(SLOWFAST_CFG, ["DATA.TEST_CROP_SIZE", "224"]))
    assert round(at_224["gflops"], 2) == 50.58


class TinyAttention(nn.Module):
    """Tokens of a clip -> qkv -> attention, fused (SDPA) or as explicit matmuls."""

    def __init__(self, explicit, dim=8, heads=2):
        super().__init__()
        self.explicit, self.heads = explicit, heads
        self.qkv = nn.Linear(3, 3 * dim)

    def forward(self, clip):
        tokens = clip.flatten(2).transpose(1, 2)  # B x L x 3
        b, n, _ = tokens.shape
        q, k, v = self.qkv(tokens).reshape(b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        if self.explicit:
            attn = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)
            return attn.softmax(-1) @ v
        return F.scaled_dot_product_attention(q, k, v)


@pytest.fixture
def tiny_cfg():
    return load_config(None, ["DATA.NUM_FRAMES", "2", "DATA.TEST_CROP_SIZE", "4", "DATA.INPUT_CHANNEL_NUM", "[3]"])


def test_fused_attention_counts_like_explicit_matmuls(tiny_cfg):
    # L = 2 x 4 x 4 = 32 tokens, 2 heads of width 4.
    # qkv linear: 32 x 3 x 24 = 2,304 multiply-adds, 32 x 24 = 768 outputs.
    # QK^T and AV: 2 heads x 32 x 32 x 4 each = 16,384; outputs 2 x 32 x 32 + 2 x 32 x 4 = 2,304.
    explicit = model_stats(TinyAttention(explicit=True), tiny_cfg)
    fused = model_stats(TinyAttention(explicit=False), tiny_cfg)
    assert explicit["gflops"] * 1e9 == pytest.approx(2_304 + 16_384)
    assert fused["gflops"] == explicit["gflops"]
    assert explicit["activations_m"] * 1e6 == pytest.approx(768 + 2_304)
    assert fused["activations_m"] == explicit["activations_m"]
    assert fused["params"] == 3 * 24 + 24


def test_model_stats_keeps_mode_and_global_rng(tiny_cfg):
    model = TinyAttention(explicit=False).eval()
    state = torch.random.get_rng_state()
    stats = model_stats(model, tiny_cfg)
    assert not model.training and torch.equal(torch.random.get_rng_state(), state)
    assert stats["input_shape"] == [1, 3, 2, 4, 4]
    model.train()
    model_stats(model, tiny_cfg)
    assert model.training


def test_compare_option_parsing():
    assert bench.compare_opts("MVIT.ATTN_IMPL=explicit") == ["MVIT.ATTN_IMPL", "explicit"]
    assert bench.compare_opts("A.B=[1, 2],C=3") == ["A.B", "[1, 2]", "C", "3"]
    with pytest.raises(ValueError, match="KEY=VAL"):
        bench.compare_opts("MODEL.CHANNELS_LAST")


TINY_BENCH = ["--cfg", SLOWFAST_CFG, "--batch", "2", "--repeat", "1", "--warmup", "0", "--threads", "1",
              "--mode", "train", "--opts", "RESNET.WIDTH_PER_GROUP", "8", "DATA.TRAIN_CROP_SIZE", "32",
              "DATA.NUM_FRAMES", "8"]


def test_benchmark_runs_variants_and_reports_ratios(capsys):
    assert bench.main(TINY_BENCH + ["--compare", "MODEL.ACT_CHECKPOINT=True", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    base, variant = report["results"]
    assert (base["variant"], variant["variant"]) == ("base", "MODEL.ACT_CHECKPOINT=True")
    for r in (base, variant):
        assert r["mode"] == "train" and r["threads"] == 1 and r["crop"] == 32
        assert r["clips_per_s"] == pytest.approx(2 / r["step_s"])
        assert r["s_per_clip"] == pytest.approx(r["step_s"] / 2)
        assert r["peak_mem_mb"] > 0
    (ratio,) = report["ratios"]
    assert ratio["time_ratio"] == pytest.approx(variant["step_s"] / base["step_s"])


def test_benchmark_worker_failure_names_the_problem():
    with pytest.raises(RuntimeError, match="NO_SUCH_KEY"):
        bench.main(TINY_BENCH + ["--opts", "MODEL.NO_SUCH_KEY", "1"])
