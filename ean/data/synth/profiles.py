"""Size and difficulty profiles of the synthetic dataset (the one place they are defined).

Lengths are fractions of the frame height (object sizes) or width (distances), so that a
profile's resolution can change without changing the task.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class SynthProfile:
    """Parameters of one generated dataset.

    Attributes:
        train_per_class, val_per_class: clips per class in each split (exactly balanced).
        height, width: frame size in pixels (even, for H.264 yuv420p).
        frames: (min, max) frames per clip, inclusive.
        fps: frame rate written into the files.
        size: (min, max) object extent as a fraction of the height (max/min = 8).
        distance: (min, max) travel of a moving object as a fraction of the width.
        duration: (min, max) event duration as a fraction of the clip (max/min = 4).
        grow: (min, max) size ratio of approach/recede classes.
        distractors: (min, max) number of irrelevant moving objects per clip.
        distractor_speed: largest distractor speed, fraction of the width per frame.
        noise_std: per-pixel Gaussian noise (0-255 scale) added to every frame.
        background_contrast: amplitude (0-255) of the smooth background texture.
        crf: x264 constant rate factor (quality).
    """

    name: str
    train_per_class: int
    val_per_class: int
    height: int
    width: int
    frames: tuple[int, int]
    fps: int = 12
    size: tuple[float, float] = (0.0625, 0.5)
    distance: tuple[float, float] = (0.3, 0.6)
    duration: tuple[float, float] = (0.25, 1.0)
    grow: tuple[float, float] = (2.0, 3.0)
    distractors: tuple[int, int] = (0, 2)
    distractor_speed: float = 0.012
    noise_std: float = 3.0
    background_contrast: float = 40.0
    crf: int = 20

    def __post_init__(self) -> None:
        if self.height % 2 or self.width % 2:
            raise ValueError(f"profile {self.name}: H.264 needs even frame sizes, got "
                             f"{self.height}x{self.width}")
        if not 2 <= self.frames[0] <= self.frames[1]:
            raise ValueError(f"profile {self.name}: bad frame range {self.frames}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def replace(self, **changes) -> "SynthProfile":
        return dataclasses.replace(self, **changes)


# The embedded study's rendering: large objects (3x size range), no distractors, little
# noise, so that tiny networks learn it in minutes; the event duration still varies 4x.
_STUDY = dict(height=48, width=64, frames=(20, 28), size=(0.2, 0.6), distance=(0.4, 0.7),
              distractors=(0, 0), noise_std=1.0, background_contrast=15.0)

PROFILES: dict[str, SynthProfile] = {
    # a few clips per class, tiny frames: for tests (seconds)
    "smoke": SynthProfile("smoke", train_per_class=3, val_per_class=1, height=48, width=64,
                          frames=(16, 24), size=(0.09, 0.6), distractors=(0, 1)),
    # the embedded CPU study (dvc repro): 432 training / 180 validation clips, ~5 s on 2 cores
    "default": SynthProfile("default", train_per_class=24, val_per_class=10, **_STUDY),
    # the study's stand-in for ImageNet: a disjoint set (generated with another seed) on which
    # one network is trained once; every variant starts from its 2D weights
    "pretrain": SynthProfile("pretrain", train_per_class=60, val_per_class=5, **_STUDY),
    # the `study` profile of the pipeline (a bigger machine): more clips, same rendering
    "study": SynthProfile("study", train_per_class=100, val_per_class=30, **_STUDY),
    # harder and larger: distractors, noise, 8x object-size range, 96x128 frames
    "hard": SynthProfile("hard", train_per_class=110, val_per_class=20, height=96,
                         width=128, frames=(28, 40)),
    # GPU-sized
    "large": SynthProfile("large", train_per_class=600, val_per_class=100, height=144,
                          width=192, frames=(32, 48)),
}


def get_profile(name: str) -> SynthProfile:
    if name not in PROFILES:
        raise ValueError(f"unknown synthetic profile {name!r}; choose from {', '.join(PROFILES)}")
    return PROFILES[name]
