"""Paired initialisation: variants built with one seed share the initial weights of every
part they have in common; another seed gives other weights."""
import pytest
import torch

from ean.models.ean import build_model
from ean.models.presets import get_preset

PAIRS = [
    ("baseline", {"eab.stages": []}, "eab", {}),                 # Table 5: + EABs (and + SOI-Tr)
    ("identity", {"eab.block": "incep"}, "dynamic", {}),          # Table 9
    ("static", {"eab.fusion": "static"}, "shuffle", {"eab.fusion": "shuffle"}),
    ("fixed", {"soi.regions": "fixed"}, "saliency", {}),          # Table 7
    ("no pool", {"eab.pool": "none"}, "max pool", {}),            # Table 10
    ("8 frames", {}, "lmc", {"segment_length": 5, "lmc.enabled": True}),
]


def shared(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return {k for k in sa.keys() & sb.keys() if sa[k].shape == sb[k].shape}


@pytest.mark.parametrize("name_a,set_a,name_b,set_b", PAIRS)
def test_variants_of_one_seed_share_their_common_weights(name_a, set_a, name_b, set_b):
    torch.manual_seed(123)   # the global generator must not matter
    a = build_model(get_preset("ean_tiny", set={"num_segments": 4, **set_a}), init_seed=7)
    torch.manual_seed(456)
    b = build_model(get_preset("ean_tiny", set={"num_segments": 4, **set_b}), init_seed=7)
    keys = shared(a, b)
    assert len(keys) > 50
    sa, sb = a.state_dict(), b.state_dict()
    differ = sorted(k for k in keys if not torch.equal(sa[k], sb[k]))
    assert not differ, f"{name_a} vs {name_b}: shared weights differ: {differ[:5]}"


def test_another_seed_gives_other_weights_and_no_seed_is_plain_pytorch():
    cfg = get_preset("ean_tiny", set={"num_segments": 4})
    a, b = build_model(cfg, init_seed=0), build_model(cfg, init_seed=1)
    w = "eabs.2.compress.weight"
    assert not torch.equal(a.state_dict()[w], b.state_dict()[w])
    torch.manual_seed(0)
    c = build_model(cfg)
    torch.manual_seed(0)
    d = build_model(cfg)
    assert torch.equal(c.state_dict()[w], d.state_dict()[w])
    state = torch.get_rng_state()
    build_model(cfg, init_seed=3)
    assert torch.equal(torch.get_rng_state(), state)      # the global generator is left as it was
