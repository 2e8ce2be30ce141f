"""SlowFast / Slow / I3D / C2D: PySlowFast's keys, numbers, init and options."""
import os

import pytest
import torch
import torch.nn.functional as F

from slowfast.config import get_cfg, load_config
from slowfast.config.load import merge_file, merge_opts
from slowfast.models import ModelBuildError, build_model
from tests.conftest import REPO, SHARED

REF = os.path.join(SHARED, "reference")
PYSF = os.path.join(REF, "pyslowfast")
KINETICS = {a: os.path.join(REF, "configs", f"pyslowfast_Kinetics_{a}_8x8_R50.yaml")
            for a in ("SLOWFAST", "SLOW", "I3D", "C2D")}
# The README's overrides for slowfast_8x8_r50_small.
SMALL_REF_OPTS = ["NUM_GPUS", "0", "RESNET.WIDTH_PER_GROUP", "8", "DATA.TRAIN_CROP_SIZE", "64",
                  "DATA.TEST_CROP_SIZE", "64", "MODEL.NUM_CLASSES", "7", "RNG_SEED", "0"]
# Tiny models for behaviour tests: width 8, 32 px, 8 frames (SlowFast: 2 slow frames).
TINY_OPTS = ["RESNET.WIDTH_PER_GROUP", "8", "DATA.TRAIN_CROP_SIZE", "32", "DATA.TEST_CROP_SIZE", "32",
             "DATA.NUM_FRAMES", "8", "MODEL.NUM_CLASSES", "5", "MODEL.DROPOUT_RATE", "0.0"]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: one thread avoids OpenMP barrier stalls on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _load(name):
    return torch.load(os.path.join(PYSF, name), weights_only=True)


@pytest.fixture(scope="module")
def reference():
    return _load("slowfast_8x8_r50_small_io.pt"), _load("slowfast_8x8_r50_small_perturbed_state_dict.pt")


def _small_reference_model():
    return build_model(load_config(KINETICS["SLOWFAST"], SMALL_REF_OPTS)).eval()


def _tiny(arch="SLOWFAST", opts=()):
    return build_model(load_config(KINETICS[arch], TINY_OPTS + list(opts)))


def _clip(model, batch=2, frames=8, side=32, seed=0):
    return torch.randn(batch, 3, frames, side, side, generator=torch.Generator().manual_seed(seed))


def test_perturbed_reference_logits_and_stage_features(reference):
    io, state = reference
    model = _small_reference_model()
    model.load_state_dict(state, strict=True)
    features = {}
    for name in ("s1_fuse", "s2_fuse", "s3_fuse", "s4_fuse", "s5"):
        getattr(model, name).register_forward_hook(lambda m, i, o, name=name: features.__setitem__(name, o))
    with torch.no_grad():
        logits = model(io["inputs"])
        from_fast_clip = model(io["inputs"][1])  # the slow pathway is built inside the model
    torch.testing.assert_close(logits, io["perturbed_logits"], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(from_fast_clip, io["perturbed_logits"], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(F.softmax(logits, 1), io["perturbed_probs"], atol=1e-6, rtol=1e-4)
    # Per-stage outputs (float16 copies of sample 0), a debugging aid, also agree.
    expected = _load("slowfast_8x8_r50_small_features.pt")["features"]
    for name, (slow, fast) in expected.items():
        for ours, theirs in zip(features[name], (slow, fast)):
            theirs = theirs.float()
            tol = 1e-2 * theirs.abs().max().item()
            torch.testing.assert_close(ours[:1], theirs, atol=tol, rtol=0, msg=name)


def test_reference_check_can_fail(reference):
    io, state = reference
    model = _small_reference_model()
    bad = dict(state)
    bad["s4.pathway1_res2.branch2.b.weight"] = bad["s4.pathway1_res2.branch2.b.weight"] * 1.1
    model.load_state_dict(bad, strict=True)
    with torch.no_grad():
        assert (model(io["inputs"]) - io["perturbed_logits"]).abs().max() > 1e-4
        # A plain stride-4 slow pathway (not PySlowFast's linspace index) is also caught.
        model.load_state_dict(state, strict=True)
        fast = io["inputs"][1]
        assert (model([fast[:, :, ::4], fast]) - io["perturbed_logits"]).abs().max() > 1e-4
    assert io["meta"]["slow_index"] == torch.linspace(0, 31, 8).long().tolist()


def test_seeded_build_draws_pyslowfast_initial_weights(reference):
    """Same modules in the same order with the same init: torch.manual_seed(0) gives the same model."""
    io, _ = reference
    torch.manual_seed(0)
    model = _small_reference_model()
    with torch.no_grad():
        torch.testing.assert_close(model(io["inputs"]), io["logits"], atol=1e-6, rtol=1e-4)
    assert torch.count_nonzero(model.s2.pathway0_res0.branch2.c_bn.weight) == 0  # ZERO_INIT_FINAL_BN
    assert bool((model.s2.pathway0_res0.branch1_bn.weight == 1).all())


def test_full_size_keys_and_shapes_equal_pyslowfast():
    cfg = load_config(KINETICS["SLOWFAST"], ["MODEL.NUM_CLASSES", "61"])
    with torch.device("meta"):
        model = build_model(cfg)
    with open(os.path.join(PYSF, "slowfast_8x8_r50_small_keys_full.txt")) as f:
        expected = [(k, eval(s)) for k, s in (line.rstrip("\n").split("\t") for line in f)]
    assert [(k, list(v.shape)) for k, v in model.state_dict().items()] == expected


# Full-size parameter counts, 61 classes unless noted. Derivation for the single-pathway
# ResNet-50 (bias-free convs; each BN holds 2 x C params; fc = 2048 x K + K):
#   stem  conv 3*64*kt*49 (kt=1: 9,408) + BN 128                                   =     9,536
#   res2  d=64:  block0 a 64*64 + b 64*64*9 + c 64*256 + BNs 2*(64+64+256)
#                + branch1 64*256 + BN 512 = 75,008; blocks 1-2: 70,400 each       =   215,808
#   res3  d=128: block0 379,392 (a 256*128, branch1 256*512); blocks 1-3 280,064   = 1,219,584
#   res4  d=256: block0 1,512,448; blocks 1-5 1,117,184 each                       = 7,098,368
#   res5  d=512: block0 6,039,552; blocks 1-2 4,462,592 each                       = 14,964,736
#   C2D (all temporal kernels 1) backbone = 23,508,032; + fc 2048*61+61 = 124,989  -> 23,633,021
# A temporal kernel kt on a conv adds (kt-1) x its 1-tap weights:
#   I3D: stem kt 5: 4*9,408 = 37,632; res2 kt 3 on all 3 "a" convs: 2*(64*64 + 2*256*64) = 73,728;
#        res3 [3,1,3,1]: 2*(256*128 + 512*128) = 196,608; res4 [3,1]x3: 2*(512*256 + 2*1024*256)
#        = 1,310,720; res5 [1,3,1]: 2*2048*512 = 2,097,152  -> +3,715,840       -> 27,348,861
#   Slow: res4 all 6 kt 3: 2*(512*256 + 5*1024*256) = 2,883,584; res5 all 3 kt 3:
#        2*(1024*512 + 2*2048*512) = 5,242,880  -> +8,126,464                   -> 31,759,485
#   With 400 classes the fc is 819,600 instead: C2D 24,327,632, I3D 28,043,472 (the published
#   28.0M), Slow 32,454,096 (the published 32.5M).
#   SlowFast 8x8 R50: 33,785,093 (61) and 34,566,488 (400), PySlowFast's own counts.
@pytest.mark.parametrize("path,count", [
    (KINETICS["SLOWFAST"], 34_566_488),
    (KINETICS["I3D"], 28_043_472),
    (KINETICS["C2D"], 24_327_632),
    (os.path.join(REF, "configs", "meccano_official_SLOWFAST_8x8_R50_MECCANO.yaml"), 33_785_093),
    (os.path.join(REF, "configs", "meccano_official_first_version_SLOWFAST_8x8_R50.yaml"), 33_785_093),
    (os.path.join(REF, "configs", "meccano_official_first_version_I3D_8x8_R50.yaml"), 27_348_861),
    (os.path.join(REF, "configs", "meccano_official_first_version_C2D_8x8_R50.yaml"), 23_633_021),
    (KINETICS["SLOW"], 32_454_096),
    (os.path.join(REPO, "configs", "meccano", "SLOWFAST_8x8_R50.yaml"), 33_785_093),
    (os.path.join(REPO, "configs", "meccano", "I3D_8x8_R50.yaml"), 27_348_861),
    (os.path.join(REPO, "configs", "meccano", "C2D_8x8_R50.yaml"), 23_633_021),
], ids=lambda v: os.path.basename(v) if isinstance(v, str) else str(v))
def test_full_size_param_counts(path, count):
    with torch.device("meta"):
        model = build_model(load_config(path))
    assert sum(p.numel() for p in model.parameters()) == count


def test_slow_61_classes_param_count():
    with torch.device("meta"):
        model = build_model(load_config(KINETICS["SLOW"], ["MODEL.NUM_CLASSES", "61"]))
    assert sum(p.numel() for p in model.parameters()) == 31_759_485


@pytest.mark.parametrize("arch,opts", [
    ("SLOWFAST", []),
    ("SLOW", []),
    ("I3D", []),
    ("C2D", ["RESNET.DEPTH", "101"]),
    ("I3D", ["RESNET.DEPTH", "18", "RESNET.TRANS_FUNC", "basic_transform", "RESNET.NUM_BLOCK_TEMP_KERNEL",
             "[[2], [2], [2], [2]]", "RESNET.NUM_GROUPS", "2", "RESNET.STRIDE_1X1", "True"]),
])
def test_forward_backward_small(arch, opts):
    model = _tiny(arch, opts + ["RESNET.ZERO_INIT_FINAL_BN", "False"]).train()
    x = _clip(model)
    logits = model(x)
    assert logits.shape == (2, 5)
    F.cross_entropy(logits, torch.tensor([1, 3])).backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert model.s2.pathway0_res0.branch2.a.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        assert model(x).shape == (2, 5)


def test_temporal_kernels_and_pooling_follow_arch():
    i3d = _tiny("I3D")
    kernels = [getattr(i3d.s4, f"pathway0_res{i}").branch2.a.kernel_size[0] for i in range(6)]
    assert kernels == [3, 1, 3, 1, 3, 1] and i3d.s1.pathway0_stem.conv.kernel_size[0] == 5
    assert [getattr(i3d.s5, f"pathway0_res{i}").branch2.a.kernel_size[0] for i in range(3)] == [1, 3, 1]
    assert i3d.pathway0_pool.kernel_size == [2, 1, 1]  # time halved after res2
    assert i3d.head.pool_sizes == [[4, 1, 1]]
    slowfast = _tiny("SLOWFAST")
    assert slowfast.head.pool_sizes == [[2, 1, 1], [8, 1, 1]]
    assert not hasattr(slowfast, "pathway0_pool")  # 1x1x1 pools are the identity


def test_act_checkpoint_same_gradients_and_bn_stats():
    results = []
    for flag in ("False", "True"):
        torch.manual_seed(0)
        model = _tiny("SLOWFAST", ["MODEL.ACT_CHECKPOINT", flag, "RESNET.ZERO_INIT_FINAL_BN", "False"]).train()
        F.cross_entropy(model(_clip(model)), torch.tensor([0, 4])).backward()
        grads = {n: p.grad for n, p in model.named_parameters()}
        results.append((grads, {k: v.clone() for k, v in model.state_dict().items()}))
    (g0, s0), (g1, s1) = results
    for name in g0:
        torch.testing.assert_close(g1[name], g0[name], atol=1e-6, rtol=1e-5, msg=name)
    for name in s0:  # recomputation must not update BN running statistics a second time
        torch.testing.assert_close(s1[name], s0[name], atol=0, rtol=0, msg=name)
    assert int(s1["s3.pathway1_res0.branch2.a_bn.num_batches_tracked"]) == 1


def test_channels_last_3d_end_to_end():
    torch.manual_seed(0)
    model = _tiny("SLOWFAST", ["RESNET.ZERO_INIT_FINAL_BN", "False"]).eval()
    x = _clip(model)
    with torch.no_grad():
        expected = model(x)
    model = model.to(memory_format=torch.channels_last_3d)
    seen = []  # the pathway inputs our code builds, and the lateral concatenation's output
    model.s1.register_forward_pre_hook(lambda m, args: seen.extend(args[0]))
    model.s1_fuse.register_forward_hook(lambda m, i, o: seen.append(o[0]))
    x_cl = x.contiguous(memory_format=torch.channels_last_3d)
    with torch.no_grad():
        got = model(x_cl)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)
    assert len(seen) == 3 and all(t.is_contiguous(memory_format=torch.channels_last_3d) for t in seen)
    assert not seen[0].is_contiguous()  # the slow pathway (8 channels) really is channels-last
    model.train()
    F.cross_entropy(model(x_cl), torch.tensor([0, 1])).backward()
    assert model.s1.pathway0_stem.conv.weight.grad.is_contiguous(memory_format=torch.channels_last_3d)
    # MODEL.CHANNELS_LAST converts weights at build and any input in forward.
    built = _tiny("SLOWFAST", ["MODEL.CHANNELS_LAST", "True"]).eval()
    assert built.s1.pathway0_stem.conv.weight.is_contiguous(memory_format=torch.channels_last_3d)
    seen.clear()
    built.s1.register_forward_pre_hook(lambda m, args: seen.extend(args[0]))
    with torch.no_grad():
        built(x)
    assert not seen[0].is_contiguous() and seen[0].is_contiguous(memory_format=torch.channels_last_3d)


def test_frozen_bn_stays_frozen_after_train():
    model = _tiny("I3D", ["MODEL.FROZEN_BN", "True"])
    model.train()
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm3d)]
    assert bns and all(not m.training for m in bns) and model.head.training
    assert all(not p.requires_grad for m in bns for p in m.parameters())
    before = {k: v.clone() for k, v in model.state_dict().items()}
    F.cross_entropy(model(_clip(model)), torch.tensor([0, 1])).backward()
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for m in bns for p in m.parameters())
    assert model.s3.pathway0_res0.branch2.b.weight.grad is not None


def test_bn_momentum_epsilon_and_detach_final_fc():
    model = _tiny("C2D", ["BN.MOMENTUM", "0.03", "BN.EPSILON", "0.001", "MODEL.DETACH_FINAL_FC", "True"])
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm3d)]
    assert all(m.momentum == 0.03 and m.eps == 0.001 for m in bns)
    F.cross_entropy(model(_clip(model)), torch.tensor([0, 1])).backward()
    assert model.head.projection.weight.grad is not None
    assert model.s5.pathway0_res2.branch2.c.weight.grad is None  # cut before the classifier


@pytest.mark.parametrize("act", ["softmax", "sigmoid"])
def test_larger_test_crop_returns_log_of_mean_per_position_activation(act):
    """A 48 px view through a 32 px-trained head leaves 1 x 2 x 2 positions (PySlowFast's mean of softmaxes)."""
    torch.manual_seed(0)
    model = _tiny("SLOW", ["MODEL.HEAD_ACT", act, "DATA.TEST_CROP_SIZE", "48"]).eval()
    with torch.no_grad():
        model.head.projection.weight.mul_(50)  # logits of order 1, where the two rules differ
    per_position = []
    model.head.projection.register_forward_hook(lambda m, i, o: per_position.append(o))
    with torch.no_grad():
        out = model(_clip(model, side=48))
    z = per_position[0]
    assert z.shape == (2, 1, 2, 2, 5)
    activate = (lambda t: F.softmax(t, -1)) if act == "softmax" else torch.sigmoid
    expected = activate(z).mean([1, 2, 3])  # PySlowFast's eval output
    torch.testing.assert_close(activate(out), expected, atol=1e-7, rtol=1e-5)
    assert (activate(z.mean([1, 2, 3])) - expected).abs().max() > 1e-3  # not the same as pooling logits


def _unvalidated(path, opts):
    cfg = get_cfg()
    merge_file(cfg, path)
    merge_opts(cfg, opts)
    return cfg


@pytest.mark.parametrize("opts,needle", [
    (["NONLOCAL.LOCATION", "[[[1], []], [[], []], [[], []], [[], []]]"], "NONLOCAL.LOCATION"),
    (["RESNET.DEPTH", "34"], "RESNET.DEPTH"),
    (["RESNET.TRANS_FUNC", "x3d_transform"], "RESNET.TRANS_FUNC"),
    (["MODEL.DROPCONNECT_RATE", "0.1"], "MODEL.DROPCONNECT_RATE"),
    (["BN.NORM_TYPE", "sub_batchnorm"], "BN.NORM_TYPE"),
    (["MODEL.HEAD_ACT", "none"], "MODEL.HEAD_ACT"),
    (["RESNET.WIDTH_PER_GROUP", "4"], "leaves the fast pathway 0 channels"),
    (["RESNET.SPATIAL_STRIDES", "[[1], [2], [2], [2]]"], "RESNET.SPATIAL_STRIDES"),
    (["DATA.INPUT_CHANNEL_NUM", "[3]"], "DATA.INPUT_CHANNEL_NUM"),
    (["RESNET.NUM_BLOCK_TEMP_KERNEL", "[[3, 3], [4, 4], [7, 6], [3, 3]]"], "NUM_BLOCK_TEMP_KERNEL[2]"),
    (["SLOWFAST.FUSION_KERNEL_SZ", "3", "SLOWFAST.ALPHA", "8", "DATA.NUM_FRAMES", "36"], "FUSION_KERNEL_SZ"),
])
def test_unsupported_options_raise_model_build_error(opts, needle):
    with torch.device("meta"), pytest.raises(ModelBuildError, match=needle.replace("[", r"\[")):
        build_model(_unvalidated(KINETICS["SLOWFAST"], opts))


def test_wrong_pathway_count_is_a_clear_error():
    model = _tiny("SLOWFAST").eval()
    with pytest.raises(ValueError, match="2 pathway"):
        model([_clip(model)])
    with pytest.raises(ValueError, match="smaller than the pooling window"):
        model(_clip(model, frames=4, side=32))
