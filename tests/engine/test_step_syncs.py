"""A training step reads nothing back from the device but whether its gradient norm is
finite, and runs no collective of its own (on a GPU each read is a stall of the pipeline and
each collective a round trip between processes). Old code: the loss (``float``), the count
of correct predictions (``int``) and, under DDP, an all-reduce of a "bad loss" flag and its
``item`` — every step."""
from __future__ import annotations

import pytest
import torch

from ean.engine.distributed import DistInfo

from .test_amp import _step, _trainer

READS = ("__bool__", "__float__", "__int__", "item", "tolist")


@pytest.mark.parametrize("clip", [None, 20.0])
def test_a_step_reads_back_only_the_gradient_norms_finiteness(tmp_path, monkeypatch, clip):
    trainer, model = _trainer(tmp_path, scaler_enabled=False, clip_grad_norm=clip)
    trainer.info = DistInfo(rank=0, world_size=2)          # as under torchrun (the model unwrapped)
    collectives, reads = [], []
    monkeypatch.setattr(torch.distributed, "all_reduce", lambda *a, **k: collectives.append(a))
    for name in READS:
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _name=name, _original=original, **kwargs):
            reads.append(_name)
            return _original(self, *args, **kwargs)
        monkeypatch.setattr(torch.Tensor, name, counted)
    before = model.fc.weight.detach().clone()
    loss, correct, n = _step(trainer, model)
    monkeypatch.undo()
    assert n == 4 and not torch.equal(before, model.fc.weight)       # it did update
    assert torch.is_tensor(loss) and torch.is_tensor(correct)         # read later, when the loop logs
    assert collectives == [] and reads == ["__bool__"], (collectives, reads)


def test_a_non_finite_loss_still_stops_fp32_before_the_update(tmp_path):
    """The check moved from the loss to the (all-reduced) gradient norm, with or without clipping."""
    from ean.engine.divergence import TrainingDiverged

    for clip in (None, 20.0):
        trainer, model = _trainer(tmp_path / str(clip), scaler_enabled=False, clip_grad_norm=clip)
        before = model.fc.weight.detach().clone()
        model.poison = True
        with pytest.raises(TrainingDiverged, match="the loss became (nan|inf).*before the update"):
            _step(trainer, model)
        assert torch.equal(before, model.fc.weight)
