"""Accuracy and macro recall on repeated random subsets of the test set.

The small-dataset protocol reports how much the test numbers move with the choice of
test videos: TEST.NUM_SUBSETS subsets, each of round(TEST.SUBSET_FRACTION x N) samples
(at least 1).

How subsets are drawn (so they are reproducible and their overlap is known):
- each subset is drawn WITHOUT replacement within itself (no sample twice in a subset);
- subsets are drawn INDEPENDENTLY of each other, so two subsets MAY OVERLAP (and with
  fraction 1.0 every subset is the whole test set);
- subset ``i`` comes from ``numpy.random.default_rng([seed, i])`` (seed = RNG_SEED), so it
  depends only on (seed, i, N, fraction): asking for more subsets keeps the first ones.

Per subset: top-1 accuracy and macro recall (mean over the classes present in the subset
of the per-class recall), both in percent. Means and standard deviations are over the
subsets; the standard deviation is the sample one (ddof=1), 0.0 for a single subset.
"""
import numpy as np


def subset_size(num_samples, fraction):
    return max(1, int(round(fraction * num_samples)))


def subset_indices(num_samples, num_subsets, fraction, seed):
    """The sorted sample positions of each subset, as a list of int64 arrays."""
    size = subset_size(num_samples, fraction)
    return [
        np.sort(np.random.default_rng([seed, i]).choice(num_samples, size=size, replace=False))
        for i in range(num_subsets)
    ]


def _top1_and_macro_recall(pred, labels):
    correct = pred == labels
    recalls = [correct[labels == c].mean() for c in np.unique(labels)]
    return 100.0 * float(correct.mean()), 100.0 * float(np.mean(recalls))


def _std(values):
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def subset_metrics(scores, labels, num_subsets, fraction, seed):
    """results.json's "subsets" entry for per-sample ``scores`` (N, K) and ``labels`` (N,)."""
    scores = np.asarray(scores)
    labels = np.asarray(labels)
    if scores.ndim != 2 or labels.shape != (scores.shape[0],):
        raise ValueError(
            f"subset_metrics: scores must be (N, K) and labels (N,), got {scores.shape} and {labels.shape}"
        )
    if scores.shape[0] == 0:
        raise ValueError("subset_metrics: no test samples")
    if num_subsets < 1:
        raise ValueError(f"TEST.NUM_SUBSETS={num_subsets} must be >= 1 to compute subsets")
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"TEST.SUBSET_FRACTION={fraction} must be in (0, 1]")
    pred = scores.argmax(axis=1)
    per_subset = []
    for idx in subset_indices(len(labels), num_subsets, fraction, seed):
        top1, recall = _top1_and_macro_recall(pred[idx], labels[idx])
        per_subset.append({"top1": top1, "macro_recall": recall, "n": int(len(idx))})
    top1s = [s["top1"] for s in per_subset]
    recalls = [s["macro_recall"] for s in per_subset]
    return {
        "fraction": float(fraction),
        "seed": int(seed),
        "per_subset": per_subset,
        "top1_mean": float(np.mean(top1s)),
        "top1_std": _std(top1s),
        "recall_mean": float(np.mean(recalls)),
        "recall_std": _std(recalls),
    }
