"""Fig. 10's kernel weights from a hand-built fusion matrix, through the model's function
and through the figure's table."""
from __future__ import annotations

import torch

from ean.models.eab import kernel_weights
from ean.viz.figures import kernel_weight_table, paired_differences
from ean.viz.inspect import ClipView


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


def test_figure_table_labels_kernels_by_extent():
    m, sizes = hand_matrix()
    kw = {k: v[0] for k, v in kernel_weights(m, sizes).items()}
    view = ClipView(frames=torch.zeros(8, 3, 4, 4, dtype=torch.uint8), logits=torch.zeros(3),
                    probs=torch.ones(3) / 3, class_names=["a", "b", "c"], fusion=[m[0]],
                    kernel_weights=[kw], kernel_sizes=[1, 3, 5], eab_stages=[2])
    table = kernel_weight_table(view, "original")
    spatial = table[table["kind"] == "spatial"].set_index("kernel")["weight"]
    assert spatial.to_dict() == {1: 1.0, 3: 2.0, 5: 3.5}
    assert set(table["eab"]) == {"EAB 2"}


def test_paired_differences_and_intervals():
    import pandas as pd

    rows = []
    for video in range(5):
        for cond, shift in (("original", 0.0), ("zoom 1.6x", 1.0 + 0.1 * video)):
            rows.append({"video": video, "eab": "EAB 2", "kind": "spatial", "kernel": 3,
                         "weight": 2.0 + shift, "condition": cond})
    diffs = paired_differences(pd.DataFrame(rows))
    row = diffs.iloc[0]
    assert row["mean_diff"] == 1.2 or abs(row["mean_diff"] - 1.2) < 1e-9
    assert row["ci_low"] < 1.2 < row["ci_high"] and row["n"] == 5
