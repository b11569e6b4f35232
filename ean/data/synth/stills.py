"""The ``stills`` class set: 12 still-image classes (which shape, how many of them), eight
independent images per file: the stand-in for ImageNet pretraining, sharing nothing with
the other class sets."""
from __future__ import annotations

from .programs import register
from .scene import BACKGROUNDS, SHAPES, Scene


def still(sc: Scene, shape: str, count: int) -> float:
    """``count`` objects of ``shape`` (random colours, sizes, orientations) at rest, inside
    the central square of the frame (so that a square crop keeps them all). (The file holds
    eight independent images: :func:`ean.data.synth.spec.make_spec` runs this once per frame.)"""
    sc.background = BACKGROUNDS[int(sc.rng.integers(len(BACKGROUNDS)))]
    margin = (sc.W - sc.H) / 2
    for _ in range(count):
        s = sc.size(hi=min(sc.smax, 0.35 * sc.H))
        x, y = sc.place(s, -2 * margin, 0.0)        # x in [s/2 + 1, H - s/2 - 1] ...
        sc.add((shape, sc.colour()), x + margin, y, s)   # ... centred
    return 0.0


def _classes() -> dict[str, tuple[str, str]]:
    """label -> (program name, what it tests), registering one program per shape and count."""
    out = {}
    for shape in SHAPES:
        for k in (1, 2, 3):
            plural = ("es" if shape.endswith("s") else "s") if k > 1 else ""
            name = register(f"{shape}_{k}", still, shape=shape, count=k)
            out[f"{['One', 'Two', 'Three'][k - 1]} {shape}{plural}"] = (name, "appearance and count (single images)")
    return out


STILLS = _classes()
