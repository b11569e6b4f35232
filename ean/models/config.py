"""Typed configuration of an EAN-family model.

One :class:`ModelConfig` describes every model of the study: the plain TSN and TSM
baselines, the paper's "ResNet baseline" (temporal conv + ME), EAN with or without LMC,
and every ablation row of Tables 5-10, each as a field value — no code edits.

Stages are numbered as in the paper: stage 1 is the stem (conv1 + BN + ReLU [+ max-pool]),
stages 2-5 are ResNet ``layer1``-``layer4``. "EAB after stage s" means the block runs on the
output of stage s.

``semantics`` selects between the two readings of the method:

* ``"authors"`` — the computation of the authors' released code (default; the paper's
  numbers and the released checkpoint come from it).
* ``"paper"`` — the method as the paper's text describes it, read literally wherever the
  text decides: EAB order spatial -> M -> temporal with BN+ReLU after the spatial convs,
  scale-1 kernels that are convolutions (a 1x1 and a 1-tap conv, Eq. 2), ESP-Net on the
  block input X (C -> C/16, two 5x5x5 stride-2 convs, Eq. 3), zero-initialised last EAB
  conv; the Saliency-Net on X^5 itself (C -> C/8, 3x1x1, 5x5, Eq. 4) and tokens pooled
  from X^5 + E with E of X^5's shape (Eq. 5); LMC on 3x32x32 patches with a 128-d latent,
  channel order [m2; m3; m4; m5] (Eq. 11), added to the first frame of each segment.

Where the text is silent or ambiguous, the choices made for ``"paper"`` and their
alternatives are listed in ``docs/paper_readings.md`` (rendered by the paper-vs-code
notebook); the cheap alternatives are switches (``soi.pos_embedding``, ``soi.norm``,
``soi.ffn_ratio``, ``soi.merge``, ``lmc.hm_norm``, ``lmc.hm_groups``). A ``None`` switch
takes its semantics' value.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional, Tuple

from ean.config import Config, check, check_choice

SEMANTICS = ("authors", "paper")
DEPTHS = (10, 18, 34, 50, 101)
TEMPORAL = ("none", "tsm", "tconv_me", "tconv", "me")
EAB_BLOCKS = ("eab", "s_block", "l_block", "incep")
FUSIONS = ("dynamic", "static", "shuffle", "identity")
POOLS = ("max", "avg", "none")
SPATIAL = ("2d", "1+1")
REGIONS = ("saliency", "fixed", "all", "boxes")
POS_EMBEDDINGS = ("thw", "hw", "none")
NORM_POSITIONS = ("pre", "post")
MERGES = ("residual_bn", "sum")
LMC_VARIANTS = ("auto", "8f", "16f")


@dataclass
class BackboneConfig(Config):
    """The 2D ResNet frame encoder and its per-block temporal modules."""

    depth: int = 50
    """ResNet depth: 10/18/34 use basic blocks, 50/101 bottlenecks."""
    width: int = 64
    """Channels of the stem; stage widths are width x (1, 2, 4, 8) (x4 for bottlenecks)."""
    stem_pool: bool = True
    """Stem max-pool 3x3/2. Off for small inputs: keeps a larger final map."""
    temporal: str = "tconv_me"
    """Per-block temporal module: "none" (TSN), "tsm" (shift before conv1),
    "tconv_me" (ME then depth-wise temporal conv before every 3x3 conv: the paper's
    ResNet baseline), or only one of the two ("tconv", "me")."""
    me_reduction: int = 16
    shift_div: int = 8
    """Fraction 1/shift_div of the channels is shifted each way (TSM and the temporal
    conv's shift initialisation)."""
    pretrained: Optional[str] = None
    """Local path to a torchvision ImageNet ResNet state dict. Never downloaded."""


@dataclass
class EABConfig(Config):
    """Event Adaptive Blocks and the ablations of Tables 6, 8, 9 and 10."""

    stages: Tuple[int, ...] = (1, 2, 3, 4)
    """Paper stages after which an EAB is inserted (empty: no EAB)."""
    block: str = "eab"
    """"eab"; Table 8 baselines "s_block" ((2+1)D 3x3x3, 3 groups), "l_block" (same,
    dilation 2), "incep" (EAB with identity fusion)."""
    fusion: str = "dynamic"
    """Table 9: "dynamic" (M from ESP-Net), "static" (one learned matrix),
    "shuffle" (channel shuffle across the kernel groups), "identity"."""
    pool: str = "max"
    """Table 10: the pooling branch, "max", "avg" or "none"."""
    inter_relu: bool = True
    """Table 10: the ReLU between the first and the second convolution stage."""
    dilation: bool = True
    """Table 10: large kernels as 3-tap convolutions with dilation 2 (True) or plain 5-tap."""
    spatial: str = "2d"
    """Table 10: spatial kernels as 2D ("2d") or factorised 1xk + kx1 ("1+1", the (1+1+1)D row)."""
    groups: int = 3
    """G: number of kernel scales {1, 3, 5, ...}."""
    bottleneck: int = 4
    """Channel compression C -> C / bottleneck."""
    conv_groups: int = 4
    """Groups of the 1x1x1 compress / expand convolutions."""
    esp_reduction: int = 16
    """ESP-Net reduces the C' bottleneck channels by this factor."""


@dataclass
class SOIConfig(Config):
    """Sparse Object Interaction Transformer and the ablations of Tables 6 and 7."""

    stages: Tuple[int, ...] = (5,)
    """Paper stages followed by an SOI-Tr (empty: average pooling, the plain TSN head).
    The last one pools the video; earlier ones write their interaction features back
    into the feature map through the saliency maps."""
    regions: str = "saliency"
    """Table 7: "saliency" (Saliency-Net), "fixed" (N fixed regions), "all" (every
    position is a token), "boxes" (externally supplied per-frame boxes)."""
    num_objects: int = 4
    bottleneck: int = 4
    depth: int = 2
    heads: int = 8
    pos_embedding: Any = "thw"
    """Learnable positional embedding E of Eq. 5: "thw" (one vector per (t, h, w), the
    authors'), "hw" (per (h, w), shared by the frames), "none". (true/false read as
    "thw"/"none".)"""
    norm: Optional[str] = None
    """Transformer blocks: "pre" (x + f(BN(x)), the authors') or "post" (BN(x + f(x)), the
    vanilla Transformer's). None: the semantics' ("authors" pre, "paper" post)."""
    ffn_ratio: Optional[int] = None
    """FFN hidden width as a multiple of the token width. None: the semantics' ("authors"
    1, their 3-layer MLP; "paper" 4, the vanilla Transformer's)."""
    merge: str = "residual_bn"
    """How the interaction features join the pooled video feature: "residual_bn"
    (GAP(X) + BN(Linear(mean F')), BN initialised at zero) or "sum" (GAP(X) + Linear(mean F'))."""


@dataclass
class LMCConfig(Config):
    """Latent Motion Code on the dense clip (segment_length > 1)."""

    enabled: bool = False
    variant: str = "auto"
    """Authors' semantics only: "8f" (EAN_8f.py) or "16f" (EAN_16f.py: deeper encoder and
    decoder plus the extra 2D RGB-difference branch). "auto": "16f" when num_segments == 16."""
    latent: Optional[int] = None
    """Latent width; None = the semantics' value (authors 256, paper 128)."""
    patch: int = 32
    """Input pixels covered by one latent position (32 in both semantics: the stride of
    ResNet-50's last stage, 224 / 7). Must be a multiple of the stem stride and of 2."""
    hm_groups: Optional[int] = None
    """Groups of the H_m 3D convolutions. None: 16 ("group size 16" read as 16 groups; the
    other reading, 16 channels per group, is ``latent // 16``)."""
    hm_norm: Optional[bool] = None
    """``semantics: paper`` only: BN + ReLU after each H_m convolution (the text names two
    stacked convolutions and nothing else). None: True."""


@dataclass
class ModelConfig(Config):
    """Everything that defines a model; see the module docstring."""

    name: str = "custom"
    semantics: str = "authors"
    num_classes: int = 174
    num_segments: int = 8
    """T: segments (= frames of the sparse clip)."""
    segment_length: int = 1
    """L: consecutive frames per segment in the input (5 for LMC models)."""
    input_size: int = 224
    """Nominal input size; sets the size of the positional embedding (any size runs)."""
    dropout: float = 0.5
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    eab: EABConfig = field(default_factory=EABConfig)
    soi: SOIConfig = field(default_factory=SOIConfig)
    lmc: LMCConfig = field(default_factory=LMCConfig)

    @property
    def input_boxes(self) -> int:
        """Objects per frame whose boxes the model takes as input (``soi.regions = "boxes"``,
        Table 7's detector row); 0 when it takes none."""
        return self.soi.num_objects if self.soi.stages and self.soi.regions == "boxes" else 0

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        for key, allowed in (("semantics", SEMANTICS), ("backbone.depth", DEPTHS),
                             ("backbone.temporal", TEMPORAL), ("eab.block", EAB_BLOCKS),
                             ("eab.fusion", FUSIONS), ("eab.pool", POOLS), ("eab.spatial", SPATIAL),
                             ("soi.regions", REGIONS), ("lmc.variant", LMC_VARIANTS)):
            check_choice(self._get(key), allowed, key)
        if self.soi.pos_embedding is True or self.soi.pos_embedding is False:
            self.soi.pos_embedding = "thw" if self.soi.pos_embedding else "none"
        check_choice(self.soi.pos_embedding, POS_EMBEDDINGS, "soi.pos_embedding")
        if self.soi.norm is not None:
            check_choice(self.soi.norm, NORM_POSITIONS, "soi.norm")
        check_choice(self.soi.merge, MERGES, "soi.merge")
        check(self.soi.ffn_ratio is None or (isinstance(self.soi.ffn_ratio, int) and self.soi.ffn_ratio >= 1),
              "soi.ffn_ratio",
              f"must be a positive integer, got {self.soi.ffn_ratio!r}")
        check(self.lmc.hm_groups is None or (isinstance(self.lmc.hm_groups, int) and self.lmc.hm_groups >= 1),
              "lmc.hm_groups",
              f"must be a positive integer, got {self.lmc.hm_groups!r}")
        check(self.lmc.hm_norm is None or self.semantics == "paper", "lmc.hm_norm",
              "applies to semantics 'paper' only (the authors' H_m is fixed: two residual blocks "
              "with BatchNorm)")
        self.eab.stages = tuple(int(s) for s in self.eab.stages)
        self.soi.stages = tuple(sorted(int(s) for s in self.soi.stages))
        for key in ("eab.stages", "soi.stages"):
            check(all(1 <= s <= 5 for s in self._get(key)), key,
                  f"stages are numbered 1 (stem) to 5 (layer4), got {list(self._get(key))}")
        check(not self.soi.stages or self.soi.stages[-1] == 5, "soi.stages",
              "must end with stage 5 (the SOI-Tr that pools the video)")
        for key in ("num_segments", "segment_length", "num_classes"):
            check(self._get(key) >= 1, key, f"must be >= 1, got {self._get(key)}")
        check(not self.lmc.enabled or self.segment_length >= 2, "lmc.enabled",
              "needs segment_length >= 2 (5 in the paper)")
        for key in ("eab.groups", "eab.bottleneck"):
            check(self._get(key) >= 1, key, f"must be >= 1, got {self._get(key)}")
        check(0.0 <= self.dropout < 1.0, "dropout", f"must be in [0, 1), got {self.dropout}")

    def _get(self, dotted: str) -> Any:
        node = self
        for part in dotted.split("."):
            node = getattr(node, part)
        return node

    # ------------------------------------------------------------------ derived values
    @property
    def lmc_variant(self) -> str:
        if self.lmc.variant != "auto":
            return self.lmc.variant
        return "16f" if self.num_segments == 16 else "8f"

    @property
    def lmc_latent(self) -> int:
        if self.lmc.latent is not None:
            return self.lmc.latent
        return 256 if self.semantics == "authors" else 128

    @property
    def soi_norm(self) -> str:
        if self.soi.norm is not None:
            return self.soi.norm
        return "pre" if self.semantics == "authors" else "post"

    @property
    def soi_ffn_ratio(self) -> int:
        if self.soi.ffn_ratio is not None:
            return self.soi.ffn_ratio
        return 1 if self.semantics == "authors" else 4

    @property
    def lmc_hm_groups(self) -> int:
        """Groups of the H_m convolutions: ``lmc.hm_groups``, or 16 (at most the latent width's
        largest divisor <= 16)."""
        if self.lmc.hm_groups is None:
            return math.gcd(16, self.lmc_latent)
        check(self.lmc_latent % self.lmc.hm_groups == 0, "lmc.hm_groups",
              f"{self.lmc.hm_groups} does not divide the latent width {self.lmc_latent}")
        return self.lmc.hm_groups

    @property
    def lmc_hm_norm(self) -> bool:
        return True if self.lmc.hm_norm is None else bool(self.lmc.hm_norm)
