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
        classes: the class set (``ean.data.synth.class_sets.CLASS_SETS``): ``something``,
            ``kinetics``, ``diving`` or ``stills``.
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
    classes: str
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
        from .class_sets import CLASS_SETS
        if self.classes not in CLASS_SETS:
            raise ValueError(f"profile {self.name}: unknown class set {self.classes!r}; "
                             f"choose from {', '.join(CLASS_SETS)}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def replace(self, **changes) -> "SynthProfile":
        return dataclasses.replace(self, **changes)


# The embedded study's rendering: large objects (3x size range), no distractors, little
# noise, so that tiny networks learn it in minutes. Clips are as long as Something V1's at
# 12 fps (36-72 frames: T = 16 segments of L = 5 frames still have 2-4 random starts each);
# the event starts at a random time and lasts 20-80 % of the clip.
_STUDY = dict(height=36, width=48, frames=(36, 72), size=(0.2, 0.6), distance=(0.4, 0.7),
              duration=(0.2, 0.8), distractors=(0, 0), noise_std=1.0, background_contrast=15.0)
_STILLS = dict(height=36, width=48, frames=(8, 8), size=(0.2, 0.5), distractors=(0, 0),
               noise_std=1.0, background_contrast=15.0)
_DIVING = dict(_STUDY, frames=(64, 96), size=(0.2, 0.4))

PROFILES: dict[str, SynthProfile] = {
    # a few clips per class, tiny frames: for tests (seconds)
    "smoke": SynthProfile("smoke", "something", train_per_class=3, val_per_class=1, height=36, width=48,
                          frames=(36, 44), size=(0.15, 0.6), distractors=(0, 1)),
    # the embedded CPU study (dvc repro): 720 training / 900 validation clips
    "default": SynthProfile("default", "something", train_per_class=40, val_per_class=50, **_STUDY),
    # the `study` profile of the pipeline (a bigger machine): more clips, same rendering
    "study": SynthProfile("study", "something", train_per_class=150, val_per_class=100, **_STUDY),
    # the stand-in for ImageNet: still images (which shape, how many), 8 per file, nothing
    # in common with the action classes; one network is trained on them once and every
    # variant starts from its 2D weights
    "pretrain": SynthProfile("pretrain", "stills", train_per_class=100, val_per_class=10, **_STILLS),
    "pretrain_smoke": SynthProfile("pretrain_smoke", "stills", train_per_class=4, val_per_class=1, **_STILLS),
    # the stand-ins for Kinetics-400 (appearance) and Diving48 (three ordered sub-motions)
    "kinetics": SynthProfile("kinetics", "kinetics", train_per_class=40, val_per_class=25, **_STUDY),
    "kinetics_smoke": SynthProfile("kinetics_smoke", "kinetics", train_per_class=3, val_per_class=1, **_STUDY),
    "kinetics_study": SynthProfile("kinetics_study", "kinetics", train_per_class=150, val_per_class=80, **_STUDY),
    "diving": SynthProfile("diving", "diving", train_per_class=40, val_per_class=25, **_DIVING),
    "diving_smoke": SynthProfile("diving_smoke", "diving", train_per_class=3, val_per_class=1, **_DIVING),
    "diving_study": SynthProfile("diving_study", "diving", train_per_class=150, val_per_class=80, **_DIVING),
    # harder and larger: distractors, noise, 8x object-size range, 96x128 frames
    "hard": SynthProfile("hard", "something", train_per_class=110, val_per_class=20, height=96,
                         width=128, frames=(36, 72)),
    # GPU-sized
    "large": SynthProfile("large", "something", train_per_class=600, val_per_class=100, height=144,
                          width=192, frames=(36, 72)),
}


def get_profile(name: str) -> SynthProfile:
    if name not in PROFILES:
        raise ValueError(f"unknown synthetic profile {name!r}; choose from {', '.join(PROFILES)}")
    return PROFILES[name]
