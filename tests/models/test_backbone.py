"""The frame encoder is torchvision's ResNet: its ImageNet state dicts load from a local file."""
import pytest
import torch
import torchvision

from ean.models.backbone import ResNetBackbone
from ean.models.config import BackboneConfig
from ean.models.ean import build_model
from ean.models.presets import get_preset


@pytest.fixture(scope="module")
def tv_resnet18(tmp_path_factory):
    torch.manual_seed(1)
    net = torchvision.models.resnet18(weights=None).eval()
    with torch.no_grad():  # non-trivial BN statistics, so that they matter
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    path = tmp_path_factory.mktemp("weights") / "resnet18.pth"
    torch.save(net.state_dict(), path)
    return net, path


def test_imagenet_weights_give_torchvision_features(tv_resnet18):
    net, path = tv_resnet18
    cfg = get_preset("tsn_r50", set={"backbone.depth": 18, "backbone.temporal": "none",
                                     "backbone.pretrained": str(path), "num_segments": 2})
    model = build_model(cfg).eval()
    frames = torch.randn(2 * 2, 3, 64, 64)
    with torch.no_grad():
        ref = torch.nn.Sequential(*list(net.children())[:-1])(frames).flatten(1)
        clip = frames.view(2, 2, 3, 64, 64).transpose(1, 2)
        _, aux = model(clip, return_aux=True)
    assert torch.allclose(aux["video_feature"], ref.view(2, 2, -1).mean(1), atol=1e-5)


def test_temporal_modules_stay_random_and_are_reported(tv_resnet18):
    _, path = tv_resnet18
    backbone = ResNetBackbone(BackboneConfig(depth=18, temporal="tconv_me"))
    missing = backbone.load_imagenet(str(path))
    assert missing and all((".me." in k or ".tconv." in k) for k in missing)


def test_pretrained_errors_are_clear(tv_resnet18, tmp_path):
    _, path = tv_resnet18
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        build_model(get_preset("tsn_tiny", set={"backbone.pretrained": str(tmp_path / "none.pth")}))
    with pytest.raises(ValueError, match="does not fit a ResNet-50"):
        ResNetBackbone(BackboneConfig(depth=50)).load_imagenet(str(path))
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot read"):
        ResNetBackbone(BackboneConfig(depth=18)).load_imagenet(str(garbage))


@pytest.mark.parametrize("depth,blocks", [(10, [1, 1, 1, 1]), (18, [2, 2, 2, 2]), (34, [3, 4, 6, 3]),
                                          (50, [3, 4, 6, 3]), (101, [3, 4, 23, 3])])
def test_depths_and_stage_geometry(depth, blocks):
    b = ResNetBackbone(BackboneConfig(depth=depth, width=16, stem_pool=False))
    assert [len(b.stage(s)) for s in range(2, 6)] == blocks
    expansion = 4 if depth >= 50 else 1
    assert b.stage_channels == {1: 16, 2: 16 * expansion, 3: 32 * expansion, 4: 64 * expansion, 5: 128 * expansion}
    assert b.stage_strides == {1: 2, 2: 2, 3: 4, 4: 8, 5: 16}
