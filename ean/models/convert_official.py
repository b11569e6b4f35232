"""Conversion of the authors' released checkpoints into our checkpoint format.

The authors' checkpoints
------------------------
The authors' training and test scripts (repository ``tianyuan168326/EAN-Pytorch``) save
``{"epoch", "arch", "state_dict", "best_prec1"}`` where ``state_dict`` is the state dict of
their ``TemporalModel`` wrapped in DataParallel/DDP: keys ``module.base_model.<backbone,
relation1-4 (EABs), sparse_transformer (SOI-Tr), stm_* / proj_back (LMC)>`` and
``module.new_fc.*`` (the classifier). :func:`convert_official` (command line:
``ean convert-official SRC DST [--preset NAME] [--num-classes K]``) renames and reshapes
those tensors into our layout and writes a checkpoint in our format
(:mod:`ean.models.checkpoint`):

* 8 vs 16 frames from the positional embedding ``(512, T*7*7)``, RGB vs RGB+LMC from the
  presence of the LMC encoder ``stm_proj1``, the class count from ``new_fc.weight``;
* renamed by the table :data:`RULES` (a regular expression on the authors' key, without
  its ``module.`` / ``base_model.`` prefixes, and our key as its replacement);
* dropped (:data:`DEAD`): the stem ``bn2``, the four EAB ``bn2`` and the 8-frame LMC's
  ``stm_proj2``. The authors' modules build these layers but their forward passes never
  call them, so they never receive a gradient and keep their initial values;
* reshaped where our layout differs (all pure views, no reordering): temporal-conv weights
  ``(C, 1, 3)`` -> ``(C, 3)``; EAB temporal kernels ``(c, c, 3, 1, 1)`` -> ``(c, c, 3)``;
  EAB spatial kernels ``(c, c, 1, 3, 3)`` -> ``(c, c, 3, 3)``; every 1x1x1 Conv3d that we
  run as a 2D 1x1 conv (EAB compress / expand / max-branch projection, ESP-Net reduce,
  SOI-Tr squeeze) ``(o, i, 1, 1, 1)`` -> ``(o, i, 1, 1)``; the LMC encoder and decoder
  1x1x1 convs -> ``nn.Linear`` weights ``(o, i)``.

Any key that is neither mapped nor dropped, and any of our keys left without a value, is an
error that names the keys.

Input layout and normalisation
------------------------------
The authors' model takes ``(B, T*L*3, H, W)``: the T*L frames (segment-major, L = 5 frames
per segment for the LMC models, L = 1 otherwise) concatenated along channels, RGB.
Ours takes ``(B, 3, T*L, H, W)``; ``ean.models.ean.authors_layout_to_clip(x, L)`` converts
one into the other, and a converted model then gives the authors' logits on the same
frames (checked to 1e-4 against their code by ``tools/check_official_equivalence.py``).
Normalisation is *not* part of either model, and the authors' released scripts disagree on
it: at their HEAD the training transform feeds [0, 1] RGB without mean/std normalisation
while ``test_models.py`` applies ImageNet mean/std, and their first commit normalised
inside the model with the swapped formula ``(x - std) / mean``. Which one produced a
released checkpoint is unknowable from the repository; feed a converted checkpoint what
its training used (our data pipeline defaults to ImageNet mean/std on [0, 1] RGB) and
check the accuracy on a validation split before trusting it.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

from torch import Tensor

from ean.models.checkpoint import (CheckpointFormatError, PathLike, key_listing, torch_load_weights_only,
                                   write_checkpoint)
from ean.models.ean import EAN
from ean.models.presets import get_preset

SOURCE = "tianyuan168326/EAN-Pytorch"

# Layers the authors' modules build but never call (so never trained): the stem's ``bn2``,
# each EAB's ``bn2`` and the 8-frame LMC's projection ``stm_proj2`` (a 1x1x1 conv and a BN).
DEAD = tuple(re.compile(p) for p in (r"^bn2\.", r"^relation\d\.bn2\.", r"^stm_proj2\."))

_L = r"(layer\d+\.\d+)"
# The authors' ESP-Net ``p_prod1``: 0 reduce conv, 1 BN, 2 ReLU, then 6 x (conv, BN, ReLU)
# at 3..20, which is our ``esp.body`` 0..17; one row per conv and BN (the ReLUs hold nothing).
_ESP_BODY = [(rf"^relation(\d)\.p_prod1\.{i}\.(.+)$", rf"eabs.\1.esp.body.{i - 3}.\2")
             for i in range(3, 21) if (i - 3) % 3 != 2]

# (pattern on the authors' key without "module." / "base_model.", our key); first match wins
RULES: list[tuple[re.Pattern, str]] = [(re.compile(p), r) for p, r in [
    # classifier (TSN wrapper; "base_model.fc" only exists with --dropout 0)
    (r"^new_fc\.(weight|bias)$", r"fc.\1"),
    (r"^fc\.(weight|bias)$", r"fc.\1"),
    # backbone
    (r"^(conv1|bn1)\.(.+)$", r"backbone.\1.\2"),
    (_L + r"\.t_conv\.conv\.weight$", r"backbone.\1.tconv.weight"),
    (_L + r"\.me\.conv1\.(.+)$", r"backbone.\1.me.reduce.\2"),
    (_L + r"\.me\.bn1\.(.+)$", r"backbone.\1.me.reduce_bn.\2"),
    (_L + r"\.me\.conv2\.(.+)$", r"backbone.\1.me.diff_conv.\2"),
    (_L + r"\.me\.conv3\.(.+)$", r"backbone.\1.me.expand.\2"),
    (_L + r"\.me\.bn3\.(.+)$", r"backbone.\1.me.expand_bn.\2"),
    (_L + r"\.((?:conv|bn)\d|downsample\.\d)\.(.+)$", r"backbone.\1.\2.\3"),
    # EABs (relation1-4 = after stages 1-4)
    (r"^relation(\d)\.compress_c1\.(.+)$", r"eabs.\1.compress.\2"),
    (r"^relation(\d)\.expand_c1\.(.+)$", r"eabs.\1.expand.\2"),
    (r"^relation(\d)\.t_part2_conv\.(.+)$", r"eabs.\1.stage1.convs.1.\2"),
    (r"^relation(\d)\.t_part3_conv\.(.+)$", r"eabs.\1.stage1.convs.2.\2"),
    (r"^relation(\d)\.s_part2_conv\.(.+)$", r"eabs.\1.stage2.convs.1.conv.\2"),
    (r"^relation(\d)\.s_part3_conv\.(.+)$", r"eabs.\1.stage2.convs.2.conv.\2"),
    (r"^relation(\d)\.non_linear\.0\.(.+)$", r"eabs.\1.inter_bn.\2"),
    (r"^relation(\d)\.max_project\.(.+)$", r"eabs.\1.pool_conv.\2"),
    (r"^relation(\d)\.p_prod1\.0\.(.+)$", r"eabs.\1.esp.reduce.\2"),
    (r"^relation(\d)\.p_prod1\.1\.(.+)$", r"eabs.\1.esp.reduce_bn.\2"),
    *_ESP_BODY,
    (r"^relation(\d)\.p_prod2\.0\.(.+)$", r"eabs.\1.esp.fc.\2"),
    # SOI-Tr
    (r"^sparse_transformer\.squeeze_l\.(.+)$", r"sois.5.squeeze.\1"),
    (r"^sparse_transformer\.expand_l\.(.+)$", r"sois.5.expand.\1"),
    (r"^sparse_transformer\.score_predictor\.(\d+)\.(.+)$", r"sois.5.saliency.net.\1.\2"),
    (r"^sparse_transformer\.pos_embedding$", r"sois.5.pos_embedding"),
    (r"^sparse_transformer\.Tr_BN\.(.+)$", r"sois.5.out_bn.\1"),
    (r"^sparse_transformer\.transformer\.layers\.(\d+)\.0\.fn\.norm\.(.+)$", r"sois.5.blocks.\1.norm1.\2"),
    (r"^sparse_transformer\.transformer\.layers\.(\d+)\.0\.fn\.fn\.to_qkv\.(.+)$", r"sois.5.blocks.\1.attn.qkv.\2"),
    (r"^sparse_transformer\.transformer\.layers\.(\d+)\.0\.fn\.fn\.to_out\.0\.(.+)$", r"sois.5.blocks.\1.attn.proj.\2"),
    (r"^sparse_transformer\.transformer\.layers\.(\d+)\.1\.fn\.norm\.(.+)$", r"sois.5.blocks.\1.norm2.\2"),
    (r"^sparse_transformer\.transformer\.layers\.(\d+)\.1\.fn\.fn\.net\.(\d+)\.(.+)$", r"sois.5.blocks.\1.ffn.net.\2.\3"),
    # LMC (stm_proj1 = encoder H_e, stm_st_model1/2 = H_m, proj_back = decoder H_d)
    (r"^stm_proj1\.(\d+)\.(.+)$", r"lmc.encoder.\1.\2"),
    (r"^stm_st_model1\.(\d+)\.(.+)$", r"lmc.block1.\1.\2"),
    (r"^stm_st_model2\.(\d+)\.(.+)$", r"lmc.block2.\1.\2"),
    (r"^proj_back\.(\d+)\.(.+)$", r"lmc.decoder.\1.\2"),
    (r"^stack_diff_motion\.(\d+)\.(.+)$", r"lmc.branch.net.\1.\2"),
]]


def strip_prefixes(key: str) -> str:
    """``module.base_model.x`` -> ``x`` (any number of ``module.`` wrappers)."""
    while key.startswith("module."):
        key = key[len("module."):]
    return key.removeprefix("base_model.")


def is_dead(key: str) -> bool:
    """Whether an authors' key (prefixes stripped) is one of the :data:`DEAD` layers."""
    return any(p.match(key) for p in DEAD)


def map_key(key: str) -> Optional[str]:
    """Our name for an authors' key (prefixes stripped) by the first matching rule of
    :data:`RULES`; None if no rule matches."""
    for pattern, replacement in RULES:
        match = pattern.match(key)
        if match:
            return match.expand(replacement)
    return None


def authors_state_dict(obj: Any) -> dict[str, Tensor]:
    """The tensor dict inside an authors' checkpoint (``{"state_dict": ...}`` or bare)."""
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, Tensor) for v in obj.values()):
        raise CheckpointFormatError("not an authors' checkpoint: expected a dict of tensors, or a dict with a "
                                    "'state_dict' entry holding one")
    return {strip_prefixes(str(k)): v for k, v in obj.items()}


def infer_preset(state: dict[str, Tensor]) -> tuple[str, int]:
    """(preset name, num_classes) of an authors' state dict (prefixes stripped)."""
    pos = state.get("sparse_transformer.pos_embedding")
    if pos is None or pos.dim() != 2 or pos.shape[1] % 49:
        raise CheckpointFormatError(
            "cannot infer the model from the checkpoint: no SOI-Tr positional embedding "
            "'sparse_transformer.pos_embedding' of shape (512, T*7*7); give --preset")
    frames = pos.shape[1] // 49
    if frames not in (8, 16) or "layer3.5.conv1.weight" not in state or "layer4.2.conv1.weight" not in state:
        raise CheckpointFormatError(
            f"cannot infer the model: {frames} frames / not a ResNet-50 backbone; the authors released "
            "8- and 16-frame ResNet-50 models only; give --preset")
    lmc = any(k.startswith("stm_proj1.") for k in state)
    return f"ean_r50_{frames}f_rgb{'_lmc' if lmc else ''}", infer_num_classes(state)


def infer_num_classes(state: dict[str, Tensor]) -> int:
    """The class count of an authors' state dict (prefixes stripped), from the classifier."""
    fc = state.get("new_fc.weight", state.get("fc.weight"))
    if fc is None or fc.dim() != 2:
        raise CheckpointFormatError("cannot infer the class count: no classifier 'new_fc.weight'; give --num-classes")
    return int(fc.shape[0])


def _squeezed(shape) -> tuple[int, ...]:
    return tuple(s for s in shape if s != 1)


def convert_state_dict(state: dict[str, Tensor], model: EAN) -> dict[str, Tensor]:
    """Map an authors' state dict (prefixes stripped) onto ``model``'s keys and shapes.

    Raises :class:`CheckpointFormatError` naming unmatched keys (authors' keys without a
    place in our model, our keys without a value, and shape mismatches).
    """
    own = model.state_dict()
    out: dict[str, Tensor] = {}
    unmatched, shapes, sources, misfit = [], [], {}, set()
    for key, value in state.items():
        if is_dead(key):
            continue
        ours = map_key(key)
        if ours is None or ours not in own:
            unmatched.append(key if ours is None else f"{key} (-> {ours})")
            continue
        if ours in out:
            unmatched.append(f"{key} (-> {ours}, already set from {sources[ours]})")
            continue
        target = own[ours]
        if value.shape != target.shape:
            # only pure views (dropping / adding size-1 dims) are allowed: no reordering
            if _squeezed(value.shape) != _squeezed(target.shape) or value.numel() != target.numel():
                shapes.append(f"{key} {tuple(value.shape)} -> {ours} {tuple(target.shape)}")
                misfit.add(ours)
                continue
            value = value.reshape(target.shape)
        out[ours] = value.to(target.dtype) if value.is_floating_point() else value
        sources[ours] = key
    missing = [k for k in own if k not in out and k not in misfit]
    if unmatched or missing or shapes:
        raise CheckpointFormatError(
            f"the authors' checkpoint does not fit {model.cfg.name}: "
            f"{key_listing('unmatched authors', unmatched)}{key_listing('missing (ours)', missing)}"
            f"{key_listing('shape-mismatched', shapes)}".rstrip("; "))
    return out


def _source_info(raw: Any, src: Path, preset: str, inferred: bool) -> dict[str, Any]:
    """The ``source`` entry of a converted checkpoint: where it came from and the
    authors' own bookkeeping (epoch, arch, best top-1) when the file has it."""
    source: dict[str, Any] = {"format": SOURCE, "path": str(src), "preset": preset, "inferred": inferred}
    if isinstance(raw, dict):
        for key in ("epoch", "arch", "best_prec1"):
            if key in raw:
                value = raw[key]
                source[key] = value.item() if isinstance(value, Tensor) and value.numel() == 1 else value
    return source


@contextmanager
def _naming(src: Path):
    """Prefix the message of a :class:`CheckpointFormatError` raised inside with ``src``."""
    try:
        yield
    except CheckpointFormatError as exc:
        raise CheckpointFormatError(f"{src}: {exc}") from None


def convert_official(src_path: PathLike, dst_path: PathLike, preset: Optional[str] = None,
                     num_classes: Optional[int] = None) -> dict[str, Any]:
    """Convert a checkpoint of the authors' training script into our format.

    ``preset``/``num_classes`` default to what the checkpoint's keys and shapes say (see
    module docstring). Writes ``{"model", "model_config", "source"}`` to ``dst_path`` and
    returns that dict.
    """
    src = Path(src_path)
    if not src.is_file():
        raise FileNotFoundError(f"authors' checkpoint not found: {src}")
    raw = torch_load_weights_only(src, f"{src} cannot be read safely")
    with _naming(src):
        state = authors_state_dict(raw)
    if preset is not None:
        get_preset(preset)   # an unknown name: ConfigError listing the presets
    with _naming(src):
        if preset is None:
            name, classes = infer_preset(state)
        else:
            name, classes = preset, (num_classes if num_classes is not None else infer_num_classes(state))
        cfg = get_preset(name, num_classes=int(num_classes if num_classes is not None else classes))
        model = EAN(cfg)
        weights = convert_state_dict(state, model)
    model.load_state_dict(weights)  # final check: strict
    result = {"model": model.state_dict(), "model_config": cfg.to_dict(),
              "source": _source_info(raw, src, name, preset is None)}
    write_checkpoint(result, dst_path, digest=False)
    return result
