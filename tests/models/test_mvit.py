"""MViTv2: PySlowFast's numbers and keys, fused vs explicit attention, checkpoint resizing."""
import json
import logging
import os

import pytest
import torch

from slowfast.config.load import load_config
from slowfast.models import ModelBuildError, build_model, mvit_sdpa
from slowfast.models.mvit_attention import MultiScaleAttention
from slowfast.models.stats import model_stats
from tests.conftest import REPO, SHARED

REF = os.path.join(SHARED, "reference", "pyslowfast")
KINETICS_YAML = os.path.join(SHARED, "reference", "configs", "pyslowfast_Kinetics_MVITv2_S_16x4.yaml")
MECCANO_YAML = os.path.join(REPO, "configs", "meccano", "MVITv2_S_16x4.yaml")
# The overrides the reference outputs were produced with (README in ../shared/reference/pyslowfast).
SMALL = ["MVIT.EMBED_DIM", "16", "MVIT.NUM_HEADS", "1", "DATA.TRAIN_CROP_SIZE", "64",
         "DATA.TEST_CROP_SIZE", "64", "MODEL.NUM_CLASSES", "7", "RNG_SEED", "0"]


def tiny(crop=64, frames=8, **overrides):
    """Four blocks, two q-pooling stages, two heads from block 1: every code path, cheaply."""
    opts = {
        "MVIT.EMBED_DIM": 8, "MVIT.NUM_HEADS": 1, "MVIT.DEPTH": 4,
        "MVIT.DIM_MUL": [[1, 2.0], [3, 2.0]], "MVIT.HEAD_MUL": [[1, 2.0], [3, 2.0]],
        "MVIT.POOL_Q_STRIDE": [[0, 1, 1, 1], [1, 1, 2, 2], [2, 1, 1, 1], [3, 1, 2, 2]],
        "MVIT.DROPPATH_RATE": 0.0, "MODEL.DROPOUT_RATE": 0.0, "MODEL.NUM_CLASSES": 5,
        "DATA.TRAIN_CROP_SIZE": crop, "DATA.TEST_CROP_SIZE": crop, "DATA.NUM_FRAMES": frames,
    }
    opts.update(overrides)
    flat = []
    for key, value in opts.items():
        flat += [key, str(value)]
    return load_config(KINETICS_YAML, flat)


def seeded(cfg, seed=0, dtype=torch.float32):
    torch.manual_seed(seed)
    return build_model(cfg).to(dtype)


@pytest.mark.parametrize("impl", ["sdpa", "explicit"])
def test_reproduces_pyslowfast_logits(impl, shared_dir):
    cfg = load_config(KINETICS_YAML, SMALL + ["MVIT.ATTN_IMPL", impl])
    model = seeded(cfg, seed=7)
    state = torch.load(os.path.join(REF, "mvitv2_s_16x4_small_perturbed_state_dict.pt"), weights_only=True)
    model.load_state_dict(state, strict=True)
    io = torch.load(os.path.join(REF, "mvitv2_s_16x4_small_io.pt"), weights_only=True)
    model.eval()
    with torch.no_grad():
        logits = model(io["inputs"])
    torch.testing.assert_close(logits, io["perturbed_logits"], atol=1e-5, rtol=1e-4)


def test_full_size_keys_shapes_and_params(shared_dir):
    with torch.device("meta"):
        model = build_model(load_config(MECCANO_YAML))
    expected = []
    with open(os.path.join(REF, "mvitv2_s_16x4_small_keys_full.txt")) as f:
        for line in f.read().splitlines():
            key, shape = line.split("\t")
            expected.append((key, json.loads(shape)))
    assert [(k, list(v.shape)) for k, v in model.state_dict().items()] == expected
    assert sum(p.numel() for p in model.parameters()) == 34_277_053


VARIANTS = {
    "cls, space+time": {},
    "no cls, time only": {"MVIT.CLS_EMBED_ON": False, "MVIT.REL_POS_SPATIAL": False},
    # Blocks 0 and 2 get no q pooling, hence no q LayerNorm.
    "unpooled q, space only": {"MVIT.POOL_KVQ_KERNEL": None, "MVIT.REL_POS_TEMPORAL": False,
                               "MVIT.POOL_Q_STRIDE": [[1, 1, 2, 2], [3, 1, 2, 2]]},
}


@pytest.mark.parametrize("crop,frames,variant", [
    (64, 8, "cls, space+time"), (80, 4, "cls, space+time"), (72, 4, "cls, space+time"),
    (64, 4, "no cls, time only"), (64, 4, "unpooled q, space only"),
])
def test_sdpa_matches_explicit_forward_and_gradients(crop, frames, variant, monkeypatch):
    """CPU training runs our autograd function; "plain" is PyTorch's own SDPA backward with a
    bias that needs a gradient, the path taken on CUDA. 72 px gives 18 -> 9 -> 5 token grids,
    so rel-pos tables are also resized in forward."""
    grads, outputs = {}, {}
    for impl in ("explicit", "sdpa", "plain"):
        with monkeypatch.context() as patch:
            if impl == "plain":
                patch.setattr(mvit_sdpa, "_needs_custom_backward", lambda *args: False)
            cfg = tiny(crop, frames, **VARIANTS[variant],
                       **{"MVIT.ATTN_IMPL": "explicit" if impl == "explicit" else "sdpa"})
            model = seeded(cfg, dtype=torch.float64).train()
            x = torch.randn(2, 3, frames, crop, crop, dtype=torch.float64,
                            generator=torch.Generator().manual_seed(1), requires_grad=True)
            out = model(x)
            (out * torch.arange(1, 6, dtype=out.dtype)).sum().backward()
        outputs[impl] = out.detach()
        grads[impl] = {n: p.grad for n, p in model.named_parameters()}
        grads[impl]["input"] = x.grad
    scale = max(g.abs().max() for g in grads["explicit"].values())
    for impl in ("sdpa", "plain"):
        torch.testing.assert_close(outputs[impl], outputs["explicit"], atol=1e-10, rtol=1e-9)
        for name, ref in grads["explicit"].items():
            assert grads[impl][name] is not None, name
            torch.testing.assert_close(grads[impl][name], ref, atol=1e-10 * scale, rtol=1e-8,
                                       msg=f"{impl}: {name}")


def test_sdpa_matches_explicit_in_float32_eval():
    outs = []
    for impl in ("explicit", "sdpa"):
        model = seeded(tiny(72, 4, **{"MVIT.ATTN_IMPL": impl})).eval()
        with torch.no_grad():
            outs.append(model(torch.randn(2, 3, 4, 72, 72, generator=torch.Generator().manual_seed(2))))
    torch.testing.assert_close(outs[1], outs[0], atol=1e-5, rtol=1e-4)


def test_sdpa_under_bfloat16_autocast_trains():
    results = []
    for impl in ("explicit", "sdpa"):
        model = seeded(tiny(**{"MVIT.ATTN_IMPL": impl})).train()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(torch.randn(2, 3, 8, 64, 64, generator=torch.Generator().manual_seed(1)))
        out.float().sum().backward()
        results.append((out.float().detach(), model.blocks[0].attn.rel_pos_h.grad))
    (out_e, grad_e), (out_s, grad_s) = results
    torch.testing.assert_close(out_s, out_e, atol=0.03 * out_e.abs().max(), rtol=0)
    torch.testing.assert_close(grad_s, grad_e, atol=0.1 * grad_e.abs().max(), rtol=0)


@pytest.fixture(scope="module")
def full_size():
    cfg = load_config(MECCANO_YAML)
    return build_model(cfg), cfg


@pytest.mark.parametrize("impl", ["sdpa", "explicit"])
def test_full_size_flops_match_pyslowfast(impl, full_size):
    """64.46 GFLOPs per 16x224x224 view, attention matmuls included, for both paths."""
    model, cfg = full_size
    for module in model.modules():
        if isinstance(module, MultiScaleAttention):
            module.attn_impl = impl  # one build serves both paths (the build is the slow part)
    stats = model_stats(model, cfg)
    assert stats["params"] == 34_277_053
    assert stats["gflops"] == pytest.approx(64.46, abs=0.01)


def test_activation_checkpointing_gives_same_gradients():
    grads = []
    for flag in (False, True):
        model = seeded(tiny(**{"MODEL.ACT_CHECKPOINT": flag, "MVIT.DROPPATH_RATE": 0.3})).train()
        torch.manual_seed(5)  # drop path draws: checkpointing must replay the same ones
        x = torch.randn(2, 3, 8, 64, 64, generator=torch.Generator().manual_seed(3))
        model(x).square().sum().backward()
        grads.append([p.grad for p in model.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(b, a, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("crop,frames", [(96, 8), (64, 16)])
def test_checkpoint_at_other_size_is_resized(crop, frames, caplog):
    """Tables resized on load must equal what the old model does when fed the new size."""
    old = seeded(tiny(64, 8)).eval()
    new = seeded(tiny(crop, frames), seed=1).eval()
    with caplog.at_level(logging.INFO, logger="slowfast.models.mvit"):
        adapted = new.adapt_state_dict(old.state_dict())
    new.load_state_dict(adapted, strict=True)
    resized = [r for r in caplog.records if "rel-pos" in r.getMessage()]
    assert len(resized) == 1
    if crop != 64:
        assert "blocks.0.attn.rel_pos_h 31->47" in resized[0].getMessage()
    else:
        assert "blocks.0.attn.rel_pos_t 7->15" in resized[0].getMessage()
    x = torch.randn(1, 3, frames, crop, crop, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        torch.testing.assert_close(new(x), old(x), atol=1e-5, rtol=1e-4)


def test_same_size_checkpoint_is_untouched(caplog):
    model = seeded(tiny())
    state = model.state_dict()
    with caplog.at_level(logging.INFO, logger="slowfast.models.mvit"):
        adapted = model.adapt_state_dict(state)
    assert all(adapted[k] is state[k] for k in state)
    assert not [r for r in caplog.records if "rel-pos" in r.getMessage()]


def test_no_weight_decay_names():
    model = seeded(tiny(**{"MVIT.ZERO_DECAY_POS_CLS": True, "MVIT.USE_ABS_POS": True}))
    names = model.no_weight_decay()
    params = dict(model.named_parameters())
    assert names <= set(params)
    assert {"cls_token", "pos_embed", "blocks.3.attn.rel_pos_t", "blocks.0.attn.rel_pos_w"} <= names
    assert len(names) == 2 + 3 * 4
    assert seeded(tiny()).no_weight_decay() == set()


@pytest.mark.parametrize("overrides,keys", [
    ({"DATA.TEST_CROP_SIZE": 80}, ["DATA.TEST_CROP_SIZE", "DATA.TRAIN_CROP_SIZE", "interpolated"]),
    ({"MVIT.MODE": "max"}, ["MVIT.MODE"]),
    ({"MVIT.POOL_Q_STRIDE": [[9, 1, 2, 2]]}, ["MVIT.POOL_Q_STRIDE"]),
    ({"MVIT.HEAD_MUL": [[1, 1.5], [3, 2.0]]}, ["block 1", "HEAD_MUL"]),
    ({"DATA.INPUT_CHANNEL_NUM": [3, 3]}, ["DATA.INPUT_CHANNEL_NUM"]),
])
def test_impossible_configs_fail_at_build(overrides, keys):
    with pytest.raises(ModelBuildError) as err:
        build_model(tiny(**overrides))
    for key in keys:
        assert key in str(err.value)


def test_forward_refuses_several_pathways():
    model = seeded(tiny())
    x = torch.zeros(1, 3, 8, 64, 64)
    with pytest.raises(ValueError, match="one pathway"):
        model([x, x])
