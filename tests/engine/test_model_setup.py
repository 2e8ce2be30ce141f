"""Device-side input normalisation, torch.compile fallback, precise BN statistics."""
import logging

import torch

from slowfast.engine import model_setup
from slowfast.engine.distributed import DistContext
from slowfast.engine.precise_bn import update_bn_stats
from tests.engine.tiny import TinyNet


def test_uint8_clips_are_normalised_on_the_device_then_reversed():
    clips = torch.randint(0, 256, (2, 3, 4, 5, 5), dtype=torch.uint8)
    mean, std = [0.45, 0.40, 0.35], [0.225, 0.25, 0.20]
    prep = model_setup.InputPrep(mean, std, False, torch.device("cpu"), channels_last=False)
    expected = (clips.float() / 255 - torch.tensor(mean).view(1, 3, 1, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1, 1)
    torch.testing.assert_close(prep(clips), expected)
    reverse = model_setup.InputPrep(mean, std, True, torch.device("cpu"), channels_last=True)
    out = reverse(clips)
    torch.testing.assert_close(out, expected[:, [2, 1, 0]])
    assert out.is_contiguous(memory_format=torch.channels_last_3d)


def test_compile_failure_falls_back_to_eager(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("backend exploded")

    monkeypatch.setattr(torch, "compile", lambda module, mode: broken)
    model = TinyNet(3, 0.0).eval()
    forward = model_setup.CompiledOrEager(model, "default")
    x = torch.randn(2, 3, 2, 8, 8)
    with caplog.at_level(logging.WARNING):
        out = forward(x)
        forward(x)
    torch.testing.assert_close(out, model(x))
    assert caplog.text.count("torch.compile failed (RuntimeError: backend exploded)") == 1


def test_precise_bn_is_the_mean_of_batch_statistics():
    torch.manual_seed(0)
    model = TinyNet(3, 0.0)
    clips = [torch.randint(0, 256, (4, 3, 2, 8, 8), dtype=torch.uint8) for _ in range(3)]
    prep = model_setup.InputPrep([0.5] * 3, [0.25] * 3, False, torch.device("cpu"), False)
    stem = model.s1.pathway0_stem
    feats = [stem.conv(prep(c)).detach() for c in clips[:2]]
    means = torch.stack([f.mean(dim=(0, 2, 3, 4)) for f in feats]).mean(0)
    variances = torch.stack([f.transpose(0, 1).flatten(1).var(dim=1, unbiased=True) for f in feats]).mean(0)
    batches = [(c, None, None, None) for c in clips]
    seen = update_bn_stats(model, batches, prep, 2, DistContext(), _no_autocast)
    assert seen == 2
    torch.testing.assert_close(stem.bn.running_mean, means)
    torch.testing.assert_close(stem.bn.running_var, variances)
    assert stem.bn.momentum == 0.1 and model.training


def _no_autocast():
    return torch.autocast("cpu", enabled=False)
