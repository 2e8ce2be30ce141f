"""One training epoch in isolation: accumulation, clipping, mixup, loss guards, bad items, groups."""
import functools

import numpy as np
import pytest
import torch
from torch import nn

from slowfast.datasets.loader import collate_clips
from slowfast.engine import losses, mixup, rng
from slowfast.engine.distributed import DistContext
from slowfast.engine.model_setup import InputPrep
from slowfast.engine.monitor import JsonStats, TensorBoard
from slowfast.engine.optimizer import build_optimizer
from slowfast.engine.signals import StopFlag
from slowfast.engine.train import Trainer, TooManyBadItems, _Detectors
from tests.engine import helpers
from tests.engine.tiny import TinyClips, TinyNet


class ListLoader(list):
    """Just what Trainer.train_epoch reads from a DataLoader."""

    def __init__(self, batches, batch_size, dataset):
        super().__init__(batches)
        self.batch_size = batch_size
        self.dataset = dataset


class NoBN(nn.Module):
    """Linear on pooled pixels: no batch statistics, so batch splits do not change the maths."""

    def __init__(self, classes=3):
        super().__init__()
        self.proj = nn.Linear(3 * 2, classes)

    def forward(self, x):
        return self.proj(x.mean(dim=(3, 4)).flatten(1))


def make(tmp_path, model, batch, **overrides):
    cfg = helpers.tiny_cfg(tmp_path, tmp_path / "run", TRAIN__BATCH_SIZE=batch, **overrides)
    ds = TinyClips(cfg, "train")
    n = len(ds) // batch
    loader = ListLoader([collate_clips([ds[i * batch + j] for j in range(batch)]) for i in range(n)], batch, ds)
    ctx = DistContext()
    opt = build_optimizer(model, cfg)
    dtype = getattr(torch, cfg.TRAIN.MIXED_PRECISION_DTYPE)
    autocast = functools.partial(torch.autocast, device_type="cpu", dtype=dtype, enabled=cfg.TRAIN.MIXED_PRECISION)
    trainer = Trainer(cfg, ctx, model, model, opt, None, InputPrep.from_cfg(cfg, ctx.device, model), autocast,
                      JsonStats(str(tmp_path), False), TensorBoard(cfg, False), StopFlag())
    return trainer, loader


def test_gradient_accumulation_equals_the_large_batch(tmp_path):
    torch.manual_seed(0)
    a, b = NoBN(), NoBN()
    b.load_state_dict(a.state_dict())
    big, big_loader = make(tmp_path, a, 4)
    small, small_loader = make(tmp_path, b, 2, TRAIN__GRAD_ACCUM_STEPS=2)
    for epoch in range(2):
        big.train_epoch(big_loader, epoch)
        small.train_epoch(small_loader, epoch)
    assert not torch.equal(a.proj.weight, NoBN().proj.weight)
    for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=1e-5, atol=1e-6, msg=name)


def test_lr_is_set_every_iteration_in_optimizer_steps(tmp_path):
    trainer, loader = make(tmp_path, NoBN(), 2, TRAIN__GRAD_ACCUM_STEPS=2)
    # 8 iterations = 4 optimizer steps per epoch; cosine 0.2 -> 0 over 3 epochs.
    assert trainer.lr_at(1, 5, 8) == pytest.approx(0.1 * (1 + np.cos(np.pi * (1 + 2 / 4) / 3)))


def test_zero_value_clipping_freezes_the_weights(tmp_path):
    torch.manual_seed(0)
    model = NoBN()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainer, loader = make(tmp_path, model, 4, SOLVER__CLIP_GRAD_VAL=0.0, SOLVER__WEIGHT_DECAY=0.0)
    stats = trainer.train_epoch(loader, 0)
    assert stats["loss"] > 0
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_mixup_and_bf16_autocast_train(tmp_path):
    torch.manual_seed(0)
    model = TinyNet(3, 0.0)
    trainer, loader = make(tmp_path, model, 4, MIXUP__ENABLE=True, MODEL__LOSS_FUNC="soft_cross_entropy",
                           TRAIN__MIXED_PRECISION=True, TRAIN__MIXED_PRECISION_DTYPE="bfloat16")
    first = trainer.train_epoch(loader, 0)["loss"]
    for epoch in range(1, 4):
        last = trainer.train_epoch(loader, epoch)["loss"]
    assert np.isfinite(last) and last < first


class NanAt(nn.Module):
    def __init__(self, at):
        super().__init__()
        self.inner, self.at, self.calls = NoBN(), at, 0

    def forward(self, x):
        self.calls += 1
        out = self.inner(x)
        return out * float("nan") if self.calls == self.at else out


def test_nan_loss_stops_naming_epoch_and_iteration(tmp_path):
    trainer, loader = make(tmp_path, NanAt(3), 2, LOG_PERIOD=4)
    with pytest.raises(FloatingPointError, match=r"epoch 1, iteration 3 \(loss nan\)"):
        trainer.train_epoch(loader, 0)


def test_loss_explosion_detector():
    det = _Detectors(torch.device("cpu"), 4, factor=10.0)
    for it, loss in enumerate([1.0, 2.0, 1.0, 1.0, 1.0, 1.0, 14.0, 1.0, 20.0, 1.0]):
        det.update(torch.tensor(loss), it)
    # The 7th loss (14) is the first checked (6 earlier ones) and exceeds 10 x mean(2, 1, 1, 1, 1) = 12.
    with pytest.raises(FloatingPointError, match=r"epoch 5, iteration 7: loss 14 > 10.0 x recent mean 1.2"):
        det.raise_if_triggered(0.0, 1.0)
    quiet = _Detectors(torch.device("cpu"), 0, factor=0.0)
    for it in range(10):
        quiet.update(torch.tensor(float(10 ** it)), it)
    assert int(quiet.explode_it) == -1


def test_unreadable_items_past_the_limit_stop_the_epoch(tmp_path, monkeypatch):
    monkeypatch.setattr(TinyClips, "bad_every", 4)
    trainer, loader = make(tmp_path, NoBN(), 4, DATA__MAX_BAD_FRACTION=0.2)
    with pytest.raises(TooManyBadItems, match=r"4 of 16 items were unreadable.*/missing/train_0.jpg"):
        trainer.train_epoch(loader, 0)
    trainer, loader = make(tmp_path, NoBN(), 4, DATA__MAX_BAD_FRACTION=0.3)
    assert trainer.train_epoch(loader, 0)["bad_items"] == 4


def test_param_groups_follow_pyslowfast():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv3d(3, 4, 1)
            self.bn = nn.BatchNorm3d(4)
            self.pos_embed = nn.Parameter(torch.zeros(1, 4))
            self.frozen = nn.Linear(2, 2)
            self.frozen.requires_grad_(False)

        def no_weight_decay(self):
            return {"pos_embed"}

    from slowfast.config import load_config

    model = M()
    cfg = load_config(None, ["SOLVER.ZERO_WD_1D_PARAM", "True", "SOLVER.WEIGHT_DECAY", "0.05",
                             "BN.WEIGHT_DECAY", "0.001", "SOLVER.OPTIMIZING_METHOD", "adamw",
                             "SOLVER.BETAS", "(0.8, 0.9)"])
    opt = build_optimizer(model, cfg)
    groups = [(g["weight_decay"], {id(p) for p in g["params"]}) for g in opt.param_groups]
    assert groups == [
        (0.001, {id(model.bn.weight), id(model.bn.bias)}),
        (0.05, {id(model.conv.weight)}),
        (0.0, {id(model.pos_embed), id(model.conv.bias)}),
    ]
    assert opt.param_groups[0]["betas"] == (0.8, 0.9) and opt.param_groups[0]["foreach"]


def test_mixup_targets_and_determinism():
    mix = mixup.MixUp(0.8, 1.0, 1.0, 0.5, 0.1, num_classes=4)
    x = torch.rand(4, 3, 2, 8, 8)
    labels = torch.tensor([0, 1, 2, 3])
    out1, t1 = mix(x.clone(), labels, rng.mixup_generator(1, 2, 3))
    out2, t2 = mix(x.clone(), labels, rng.mixup_generator(1, 2, 3))
    assert torch.equal(out1, out2) and torch.equal(t1, t2)
    torch.testing.assert_close(t1.sum(1), torch.ones(4))
    # Smoothed one-hot: off = 0.1 / 4, on = 0.9 + 0.025; mixed with the reversed batch by lam.
    lam = float(t1[0, 0] - 0.025) / 0.9
    assert 0.0 <= lam <= 1.0
    assert float(t1[0, 3]) == pytest.approx(0.025 + 0.9 * (1 - lam), abs=1e-6)
    pure_mixup = mixup.MixUp(0.8, 0.0, 1.0, 0.5, 0.0, num_classes=4)
    out, t = pure_mixup(x.clone(), labels, rng.mixup_generator(0, 0, 0))
    lam = float(t[0, 0])
    torch.testing.assert_close(out, lam * x + (1 - lam) * x.flip(0))


def test_losses():
    logits = torch.randn(5, 4)
    labels = torch.tensor([0, 3, 1, 1, 2])
    ce = losses.cross_entropy(logits, labels)
    torch.testing.assert_close(losses.soft_cross_entropy(logits, labels), ce)
    torch.testing.assert_close(losses.soft_cross_entropy(logits, losses.one_hot(labels, 4)), ce)
    smooth = losses.one_hot(labels, 4, smoothing=0.2)
    assert smooth[0].tolist() == pytest.approx([0.85, 0.05, 0.05, 0.05])
    with pytest.raises(ValueError, match="MODEL.LOSS_FUNC='hinge'"):
        losses.get_loss_func("hinge")
