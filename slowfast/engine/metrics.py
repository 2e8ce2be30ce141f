"""Classification metrics over per-sample scores: what val and test report.

Macro averages (mean class accuracy = macro recall, macro precision, macro F1) run over the
classes present in the labels; a class never seen in this split has no accuracy to report
(``None`` in ``per_class_acc``) and adds no precision term, while wrong predictions into it
still count against the true class. Percentages are in [0, 100].
"""
import numpy as np


def topk_accuracy(scores, labels, k):
    """Percentage of samples whose label is among the ``k`` highest scores."""
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return 100.0 * float(np.mean(np.any(top == labels[:, None], axis=1)))


def confusion_matrix(labels, preds, num_classes):
    """K x K counts, rows = true class, columns = predicted class."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (labels, preds), 1)
    return cm


def classification_metrics(scores, labels, num_classes):
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if scores.ndim != 2 or scores.shape[1] != num_classes or len(labels) != len(scores):
        raise ValueError(f"scores {scores.shape} and labels {labels.shape} do not match {num_classes} classes")
    if len(labels) == 0:
        raise ValueError("no samples to score")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"labels must be in [0, {num_classes}), got range [{labels.min()}, {labels.max()}]")
    preds = scores.argmax(axis=1)
    cm = confusion_matrix(labels, preds, num_classes)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    tp = np.diag(cm).astype(np.float64)
    present = support > 0
    recall = tp[present] / support[present]
    precision = np.divide(tp[present], predicted[present], out=np.zeros(present.sum()), where=predicted[present] > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(denom), where=denom > 0)
    per_class = [float(100.0 * tp[c] / support[c]) if support[c] else None for c in range(num_classes)]
    return {
        "top1": topk_accuracy(scores, labels, 1),
        "top5": topk_accuracy(scores, labels, 5),
        "mean_class_acc": 100.0 * float(recall.mean()),
        "macro_precision": 100.0 * float(precision.mean()),
        "macro_recall": 100.0 * float(recall.mean()),
        "macro_f1": 100.0 * float(f1.mean()),
        "per_class_acc": per_class,
        "confusion": cm.tolist(),
        "class_support": support.tolist(),
    }
