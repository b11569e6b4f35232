import numpy as np
import pytest

from ean.errors import UserError
from ean.engine.ensemble import ensemble_files, ensemble_scores
from ean.engine.scores import EvalResult
from ean.engine.scores import load_scores, save_scores


def _file(scores, labels, indices):
    return {"scores": np.asarray(scores, np.float32), "labels": np.asarray(labels), "indices": np.asarray(indices),
            "class_names": np.array(["a", "b", "c"])}


def test_sum_of_scores_aligned_by_index():
    a = _file([[1, 0, 0], [0, 2, 0]], [0, 1], [10, 20])
    b = _file([[0, 5, 0], [3, 0, 0]], [1, 0], [20, 10])  # other order
    out = ensemble_scores([a, b], ["a", "b"])
    assert out.indices.tolist() == [10, 20]
    assert out.labels.tolist() == [0, 1]
    np.testing.assert_allclose(out.scores, [[4, 0, 0], [0, 7, 0]])


def test_weights_and_softmax():
    a = _file([[0, 0, 0]], [0], [1])
    b = _file([[np.log(2), 0, 0]], [0], [1])
    out = ensemble_scores([a, b], ["a", "b"], weights=[1.0, 3.0], softmax=True)
    np.testing.assert_allclose(out.scores, [[1 / 3 + 3 * 0.5, 1 / 3 + 3 * 0.25, 1 / 3 + 3 * 0.25]], rtol=1e-6)


def test_ensemble_can_beat_each_member():
    labels = [0, 1, 2]
    a = _file([[2, 0, 1.5], [1, 0, 0], [0, 0, 1]], labels, [0, 1, 2])  # right on 0 and 2
    b = _file([[0, 1, 0.5], [0, 3, 0], [0, 1.5, 1]], labels, [0, 1, 2])  # right on 1
    out = ensemble_scores([a, b], ["a", "b"])
    assert (out.scores.argmax(1) == np.array(labels)).all()


def test_mismatches_are_reported():
    a = _file([[1, 0, 0], [0, 1, 0]], [0, 1], [0, 1])
    with pytest.raises(UserError, match="different label"):
        ensemble_scores([a, _file([[1, 0, 0], [0, 1, 0]], [0, 2], [0, 1])], ["a", "b"])
    c = _file([[1, 0, 0]], [0], [0])
    with pytest.raises(UserError, match="--intersect"):
        ensemble_scores([a, c], ["a", "c"])
    out = ensemble_scores([a, c], ["a", "c"], intersect=True)
    assert out.indices.tolist() == [0]
    with pytest.raises(UserError, match="at least two"):
        ensemble_scores([a], ["a"])


def test_files_round_trip(tmp_path):
    r1 = EvalResult(np.array([[1, 0, 0], [0, 1, 0]], np.float32), np.array([0, 2]), np.array([0, 1]), 0.0)
    r2 = EvalResult(np.array([[0, 0, 0], [0, 0, 2]], np.float32), np.array([0, 2]), np.array([0, 1]), 0.0)
    p1 = save_scores(tmp_path / "a.npz", r1, ["x", "y", "z"], {"protocol": "1clip"})
    p2 = save_scores(tmp_path / "b.npz", r2, ["x", "y", "z"])
    loaded = load_scores(p1)
    assert loaded["class_names"].tolist() == ["x", "y", "z"]
    assert str(loaded["protocol"]) == "1clip"
    assert loaded["confusion"].tolist() == [[1, 0, 0], [0, 0, 0], [0, 1, 0]]
    result, names, singles = ensemble_files([p1, p2])
    assert names == ["x", "y", "z"]
    assert (result.scores.argmax(1) == [0, 2]).all()
    assert singles[str(p1)]["top1"] == 50.0
    with pytest.raises(UserError, match="not found"):
        ensemble_files([p1, tmp_path / "missing.npz"])
