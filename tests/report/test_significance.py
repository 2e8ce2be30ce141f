"""McNemar and paired bootstrap against hand-computed cases."""
import math

import numpy as np
import pytest

from slowfast.report.significance import mcnemar_exact, paired_bootstrap


def _pairs(both, only_a, only_b, neither):
    a = [1] * both + [1] * only_a + [0] * only_b + [0] * neither
    b = [1] * both + [0] * only_a + [1] * only_b + [0] * neither
    return np.array(a, bool), np.array(b, bool)


@pytest.mark.parametrize(
    "only_a, only_b, expected",
    [
        (1, 6, 2 * (1 + 7) / 2**7),  # 0.125
        (0, 5, 2 / 2**5),  # 0.0625
        (2, 8, 2 * (1 + 10 + 45) / 2**10),  # 0.109375
        (8, 2, 2 * (1 + 10 + 45) / 2**10),  # symmetric
        (4, 4, 1.0),
        (0, 0, 1.0),  # no discordant pairs: no evidence of a difference
    ],
)
def test_mcnemar_exact_matches_binomial_by_hand(only_a, only_b, expected):
    a, b = _pairs(both=20, only_a=only_a, only_b=only_b, neither=7)
    out = mcnemar_exact(a, b)
    assert (out["only_a"], out["only_b"]) == (only_a, only_b)
    assert out["p_value"] == pytest.approx(expected, rel=1e-12)


def test_bootstrap_two_samples_has_known_percentiles():
    # d = [1, 0]: resampled means are 0 (1/4), 0.5 (1/2), 1 (1/4), so the 95% interval is [0, 100] pp.
    out = paired_bootstrap([True, True], [False, True], n_resamples=2000, seed=3)
    assert out["diff"] == pytest.approx(50.0)
    assert out["ci_low"] == pytest.approx(0.0)
    assert out["ci_high"] == pytest.approx(100.0)


def test_bootstrap_matches_normal_approximation_by_hand():
    # 200 samples, A alone right on 30, B alone right on 10: diff = 10 pp,
    # var(d) = (30 + 10) / 200 - 0.1^2 = 0.19, se = sqrt(0.19 / 200) = 3.082 pp,
    # so the 95% interval is close to 10 +- 1.96 * 3.082 = [3.96, 16.04].
    a, b = _pairs(both=100, only_a=30, only_b=10, neither=60)
    out = paired_bootstrap(a, b, n_resamples=2000, seed=0)
    se = math.sqrt(0.19 / 200) * 100
    assert out["diff"] == pytest.approx(10.0)
    assert out["ci_low"] == pytest.approx(10 - 1.96 * se, abs=0.8)
    assert out["ci_high"] == pytest.approx(10 + 1.96 * se, abs=0.8)


def test_bootstrap_is_seeded_and_identical_runs_give_zero():
    a, b = _pairs(both=50, only_a=5, only_b=3, neither=42)
    assert paired_bootstrap(a, b, seed=7) == paired_bootstrap(a, b, seed=7)
    # Identical runs: every resample has zero difference.
    same = paired_bootstrap(a, a, seed=1)
    assert (same["diff"], same["ci_low"], same["ci_high"]) == (0.0, 0.0, 0.0)


def test_mismatched_lengths_are_an_error():
    with pytest.raises(ValueError, match="equal-length"):
        mcnemar_exact([True, False], [True])
