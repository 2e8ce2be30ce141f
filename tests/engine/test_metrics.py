"""Metrics against scikit-learn on random predictions; multi-view aggregation by sample id."""
import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from slowfast.engine.evaluate import activation, aggregate_views
from slowfast.engine.metrics import classification_metrics


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_equal_sklearn(seed):
    rng = np.random.default_rng(seed)
    k, n = 12, 300
    labels = rng.integers(0, k - 2, size=n)  # classes 10 and 11 never occur in the labels
    scores = rng.random((n, k)).astype(np.float32)
    scores[np.arange(n), labels] += rng.random(n) * 0.8  # better than chance, far from perfect
    m = classification_metrics(scores, labels, k)
    preds = scores.argmax(1)
    present = np.unique(labels)
    assert m["top1"] == pytest.approx(100 * skm.accuracy_score(labels, preds))
    assert m["top5"] == pytest.approx(100 * skm.top_k_accuracy_score(labels, scores, k=5, labels=np.arange(k)))
    recall = skm.recall_score(labels, preds, labels=present, average="macro", zero_division=0)
    assert m["mean_class_acc"] == pytest.approx(100 * recall)
    assert m["macro_recall"] == pytest.approx(100 * recall)
    assert m["macro_precision"] == pytest.approx(
        100 * skm.precision_score(labels, preds, labels=present, average="macro", zero_division=0))
    f1 = skm.f1_score(labels, preds, labels=present, average="macro", zero_division=0)
    assert m["macro_f1"] == pytest.approx(100 * f1)
    assert np.array_equal(np.array(m["confusion"]), skm.confusion_matrix(labels, preds, labels=np.arange(k)))
    per_class = skm.recall_score(labels, preds, labels=present, average=None, zero_division=0)
    assert [v for v in m["per_class_acc"] if v is not None] == pytest.approx(list(100 * per_class))
    assert m["per_class_acc"][10] is None and m["per_class_acc"][11] is None
    assert m["class_support"] == np.bincount(labels, minlength=k).tolist()


def test_metrics_reject_bad_labels():
    with pytest.raises(ValueError, match="labels must be in"):
        classification_metrics(np.zeros((2, 3)), np.array([0, 3]), 3)


def _views(index, view, labels, scores):
    n = len(index)
    return {"index": np.array(index), "view": np.array(view), "labels": np.array(labels),
            "scores": np.array(scores, dtype=np.float32), "video_id": np.array([f"v{i}" for i in index]),
            "loss": np.arange(n, dtype=np.float32)}


def test_aggregation_sums_softmax_and_drops_duplicate_views():
    # Sample 5 has views 0 and 1; view 1 of sample 5 appears twice (sampler padding).
    pred = _views(
        index=[5, 2, 5, 2, 5], view=[1, 0, 0, 1, 1], labels=[1, 0, 1, 0, 1],
        scores=[[0.2, 0.8], [0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.0, 1.0]],
    )
    agg = aggregate_views(pred, num_views=2, method="sum")
    assert agg["index"].tolist() == [2, 5]
    assert agg["labels"].tolist() == [0, 1]
    np.testing.assert_allclose(agg["scores"], [[0.6, 0.4], [0.4, 0.6]], rtol=1e-6)
    assert agg["loss"] == pytest.approx(np.mean([0, 1, 2, 3]))  # the duplicate's loss (4) is dropped
    agg = aggregate_views(pred, num_views=2, method="max")
    np.testing.assert_allclose(agg["scores"], [[0.9, 0.7], [0.6, 0.8]], rtol=1e-6)


def test_aggregation_refuses_missing_views():
    pred = _views(index=[1, 1, 2], view=[0, 1, 0], labels=[0, 0, 1], scores=np.full((3, 2), 0.5))
    with pytest.raises(RuntimeError, match="sample 2 has 1"):
        aggregate_views(pred, num_views=2)


def test_head_activation_follows_model_head_act():
    logits = torch.tensor([[2.0, -1.0, 0.5]])
    torch.testing.assert_close(activation("softmax")(logits), torch.softmax(logits, 1))
    torch.testing.assert_close(activation("sigmoid")(logits), torch.sigmoid(logits))
    with pytest.raises(ValueError, match="MODEL.HEAD_ACT='tanh'"):
        activation("tanh")
