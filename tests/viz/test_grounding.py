"""The ground-truth scores of Figs. 7 and 9 on hand-built cases with known answers."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ean.data.config import DataConfig
from ean.models.presets import get_preset
from ean.viz.grounding import energy_share, pointing_hits, rise_within_event, model_view


def _union(size: int = 12, box=(2, 6, 3, 9)) -> torch.Tensor:
    u = torch.zeros(2, size, size)
    y0, y1, x0, x1 = box
    u[:, y0:y1, x0:x1] = 1.0
    return u


def test_pointing_game_hits_inside_the_mask_and_chance_is_its_area():
    union = _union()
    sal = torch.zeros(2, 2, 4, 4)                  # 2 objects, 2 frames, a 4x4 map
    sal[0, 0, 1, 2] = 5.0                          # object 0, frame 0: peak at cell (1, 2) -> pixels (3..5, 6..8)
    sal[0, 1, 3, 3] = 5.0                          # frame 1: bottom-right corner, outside the box
    sal[1] += 0.1                                  # object 1: flat, less concentrated
    hits, chance = pointing_hits(sal, union)
    assert hits.tolist() == [True, False]
    assert chance == pytest.approx([4 * 6 / 144] * 2)
    hits1, _ = pointing_hits(sal, union, obj=1)    # a flat map peaks at its first cell (0, 0): outside
    assert hits1.tolist() == [False, False]


def test_energy_share_of_even_and_concentrated_maps():
    union = _union()
    even, chance = energy_share(torch.ones(2, 12, 12), union)
    assert even == pytest.approx(chance) and chance[0] == pytest.approx(24 / 144)
    inside = torch.zeros(2, 12, 12)
    inside[:, 3:5, 4:8] = 1.0
    share, _ = energy_share(inside, union)
    assert share == pytest.approx([1.0, 1.0])
    neg, _ = energy_share(-torch.ones(2, 12, 12), union)      # negative values carry no energy
    assert neg == pytest.approx([0.0, 0.0])


def test_rise_within_event():
    seen = [0.125, 0.4, 0.7, 1.0]
    assert rise_within_event([0.1, 0.1, 0.9, 0.9], seen, (0.4, 0.7)) == pytest.approx(0.8 / 0.3)
    linear = [0.1 + (f - 0.125) for f in seen]                # the same slope everywhere
    assert rise_within_event(linear, seen, (0.4, 0.7)) == pytest.approx(0.0, abs=1e-9)
    assert rise_within_event([0.1, 0.5, 0.5, 0.9], seen, (0.4, 0.7)) < 0   # rises only outside
    # an event starting before the first point seen is clipped to it; duplicates are merged
    assert np.isfinite(rise_within_event([0.2, 0.2, 0.6, 0.9], [0.125, 0.125, 0.5, 1.0], (0.0, 0.5)))


def test_model_view_puts_the_masks_on_the_pixels_of_the_model_input():
    """A bright square at known pixels of 40 frames of 36x48: the union mask of the view
    covers exactly the bright pixels of the centre crop the model receives."""
    frames = np.full((40, 36, 48, 3), 20, np.uint8)
    masks = np.zeros((40, 1, 36, 48), np.float32)
    for t in range(40):
        x0 = 8 + t // 2                                        # the square moves right
        frames[t, 10:18, x0:x0 + 8] = 230
        masks[t, 0, 10:18, x0:x0 + 8] = 1.0
    data_cfg = DataConfig(input_size=36, resize=0, mean=[0.0] * 3, std=[1.0] * 3).resolved()
    model_cfg = get_preset("ean_tiny", input_size=36)
    view = model_view(frames, masks, data_cfg, model_cfg, sparse_index=model_cfg.segment_length // 2)
    assert view.x.shape == (1, 3, model_cfg.num_segments * model_cfg.segment_length, 36, 36)
    assert view.union.shape == (model_cfg.num_segments, 36, 36)
    bright = view.x[0, 0, model_cfg.segment_length // 2::model_cfg.segment_length] > 0.5   # (T, 36, 36)
    assert torch.equal(bright, view.union > 0.5)
    with pytest.raises(ValueError, match="masks"):
        model_view(frames, masks[:3], data_cfg, model_cfg, 0)


def test_showcase_video_is_the_most_confident_correct_one_of_the_top_class(tmp_path):
    """Figs. 7 and 9: the class SOI-Tr improves most, then its correctly classified video
    with the highest probability (not a fixed index, not a misclassified one)."""
    from types import SimpleNamespace

    import pandas as pd

    from ean.engine.evaluate import EvalResult, save_scores
    from ean.viz.figures import showcase_video

    labels = np.array([0, 1, 1, 1, 2])
    scores = np.zeros((5, 3), np.float32)
    scores[0, 0] = 9.0                    # class 0: right, very confident (not the top class)
    scores[1, 1] = 2.0                    # class 1: right, confident
    scores[2, 0] = 9.0                    # class 1: wrong, even more confident about class 0
    scores[3, 1] = 4.0                    # class 1: right, the most confident -> chosen
    scores[4, 2] = 1.0
    run = tmp_path / "runs" / "ean-s0"
    run.mkdir(parents=True)
    save_scores(run / "val_scores.npz", EvalResult(scores, labels, np.arange(10, 15), 0.0), ["a", "b", "c"])
    per_class = pd.DataFrame({"class": ["b", "a", "c"], "delta": [5.0, 1.0, -2.0]})
    index, name = showcase_video(SimpleNamespace(reports_dir=tmp_path), per_class, seed=0)
    assert (index, name) == (13, "b")
