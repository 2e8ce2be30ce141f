"""engine.run end to end on the tiny doubles: files, logs, TensorBoard, test-only, fine-tuning."""
import json
import os

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from slowfast.engine.checkpoint import CheckpointError
from slowfast.engine.metrics import classification_metrics
from slowfast.engine.runner import run
from tests.engine import helpers
from tests.engine.conftest import restored_logging
from tests.engine.tiny import install


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One 3-epoch run with TensorBoard, confusion matrices, subsets and an extra predictions copy."""
    tmp = tmp_path_factory.mktemp("run")
    with pytest.MonkeyPatch.context() as mp, restored_logging():
        install(mp)
        cfg = helpers.tiny_cfg(
            tmp, tmp / "out", TENSORBOARD__ENABLE=True, TENSORBOARD__CONFUSION_MATRIX__ENABLE=True,
            TEST__NUM_SUBSETS=3, TEST__SAVE_RESULTS_PATH="extra/preds.npz", LOG_PERIOD=2,
        )
        outcome = run(cfg)
    return tmp, tmp / "out", outcome


def _stats(out):
    with open(out / "json_stats.log") as f:
        return [json.loads(line) for line in f]


def test_short_run_learns_and_writes_the_run_directory(trained):
    _, out, outcome = trained
    for name in ["config.yaml", "stdout.log", "json_stats.log", "results.json", "predictions.npz", "extra/preds.npz",
                 "checkpoints/best.pyth"] + [f"checkpoints/checkpoint_epoch_0000{e}.pyth" for e in (1, 2, 3)]:
        assert (out / name).is_file(), name
    stats = _stats(out)
    epochs = [s for s in stats if s["_type"] == "train_epoch"]
    assert [s["epoch"] for s in epochs] == [1, 2, 3]
    assert epochs[-1]["loss"] < epochs[0]["loss"]
    iters = [s for s in stats if s["_type"] == "train_iter"]
    assert [(s["epoch"], s["iter"]) for s in iters[:2]] == [(1, 2), (1, 4)]
    for key in ("loss", "lr", "top1", "data_time", "step_time", "peak_mem_mb"):
        assert all(isinstance(s[key], float) for s in iters), key
    # LR of the iteration logged at epoch 2, iteration 2 (0-based 1, 1): 0.1 * (1 + cos(pi * 1.25 / 3)).
    lr = next(s["lr"] for s in iters if (s["epoch"], s["iter"]) == (2, 2))
    assert lr == pytest.approx(0.1 * (1 + np.cos(np.pi * 1.25 / 3)))
    assert [s["epoch"] for s in stats if s["_type"] == "val_epoch"] == [1, 2, 3]
    assert sum(s["_type"] == "test" for s in stats) == 1
    assert "Training epochs 1..3" in (out / "stdout.log").read_text()


def test_results_and_predictions_agree(trained):
    _, out, outcome = trained
    results = json.loads((out / "results.json").read_text())
    assert outcome.results == results
    assert set(results) >= {"run_name", "model", "dataset", "test", "subsets", "best", "timing", "environment"}
    assert results["dataset"] == {"name": "tiny", "num_classes": 3, "class_names": ["class_0", "class_1", "class_2"],
                                  "test_samples": 7, "views_per_sample": 2}
    assert results["best"]["metric"] == "val_top1" and 1 <= results["best"]["epoch"] <= 3
    assert results["checkpoint"].endswith("best.pyth")
    assert results["timing"]["train_clips_per_s"] > 0 and results["environment"]["world_size"] == 1
    pred = np.load(out / "predictions.npz")
    assert pred["scores"].dtype == np.float32 and pred["scores"].shape == (7, 3)
    assert pred["index"].tolist() == list(range(7)) and pred["labels"].tolist() == [i % 3 for i in range(7)]
    assert pred["video_id"].tolist() == [f"test_{i:03d}" for i in range(7)]
    np.testing.assert_allclose(pred["scores"].sum(1), 1.0, rtol=1e-5)  # mean of the views' softmax
    again = classification_metrics(pred["scores"], pred["labels"], 3)
    for key in ("top1", "top5", "mean_class_acc", "macro_f1", "confusion", "per_class_acc"):
        assert again[key] == results["test"][key], key
    assert len(results["subsets"]["per_subset"]) == 3
    extra = np.load(out / "extra" / "preds.npz")
    assert np.array_equal(extra["scores"], pred["scores"])


def test_tensorboard_events_hold_the_tags(trained):
    _, out, _ = trained
    acc = EventAccumulator(str(out / "tensorboard"), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    tags = acc.Tags()
    for tag in ["Train/loss", "Train/lr", "Train/epoch_loss", "Val/top1", "Val/loss", "Val/mean_class_acc",
                "Test/top1", "Test/macro_f1"]:
        assert tag in tags["scalars"], tag
    for tag in ["Val/confusion_matrix", "Val/per_class_acc", "Test/confusion_matrix", "Test/per_class_acc"]:
        assert tag in tags["images"], tag
    assert len(acc.Scalars("Train/loss")) == 6  # 2 logged steps x 3 epochs
    assert [e.step for e in acc.Scalars("Val/top1")] == [1, 2, 3]


def test_test_only_uses_newest_checkpoint_and_max_ensemble(trained, monkeypatch):
    tmp, out, outcome = trained
    install(monkeypatch)
    cfg = helpers.tiny_cfg(tmp, out, TRAIN__ENABLE=False, DATA__ENSEMBLE_METHOD="max", TEST__NUM_SUBSETS=0)
    results = run(cfg).results
    assert results["checkpoint"].endswith("checkpoint_epoch_00003.pyth") and results["checkpoint_epoch"] == 3
    scores = np.load(out / "predictions.npz")["scores"]
    assert np.all(scores <= 1.0) and np.any(np.abs(scores.sum(1) - 1.0) > 1e-3)


def test_nothing_to_test_is_an_error(tmp_path, monkeypatch):
    install(monkeypatch)
    cfg = helpers.tiny_cfg(tmp_path, tmp_path / "empty", TRAIN__ENABLE=False)
    with pytest.raises(CheckpointError, match="nothing to test"):
        run(cfg)


def test_finetune_with_other_class_count_reinitialises_the_head(trained, tmp_path, monkeypatch):
    _, out, _ = trained
    install(monkeypatch)
    source = str(out / "checkpoints" / "best.pyth")
    common = dict(MODEL__NUM_CLASSES=4, TRAIN__CHECKPOINT_FILE_PATH=source, SOLVER__MAX_EPOCH=1, TEST__ENABLE=False)
    with pytest.raises(CheckpointError, match="CHECKPOINT_EPOCH_RESET True"):
        run(helpers.tiny_cfg(tmp_path, tmp_path / "a", **common))
    cfg = helpers.tiny_cfg(tmp_path, tmp_path / "b", TRAIN__CHECKPOINT_EPOCH_RESET=True, **common)
    model = run(cfg).model
    log = (tmp_path / "b" / "stdout.log").read_text()
    assert "head.projection.weight: checkpoint [3, 8] vs model [4, 8]" in log
    assert "head.projection.bias: checkpoint [3] vs model [4]" in log
    assert model.head.projection.weight.shape == (4, 8)
    assert (tmp_path / "b" / "checkpoints" / "checkpoint_epoch_00001.pyth").is_file()


def test_nan_loss_stops_before_any_checkpoint(tmp_path, monkeypatch):
    install(monkeypatch)
    cfg = helpers.tiny_cfg(tmp_path, tmp_path / "nan", SOLVER__BASE_LR=1e30, LOG_PERIOD=100, TEST__ENABLE=False)
    with pytest.raises(FloatingPointError, match=r"non-finite training loss at epoch 1, iteration [234]"):
        run(cfg)
    assert not (tmp_path / "nan" / "checkpoints").exists()


def test_float16_grad_scaler_state_is_checkpointed_and_resumed(tmp_path, monkeypatch):
    install(monkeypatch)
    common = dict(TRAIN__MIXED_PRECISION=True, TRAIN__GRAD_ACCUM_STEPS=2, MODEL__CHANNELS_LAST=True,
                  SOLVER__CLIP_GRAD_L2NORM=1.0, LOG_MODEL_INFO=False, TEST__ENABLE=False)
    run(helpers.tiny_cfg(tmp_path, tmp_path / "fp16", SOLVER__MAX_EPOCH=1, **common))
    first = torch.load(tmp_path / "fp16" / "checkpoints" / "checkpoint_epoch_00001.pyth", weights_only=True)
    assert first["scaler_state"]["_growth_tracker"] == 2  # 4 iterations = 2 optimizer steps, none skipped
    run(helpers.tiny_cfg(tmp_path, tmp_path / "fp16", SOLVER__MAX_EPOCH=2, **common))
    second = torch.load(tmp_path / "fp16" / "checkpoints" / "checkpoint_epoch_00002.pyth", weights_only=True)
    assert second["scaler_state"]["_growth_tracker"] == 4  # continued from the resumed scaler
    assert all(torch.isfinite(v).all() for v in second["model_state"].values() if v.is_floating_point())


def test_resume_with_changed_settings_names_them(tmp_path, monkeypatch):
    install(monkeypatch)
    common = dict(LOG_MODEL_INFO=False, TEST__ENABLE=False)
    run(helpers.tiny_cfg(tmp_path, tmp_path / "out", SOLVER__MAX_EPOCH=1, **common))
    # A longer schedule and more workers are expected on resume; a new learning rate and crop are not.
    run(helpers.tiny_cfg(tmp_path, tmp_path / "out", SOLVER__MAX_EPOCH=2, SOLVER__BASE_LR=0.1,
                         DATA__TRAIN_CROP_SIZE=20, DATA_LOADER__NUM_WORKERS=1, **common))
    log = (tmp_path / "out" / "stdout.log").read_text()
    warning = [line for line in log.splitlines() if "was saved with other settings" in line]
    assert len(warning) == 1 and "checkpoint_epoch_00001.pyth" in warning[0]
    assert "SOLVER.BASE_LR 0.2 -> 0.1" in warning[0] and "DATA.TRAIN_CROP_SIZE 16 -> 20" in warning[0]
    assert "MAX_EPOCH" not in warning[0] and "NUM_WORKERS" not in warning[0]
    stats = [json.loads(line) for line in (tmp_path / "out" / "json_stats.log").read_text().splitlines()]
    assert [s["epoch"] for s in stats if s["_type"] == "train_epoch"] == [1, 2]
