"""``runtime.sync_bn``: converting a model's BatchNorms to SyncBatchNorm must not change
what it computes (SOI-Tr's token BNs and LMC's latent BNs reshape around their BN)."""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn as nn

from ean.models.soi_tr import TokenBatchNorm

from .conftest import clip, make, tiny
from .test_official import randomise

BN = nn.modules.batchnorm._BatchNorm


@pytest.mark.parametrize("segments", [8, 16])
@pytest.mark.parametrize("name", ["ean_tiny", "ean_tiny_lmc"])
def test_sync_batchnorm_conversion_keeps_the_function(name, segments):
    cfg = tiny(name, num_segments=segments)
    model = randomise(make(cfg))          # random weights and BN statistics, eval mode
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(model)).eval()
    bns = [m for m in model.modules() if isinstance(m, BN)]
    synced = [m for m in converted.modules() if isinstance(m, BN)]
    assert len(synced) == len(bns) and all(isinstance(m, nn.SyncBatchNorm) for m in synced)
    assert [m.num_features for m in synced] == [m.num_features for m in bns]
    assert list(converted.state_dict()) == list(model.state_dict())
    x = clip(cfg, batch=2, size=32 if name == "ean_tiny" else 64, seed=1)
    with torch.no_grad():   # SyncBatchNorm in eval mode needs no process group
        ref, out = model(x), converted(x)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-6 * float(ref.abs().max()))


def test_token_batchnorm_state_dict_keys_are_those_of_a_batchnorm():
    plain = nn.BatchNorm1d(6)
    with torch.no_grad():
        plain.weight.uniform_(0.5, 1.5)
        plain.running_mean.normal_()
        plain.num_batches_tracked.fill_(3)
    token = TokenBatchNorm(6)
    assert list(token.state_dict()) == list(plain.state_dict())
    token.load_state_dict(plain.state_dict())                          # our checkpoints' keys
    assert torch.equal(token.bn.running_mean, plain.running_mean) and int(token.bn.num_batches_tracked) == 3
    other = TokenBatchNorm(6)
    other.load_state_dict({f"bn.{k}": v for k, v in plain.state_dict().items()})  # nested keys too
    assert torch.equal(other.weight, plain.weight)
    x = torch.randn(2, 5, 6)
    plain.eval(), token.eval()
    assert torch.equal(token(x), plain(x.reshape(10, 6)).view(2, 5, 6))
