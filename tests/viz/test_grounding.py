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

    from ean.engine.scores import EvalResult
    from ean.engine.scores import save_scores
    from ean.viz.examples import showcase_video

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


class _EvenMaps(torch.nn.Module):
    """A stand-in model whose object maps and activations are spread evenly over the frame
    (each scores exactly the masks' share of the frame) and which predicts ``predict``."""

    def __init__(self, cfg, predict: int, objects: int = 3):
        super().__init__()
        self.cfg, self.predict, self.objects = cfg, predict, objects

    def sparse_frame_index(self, length: int) -> int:
        return length // 2

    def forward(self, x, return_aux=False):
        t = self.cfg.num_segments
        logits = torch.zeros(1, self.cfg.num_classes)
        logits[0, self.predict] = 1.0
        aux = {"features": {"stage4": torch.ones(1, 8, t, 3, 3)},
               "saliency": torch.full((1, self.objects, t, 3, 3), 1 / 9)}
        return logits, aux


def _generated(k: int = 2):
    from ean.data.synth import clip_spec, get_profile, jobs_for

    prof = get_profile("smoke")
    job = [j for j in jobs_for(prof) if j.split == "validation"][k]
    return clip_spec(job, prof, 0), prof


def test_overlap_of_even_maps_is_the_masks_share_and_the_figure_outlines_the_objects():
    from ean.viz.failures import fig11_failure
    from ean.viz.grounding import overlap
    from ean.viz.inspect import ClipView

    spec, prof = _generated()
    cfg = get_preset("ean_tiny", input_size=32, num_classes=18)
    data_cfg = DataConfig(input_size=32, resize=[36, 48], mean=[0.0] * 3, std=[1.0] * 3).resolved()
    o = overlap(_EvenMaps(cfg, predict=spec.label), data_cfg, spec, prof, "stage4")
    assert o.predicted == o.label == spec.label and 0 < o.chance < 0.5
    assert o.saliency.shape == (3,)
    np.testing.assert_allclose(o.saliency, o.chance, atol=0.02)    # bilinear upsampling of an even map
    assert o.activation == pytest.approx(o.chance, abs=0.02) and o.union.shape == (cfg.num_segments, 32, 32)

    t = cfg.num_segments
    view = ClipView(frames=torch.zeros(t, 3, 32, 32, dtype=torch.uint8), logits=torch.zeros(18), probs=torch.full((18,), 1 / 18),
                    class_names=[str(i) for i in range(18)], eab_stages=[4], saliency=torch.full((3, t, 4, 4), 1 / 16),
                    features={"stage4": torch.ones(8, t, 4, 4)})
    fig = fig11_failure(view, "true class", "stage4", overlap=o)
    outlined = [ax for ax in fig.axes if ax.collections]              # contour sets of the masks
    assert len(outlined) == (3 + 2) * int((o.union.flatten(1).max(1).values >= 0.5).sum())
    assert "% in objects" in fig.axes[t].get_ylabel()
    plain = fig11_failure(view, "true class", "stage4")
    assert not any(ax.collections for ax in plain.axes)


def test_overlap_by_outcome_splits_correct_and_wrong_clips():
    from ean.viz.grounding import overlap_by_outcome

    specs, prof = [], None
    for k in range(6):
        spec, prof = _generated(k)
        specs.append(spec)
    cfg = get_preset("ean_tiny", input_size=32, num_classes=18)
    data_cfg = DataConfig(input_size=32, resize=[36, 48], mean=[0.0] * 3, std=[1.0] * 3).resolved()
    model = _EvenMaps(cfg, predict=specs[0].label)                  # right on clip 0 only (labels differ)
    got = overlap_by_outcome(model, data_cfg, specs, prof, "stage4", progress=False)
    assert len(got["correct"]) == 1 and len(got["errors"]) == 5 and got["difference"] is None   # < 2 per side
    assert np.allclose(got["errors"], [c for c in got["chance"][1:]], atol=2.0)
