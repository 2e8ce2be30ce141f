"""Random test subsets: drawn as documented (no repeats inside, independent across), seeded."""
import statistics

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, recall_score

from slowfast.engine.subsets import subset_indices, subset_metrics


def _scores_labels(n=60, k=4, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, size=n)
    scores = rng.random((n, k)).astype(np.float32)
    # Make about two thirds of the predictions right so the metrics are not trivial.
    right = rng.random(n) < 0.66
    scores[right, labels[right]] += 1.0
    return scores, labels


def test_subsets_have_no_repeats_and_the_documented_size():
    for n, fraction, size in ((60, 0.5, 30), (7, 0.3, 2), (5, 0.01, 1), (9, 1.0, 9)):
        for idx in subset_indices(n, 4, fraction, seed=3):
            assert len(idx) == size
            assert len(np.unique(idx)) == size
            assert idx.min() >= 0 and idx.max() < n


def test_subsets_are_reproducible_by_seed_and_prefix_stable():
    a = subset_indices(50, 5, 0.4, seed=7)
    b = subset_indices(50, 5, 0.4, seed=7)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    c = subset_indices(50, 5, 0.4, seed=8)
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))
    first3 = subset_indices(50, 3, 0.4, seed=7)
    assert all(np.array_equal(x, y) for x, y in zip(first3, a[:3]))


def test_subsets_are_drawn_independently_so_they_overlap():
    # Independent draws of 50 from 100: the expected overlap of two subsets is
    # 100 * 0.5 * 0.5 = 25 (hypergeometric). Disjoint or nested subsets would give 0 or 50.
    subsets = [set(s.tolist()) for s in subset_indices(100, 200, 0.5, seed=0)]
    overlaps = [len(subsets[i] & subsets[i + 1]) for i in range(len(subsets) - 1)]
    assert 24.0 < np.mean(overlaps) < 26.0
    assert min(overlaps) > 0


def test_metrics_match_sklearn_on_the_same_subsets():
    scores, labels = _scores_labels()
    out = subset_metrics(scores, labels, num_subsets=6, fraction=0.5, seed=11)
    pred = scores.argmax(1)
    expected_top1, expected_recall = [], []
    for idx in subset_indices(len(labels), 6, 0.5, seed=11):
        y, p = labels[idx], pred[idx]
        expected_top1.append(100 * accuracy_score(y, p))
        expected_recall.append(100 * recall_score(y, p, labels=np.unique(y), average="macro"))
    assert [s["n"] for s in out["per_subset"]] == [30] * 6
    assert [s["top1"] for s in out["per_subset"]] == pytest.approx(expected_top1)
    assert [s["macro_recall"] for s in out["per_subset"]] == pytest.approx(expected_recall)
    assert out["top1_mean"] == pytest.approx(statistics.mean(expected_top1))
    assert out["top1_std"] == pytest.approx(statistics.stdev(expected_top1))
    assert out["recall_mean"] == pytest.approx(statistics.mean(expected_recall))
    assert out["recall_std"] == pytest.approx(statistics.stdev(expected_recall))
    assert out["fraction"] == 0.5 and out["seed"] == 11
    # The numbers differ between subsets (otherwise the protocol reports nothing).
    assert out["top1_std"] > 0


def test_full_fraction_gives_the_whole_test_set_every_time():
    scores, labels = _scores_labels(n=20)
    out = subset_metrics(scores, labels, num_subsets=3, fraction=1.0, seed=0)
    full = 100 * accuracy_score(labels, scores.argmax(1))
    assert [s["top1"] for s in out["per_subset"]] == pytest.approx([full] * 3)
    assert out["top1_std"] == 0.0


def test_bad_inputs_are_refused_with_the_key_named():
    scores, labels = _scores_labels(n=10)
    with pytest.raises(ValueError, match="TEST.SUBSET_FRACTION"):
        subset_metrics(scores, labels, 2, 0.0, 0)
    with pytest.raises(ValueError, match="TEST.NUM_SUBSETS"):
        subset_metrics(scores, labels, 0, 0.5, 0)
    with pytest.raises(ValueError, match="labels"):
        subset_metrics(scores, labels[:5], 2, 0.5, 0)
