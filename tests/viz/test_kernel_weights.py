"""Fig. 10's kernel weights from a hand-built fusion matrix, through the model's function
and through the figure's table."""
from __future__ import annotations

import torch

from ean.models.eab import kernel_weights


def hand_matrix():
    # 3 kernel groups of sizes 2, 1, 3 channels (C' = 6); M[o, i]: output o, input i
    m = torch.zeros(1, 6, 6)
    m[0, 0, 0] = 1.0        # group 0 -> group 0
    m[0, 2, 0] = 2.0        # input group 0 -> output group 1
    m[0, 3, 2] = 4.0        # input group 1 -> output group 2
    m[0, 5, 5] = -0.5       # group 2 -> group 2
    return m, [2, 1, 3]


def test_kernel_weights_sum_the_entries_connected_to_each_kernel():
    m, sizes = hand_matrix()
    kw = kernel_weights(m, sizes, first="temporal")
    # first stage (temporal) kernels feed the columns: group 0 -> 1 + 2, group 1 -> 4, group 2 -> -0.5
    assert kw["temporal"].tolist() == [[3.0, 4.0, -0.5]]
    # second stage (spatial) kernels read the rows: group 0 -> 1, group 1 -> 2, group 2 -> 4 - 0.5
    assert kw["spatial"].tolist() == [[1.0, 2.0, 3.5]]
    swapped = kernel_weights(m, sizes, first="spatial")
    assert swapped["spatial"].tolist() == [[3.0, 4.0, -0.5]]


def test_kernel_shares_are_shares_of_the_absolute_matrix():
    from ean.viz.interventions import kernel_shares

    m, sizes = hand_matrix()
    sh = kernel_shares(m, sizes, first="temporal")
    # |M| column sums per temporal kernel: 3, 4, 0.5 of 7.5; row sums per spatial kernel: 1, 2, 4.5
    assert torch.allclose(sh["temporal"], torch.tensor([[3.0, 4.0, 0.5]]) / 7.5)
    assert torch.allclose(sh["spatial"], torch.tensor([[1.0, 2.0, 4.5]]) / 7.5)
    assert torch.all(sh["spatial"] >= 0) and torch.allclose(sh["spatial"].sum(1), torch.ones(1))
