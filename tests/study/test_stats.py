"""Paired statistics: the crossed bootstrap against cases with known answers, agreement, and
the verdict rule."""
import numpy as np
import pytest

from ean.study.stats import Correctness, Delta, agreement, bootstrap_mean, paired_delta, verdict


def _corr(correct, pred=None, seeds=None):
    correct = np.asarray(correct, dtype=bool)
    pred = np.where(correct, 0, 1) if pred is None else np.asarray(pred)
    s, v = correct.shape
    return Correctness(list(seeds or range(s)), np.arange(v), np.zeros(v, dtype=np.int64), correct, pred)


def test_constant_differences_have_a_zero_width_interval():
    d = bootstrap_mean(np.full((3, 200), 0.25))
    assert d.mean == pytest.approx(25.0) and d.low == pytest.approx(25.0) and d.high == pytest.approx(25.0)


def test_one_seed_interval_matches_the_normal_approximation():
    rng = np.random.default_rng(0)
    x = rng.choice([-1.0, 0.0, 1.0], p=[0.1, 0.7, 0.2], size=(1, 4000))
    d = bootstrap_mean(x, n_boot=4000)
    se = 100 * x.std(ddof=1) / np.sqrt(x.size)
    assert d.half_width == pytest.approx(1.96 * se, rel=0.08)
    assert d.low < d.mean < d.high


def test_seed_to_seed_variation_widens_the_interval():
    rng = np.random.default_rng(1)
    noise = rng.choice([-1.0, 0.0, 1.0], size=(3, 900))
    same = bootstrap_mean(noise)
    shifted = bootstrap_mean(noise + np.array([[-0.3], [0.0], [0.3]]))
    assert shifted.half_width > 2 * same.half_width


def test_coverage_of_the_crossed_bootstrap():
    """Over repeated draws from a known model (true Δ = 5 points), about 95 % of the
    intervals contain the truth."""
    rng = np.random.default_rng(2)
    hits = 0
    for _ in range(120):
        seed_effect = rng.normal(0.05, 0.01, size=(3, 1))
        a = rng.random((3, 600)) < 0.55 + seed_effect
        b = rng.random((3, 600)) < 0.55
        d = paired_delta(_corr(a), _corr(b), n_boot=800, seed=int(rng.integers(1 << 30)))
        hits += d.low <= 5.0 <= d.high
    assert 0.85 <= hits / 120 <= 1.0


def test_paired_delta_uses_the_shared_seeds_and_the_same_videos():
    a = _corr([[1, 1, 0, 0], [1, 1, 1, 0]], seeds=[0, 1])
    b = _corr([[1, 0, 0, 0]], seeds=[1])
    d = paired_delta(a, b)
    assert d.seeds == 1 and d.mean == pytest.approx(50.0)
    other = Correctness([1], np.arange(1, 5), np.zeros(4, dtype=np.int64), np.ones((1, 4), bool), np.zeros((1, 4)))
    with pytest.raises(ValueError, match="different validation videos"):
        paired_delta(a, other)


def test_agreement_counts_identical_predictions_of_the_same_seed():
    a = _corr([[1, 1, 1, 1]], pred=[[0, 1, 2, 3]])
    b = _corr([[1, 1, 1, 1]], pred=[[0, 1, 2, 0]])
    assert agreement(a, b) == pytest.approx(0.75)


@pytest.mark.parametrize("paper,low,high,expected", [
    (2.2, 0.5, 3.0, "supported"),
    (2.2, -3.0, -0.5, "contradicted"),
    (2.2, -0.5, 3.0, "unresolved"),
    (-1.0, -3.0, -0.5, "supported"),
    (0.0, -0.8, 0.9, "supported"),        # a claim of no difference, within ±1 point
    (0.0, -2.0, 0.5, "unresolved"),
    (0.0, 0.2, 3.0, "contradicted"),
    (None, 0.5, 3.0, "untestable"),
])
def test_verdict_rule(paper, low, high, expected):
    assert verdict(paper, Delta((low + high) / 2, low, high, 3, 900)) == expected
    assert verdict(2.2, None) == "untestable"
