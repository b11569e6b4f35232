import math

import numpy as np
import pytest
import torch

from ean.engine.metrics import aggregate_views, classification_report, confusion_matrix, topk_correct


def test_aggregate_logits_is_the_mean_of_raw_logits():
    logits = torch.tensor([[[1.0, 2.0, 3.0], [3.0, 0.0, -3.0]]])  # 1 video, 2 views, 3 classes
    assert torch.allclose(aggregate_views(logits, "logits"), torch.tensor([[2.0, 1.0, 0.0]]))


def test_aggregate_softmax_is_the_mean_of_probabilities():
    logits = torch.tensor([[[0.0, 0.0], [math.log(3.0), 0.0]]])
    # view 1: (0.5, 0.5); view 2: (0.75, 0.25) -> (0.625, 0.375)
    assert torch.allclose(aggregate_views(logits, "softmax"), torch.tensor([[0.625, 0.375]]))


def test_aggregation_modes_can_disagree():
    # one confident view vs two mildly opposed views: logit mean and probability mean differ
    logits = torch.tensor([[[10.0, 0.0], [0.0, 1.0], [0.0, 1.0]]])
    assert aggregate_views(logits, "logits").argmax().item() == 0
    assert aggregate_views(logits, "softmax").argmax().item() == 0
    logits = torch.tensor([[[3.0, 0.0], [0.0, 1.2], [0.0, 1.2]]])
    assert aggregate_views(logits, "logits").argmax().item() == 0  # (1.0, 0.8)
    assert aggregate_views(logits, "softmax").argmax().item() == 1  # (0.39, 0.61)


def test_single_view_and_bad_mode():
    x = torch.randn(4, 5)
    assert torch.equal(aggregate_views(x), x)
    with pytest.raises(ValueError, match="aggregate"):
        aggregate_views(x.unsqueeze(1), "max")


def test_topk_counts():
    scores = torch.tensor([[0.1, 0.9, 0.0], [0.8, 0.15, 0.05], [0.2, 0.3, 0.5]])
    labels = torch.tensor([1, 1, 0])
    assert topk_correct(scores, labels, (1, 2, 5)) == {1: 1, 2: 2, 5: 3}


def test_report_per_class_and_confusion():
    scores = np.eye(3)[[0, 0, 1, 2, 2]].astype(np.float32)  # predictions 0 0 1 2 2
    labels = np.array([0, 1, 1, 2, 2])
    rep = classification_report(scores, labels)
    assert rep["top1"] == pytest.approx(80.0)
    assert rep["per_class_acc"] == pytest.approx([100.0, 50.0, 100.0])
    assert rep["mean_class_acc"] == pytest.approx(250.0 / 3)
    assert rep["confusion"].tolist() == [[1, 0, 0], [1, 1, 0], [0, 0, 2]]
    assert rep["top5"] == 100.0


def test_mean_class_accuracy_ignores_absent_classes():
    scores = np.eye(4)[[0, 1]].astype(np.float32)
    rep = classification_report(scores, np.array([0, 0]))
    assert rep["top1"] == 50.0
    assert math.isnan(rep["per_class_acc"][1])
    assert rep["mean_class_acc"] == 50.0


def test_confusion_matrix_counts():
    cm = confusion_matrix(np.array([0, 0, 1]), np.array([1, 1, 1]), 2)
    assert cm.tolist() == [[0, 2], [0, 1]]


def test_labels_out_of_range_rejected():
    with pytest.raises(ValueError, match="labels"):
        classification_report(np.zeros((2, 3)), np.array([0, 3]))
