"""The ``kinetics`` class set: 12 classes defined by appearance (the scene's pattern and the
objects' shape); what moves and in which order is irrelevant."""
from __future__ import annotations

import numpy as np

from .programs import register
from .scene import BACKGROUNDS, SHAPES, Scene


def appearance(sc: Scene, background: str, shape: str) -> float:
    """2-3 objects of one shape over a patterned scene, each doing something irrelevant
    (drifting, spinning or resting), in any order."""
    sc.background = background
    travel = 0.0
    for _ in range(int(sc.rng.integers(2, 4))):
        s = sc.size(hi=min(sc.smax, 0.4 * sc.W))
        look = (shape, sc.colour())
        v = sc.rng.uniform(-1, 1, size=2) * sc.dist * 0.5
        x0, y0 = sc.place(s, v[0], v[1])
        q = sc.rng.uniform(0, 1, size=2)
        when = np.clip((sc.tau / max(sc.frames - 1, 1) - q.min()) / max(q.max() - q.min(), 0.2), 0, 1)
        sc.add(look, x0 + v[0] * when, y0 + v[1] * when, s,
               sc.rng.uniform(0, 2 * np.pi) + sc.rng.uniform(-3, 3) * when)
        travel += float(np.hypot(*v))
    return travel


def _classes() -> dict[str, tuple[str, str]]:
    """label -> (program name, what it tests), registering the programs: one per scene
    pattern and shape."""
    out = {}
    for bg in BACKGROUNDS:
        for shape in SHAPES:
            name = register(f"{bg}_{shape}", appearance, background=bg, shape=shape)
            out[f"{shape.capitalize()}s in a {bg} scene"] = (name, "appearance (scene and object), order irrelevant")
    return out


KINETICS = _classes()
