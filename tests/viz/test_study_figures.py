"""The population scores of the figures on hand-built cases with known answers: Fig. 6's
per-class paired Δ, the Fig. 11/12 selection rule, Fig. 10's intervention effect."""
import numpy as np
import pytest

from ean.engine.scores import EvalResult
from ean.engine.scores import save_scores
from ean.study.stats import Correctness


def _corr(correct, labels):
    correct = np.asarray(correct, bool)
    return Correctness(list(range(correct.shape[0])), np.arange(correct.shape[1]), np.asarray(labels),
                       correct, np.where(correct, 0, 1))


def test_per_class_delta_has_the_known_differences():
    from ean.viz.figures import per_class_delta

    labels = np.repeat([0, 1], 50)
    a = np.zeros((3, 100), bool)
    b = np.zeros((3, 100), bool)
    a[:, :30] = True          # class 0: 60 % with, 20 % without -> +40 points
    b[:, :10] = True
    a[:, 50:75] = True        # class 1: 50 % both -> 0
    b[:, 50:75] = True
    got = per_class_delta(_corr(a, labels), _corr(b, labels), ["zero", "one"]).set_index("class")
    assert got.loc["zero", "delta"] == pytest.approx(40.0) and got.loc["zero", "significant"]
    assert got.loc["one", "delta"] == 0 and not got.loc["one", "significant"]
    assert list(got.index) == ["zero", "one"]          # sorted by Δ


def _scores(path, preds_conf, labels, k=3):
    scores = np.zeros((len(labels), k), np.float32)
    for i, (p, c) in enumerate(preds_conf):
        scores[i, p] = c
    save_scores(path, EvalResult(scores, np.asarray(labels), np.arange(len(labels)), 0.0), ["a", "b", "c"])
    return path


def test_attributed_errors_are_errors_the_other_model_gets_right(tmp_path):
    from ean.viz.failures import attributed_errors

    labels = [0, 1, 2, 0]
    ean = _scores(tmp_path / "ean.npz", [(1, 9.0), (0, 5.0), (2, 3.0), (2, 7.0)], labels)      # wrong on 0, 1, 3
    other = _scores(tmp_path / "other.npz", [(0, 1.0), (2, 1.0), (2, 1.0), (0, 1.0)], labels)  # right on 0, 2, 3
    got = attributed_errors(ean, other, k=5)
    assert list(got["index"]) == [0, 3]            # EAN wrong, other right; most confident first
    assert got["candidates"].iloc[0] == 2


def test_intervention_effect_and_regression_on_known_shares():
    from ean.viz.interventions import StudyResult

    s, v, g = 3, 200, 3
    rng = np.random.default_rng(0)
    spatial = np.full((s, v, 3, 2, g), 1 / 3)
    spatial[:, :, 1, :, 0] += 0.05                          # zoom: +5 points on the 1x1 share
    temporal = np.full_like(spatial, 1 / 3)
    size = np.exp(rng.uniform(np.log(10), np.log(30), v))
    temporal[:, :, 0, :, 0] += 0.02 * rng.standard_normal((s, v, 2))
    r = StudyResult([0, 1, 2], spatial[..., 0].mean(-1), temporal[..., 0].mean(-1), spatial[..., 0],
                    temporal[..., 0], spatial, temporal, size, rng.uniform(0.2, 0.8, v), np.zeros(v, int),
                    1.6, 2.0, [1, 2])
    summary = r.summary()
    assert summary["zoom"]["delta"] == pytest.approx(5.0) and summary["zoom"]["ci_low"] == pytest.approx(5.0)
    assert summary["rate"]["ci_low"] < 0 < summary["rate"]["ci_high"]
    assert abs(summary["regression"]["spatial_vs_log2_size"]["slope"]) < 1e-6
