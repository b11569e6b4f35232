import math

import pytest
import torch
from torch import nn

from ean.engine.config import OptimConfig
from ean.engine.optim import LRSchedule, build_optimizer, parameter_groups


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.bn1d = nn.BatchNorm1d(4)
        self.pos = nn.Parameter(torch.zeros(1, 4))
        self.fc = nn.Linear(4, 2)
        self.frozen = nn.Linear(2, 2)
        self.frozen.requires_grad_(False)


def _names(model, group):
    ids = {id(p) for p in group["params"]}
    return sorted(n for n, p in model.named_parameters() if id(p) in ids)


def test_groups_by_module_type():
    model = Small()
    groups = {g["name"]: g for g in parameter_groups(model, OptimConfig(weight_decay=5e-4))}
    assert _names(model, groups["weights"]) == ["conv.weight", "fc.weight", "pos"]
    assert _names(model, groups["biases"]) == ["conv.bias", "fc.bias"]
    assert _names(model, groups["norm"]) == ["bn.bias", "bn.weight", "bn1d.bias", "bn1d.weight"]
    assert groups["weights"]["weight_decay"] == 5e-4 and groups["weights"]["lr_mult"] == 1
    assert groups["biases"]["weight_decay"] == 0 and groups["biases"]["lr_mult"] == 2
    assert groups["norm"]["weight_decay"] == 0 and groups["norm"]["lr_mult"] == 1


def test_optimizer_lr_scaling_and_group_lrs():
    cfg = OptimConfig(batch_size=16, base_lr=0.01, base_batch=64)
    assert cfg.lr == pytest.approx(0.0025)
    opt = build_optimizer(Small(), cfg)
    lrs = {g["name"]: g["lr"] for g in opt.param_groups}
    assert lrs == pytest.approx({"weights": 0.0025, "biases": 0.005, "norm": 0.0025})
    assert opt.defaults["momentum"] == 0.9
    assert OptimConfig(batch_size=16, scale_lr=False).lr == 0.01


def test_decay_is_applied_only_to_weights():
    model = Small()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(1.0)
    opt = build_optimizer(model, OptimConfig(base_lr=0.1, weight_decay=0.5, momentum=0.0))
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    assert torch.allclose(model.conv.weight, torch.full_like(model.conv.weight, 0.95))
    assert torch.allclose(model.conv.bias, torch.ones_like(model.conv.bias))
    assert torch.allclose(model.bn.weight, torch.ones_like(model.bn.weight))


def test_groups_on_a_real_preset():
    from ean.models.ean import build_model
    from ean.models.presets import get_preset

    model = build_model(get_preset("ean_tiny", num_classes=5))
    groups = {g["name"]: g for g in parameter_groups(model, OptimConfig())}
    all_ids = [id(p) for g in groups.values() for p in g["params"]]
    assert len(all_ids) == len(set(all_ids)) == sum(1 for p in model.parameters() if p.requires_grad)
    norm_ids = {id(p) for g in [groups["norm"]] for p in g["params"]}
    bias_ids = {id(p) for p in groups["biases"]["params"]}
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.affine:
            assert id(module.weight) in norm_ids and id(module.bias) in norm_ids
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)):
            assert id(module.weight) in {id(p) for p in groups["weights"]["params"]}
            if module.bias is not None:
                assert id(module.bias) in bias_ids
    assert groups["norm"]["params"] and groups["biases"]["params"]


def test_step_schedule_matches_the_authors():
    cfg = OptimConfig(epochs=70, milestones=[41, 51, 61])
    s = LRSchedule(cfg, steps_per_epoch=10)
    factor = lambda epoch: s.factor(epoch * 10 + 3)
    assert factor(0) == 1 and factor(40) == 1
    assert factor(41) == pytest.approx(0.1) and factor(50) == pytest.approx(0.1)
    assert factor(51) == pytest.approx(0.01) and factor(61) == pytest.approx(0.001) and factor(69) == pytest.approx(0.001)


def test_warmup_and_cosine():
    cfg = OptimConfig(epochs=10, schedule="cosine", warmup_epochs=2, warmup_start_factor=0.1, min_lr_factor=0.0)
    s = LRSchedule(cfg, steps_per_epoch=5)
    assert s.factor(0) == pytest.approx(0.1)
    assert s.factor(5) == pytest.approx(0.1 + 0.9 * 0.5)
    assert s.factor(10) == pytest.approx(1.0)
    assert s.factor(30) == pytest.approx(0.5 * (1 + math.cos(math.pi * 20 / 40)))
    assert s.factor(50) == pytest.approx(0.0, abs=1e-12)
    opt = build_optimizer(Small(), OptimConfig(base_lr=0.1, base_batch=64, batch_size=64))
    s2 = LRSchedule(OptimConfig(base_lr=0.1, epochs=2, milestones=[1]), steps_per_epoch=4)
    s2.step(opt, 5)
    assert {g["name"]: g["lr"] for g in opt.param_groups} == pytest.approx(
        {"weights": 0.01, "biases": 0.02, "norm": 0.01})
    state = s2.state_dict()
    with pytest.raises(ValueError, match="steps per epoch"):
        LRSchedule(OptimConfig(), steps_per_epoch=3).load_state_dict(state)
