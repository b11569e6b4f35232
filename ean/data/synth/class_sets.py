"""The class sets of the generator (``SynthProfile.classes``) and their label order.

* ``something`` — 18 Something-Something-style classes that differ only in how things move
  over time (:mod:`~ean.data.synth.something`);
* ``kinetics`` — 12 classes defined by appearance (:mod:`~ean.data.synth.kinetics`);
* ``diving`` — 12 classes of three ordered sub-motions (:mod:`~ean.data.synth.diving`);
* ``stills`` — 12 still-image classes, eight independent images per file
  (:mod:`~ean.data.synth.stills`).

Within a class set every class draws its objects' shapes, colours, sizes, speeds and event
timing from the same distributions, so only what the class set is about tells the classes
apart. Each class names its motion program (:mod:`~ean.data.synth.programs`).
"""
from __future__ import annotations

from dataclasses import dataclass

from .diving import DIVING
from .kinetics import KINETICS
from .something import SOMETHING
from .stills import STILLS


@dataclass(frozen=True)
class ClassSet:
    """The classes of one set: label -> (program name, what it tests)."""

    classes: dict[str, tuple[str, str]]
    images: bool = False
    """Each frame of a clip is an independent image: the program runs once per frame."""

    def program(self, label: str) -> str:
        """The name of the program that makes the clips of ``label``."""
        return self.classes[label][0]


CLASS_SETS: dict[str, ClassSet] = {
    "something": ClassSet(SOMETHING), "kinetics": ClassSet(KINETICS), "diving": ClassSet(DIVING),
    "stills": ClassSet(STILLS, images=True)}


def class_names(classes: str = "something") -> list[str]:
    """Label names of a class set, in index order (alphabetical, as Something)."""
    if classes not in CLASS_SETS:
        raise ValueError(f"unknown class set {classes!r}; choose from {', '.join(CLASS_SETS)}")
    return sorted(CLASS_SETS[classes].classes)


CLASS_NAMES: list[str] = class_names("something")
