"""Is a top-1 gap between two runs on the same test samples real?

Both tests work on per-sample correctness (True/False), aligned by sample id, so
they respect the pairing: the same hard samples hurt both models.
"""
import numpy as np
from scipy.stats import binomtest


def _as_pair(correct_a, correct_b):
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"need two equal-length, non-empty 1-D arrays, got {a.shape} and {b.shape}")
    return a, b


def mcnemar_exact(correct_a, correct_b):
    """Exact McNemar test: a two-sided binomial test on the discordant pairs.

    ``only_a`` counts samples A gets right and B wrong, ``only_b`` the reverse; under
    "no difference" each discordant sample is a fair coin flip.
    """
    a, b = _as_pair(correct_a, correct_b)
    only_a = int(np.sum(a & ~b))
    only_b = int(np.sum(~a & b))
    n = only_a + only_b
    p = 1.0 if n == 0 else float(binomtest(only_a, n, 0.5, alternative="two-sided").pvalue)
    return {"only_a": only_a, "only_b": only_b, "p_value": p}


def paired_bootstrap(correct_a, correct_b, n_resamples=2000, seed=0, level=0.95):
    """Top-1 of A minus top-1 of B in percentage points, with a percentile bootstrap CI.

    Samples are resampled with replacement as pairs; ``seed`` makes the interval
    reproducible from one report to the next.
    """
    a, b = _as_pair(correct_a, correct_b)
    d = a.astype(np.float64) - b.astype(np.float64)
    rng = np.random.default_rng(seed)
    n = d.size
    diffs = np.empty(n_resamples)
    chunk = max(1, 2_000_000 // n)  # bound memory of the index matrix
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        diffs[start:stop] = d[idx].mean(axis=1)
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(diffs, [tail, 100.0 - tail])
    return {
        "diff": float(d.mean() * 100.0),
        "ci_low": float(low * 100.0),
        "ci_high": float(high * 100.0),
        "level": level,
        "n_resamples": n_resamples,
        "seed": seed,
    }
