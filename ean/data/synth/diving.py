"""The ``diving`` class set: 12 classes of long clips made of three ordered sub-motions
(take-off, flight, entry); classes differ in one sub-motion."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .programs import register
from .scene import Scene

Flight = Callable[[float, np.ndarray, np.ndarray, float], tuple[np.ndarray, np.ndarray]]
"""(extent, angle per frame, flight progress per frame, take-off direction) -> the object's
extent and angle per frame."""


def _pike(s: float, angle: np.ndarray, s2: np.ndarray, sgn: float):
    """Shrink and grow back."""
    return s * (1 - 0.45 * np.sin(np.pi * s2)), angle


def _twist(s: float, angle: np.ndarray, s2: np.ndarray, sgn: float):
    """Two turns in the take-off's direction."""
    return np.full(len(s2), s), angle + sgn * 4 * np.pi * s2


def _straight(s: float, angle: np.ndarray, s2: np.ndarray, sgn: float):
    return np.full(len(s2), s), angle


TAKEOFFS = {"forward": 1.0, "backward": -1.0}            # direction of the take-off run
FLIGHTS: dict[str, Flight] = {"pike": _pike, "twist": _twist, "straight": _straight}
ENTRIES = {"vertical": 0.0, "slanted": 0.15}             # the entry's sideways travel, fraction of W


def dive(sc: Scene, takeoff: float, flight: Flight, slant: float) -> float:
    """Three ordered sub-motions of one object: take-off (rising forwards, ``takeoff`` = 1, or
    backwards, -1), ``flight`` and entry (a fall that drifts ``slant`` x the width sideways).
    The stage boundaries vary from clip to clip."""
    H, W = sc.H, sc.W
    s = sc.size(lo=sc.smin, hi=min(sc.smax, 0.35 * H))
    b1, b2 = sc.rng.uniform(0.25, 0.4), sc.rng.uniform(0.6, 0.75)
    u = np.clip(sc.tau / max(sc.frames - 1, 1), 0, 1)
    stage = lambda a, b: np.clip((u - a) / (b - a), 0, 1)  # noqa: E731
    s1, s2, s3 = stage(0.0, b1), stage(b1, b2), stage(b2, 1.0)
    sgn = takeoff
    run = sc.rng.uniform(0.12, 0.2) * W
    rise = sc.rng.uniform(0.3, 0.45) * H
    x0 = W / 2 - sgn * (run + slant * W) / 2 + sc.rng.uniform(-2, 2)
    y0 = H - s / 2 - 2 - sc.rng.uniform(0, 3)
    x = x0 + sgn * run * s1 + sgn * slant * W * s3
    y = y0 - rise * np.sin(np.pi / 2 * s1) + (rise + 0.1 * H) * s3 ** 2
    size, angle = flight(s, sc.rng.uniform(0, 2 * np.pi) + sgn * 0.8 * s1, s2, sgn)
    sc.add(sc.look(), x, np.clip(y, s / 2 + 1, H - s / 2 - 1), size, angle)
    sc.start, sc.duration = 0, sc.frames
    return float(run + rise)


def _classes() -> dict[str, tuple[str, str]]:
    """label -> (program name, what it tests), registering one program per combination."""
    out = {}
    for t, sgn in TAKEOFFS.items():
        for f, flight in FLIGHTS.items():
            for e, slant in ENTRIES.items():
                name = register(f"{t}_{f}_{e}", dive, takeoff=sgn, flight=flight, slant=slant)
                out[f"Dive: {t} take-off, {f} flight, {e} entry"] = (name, "three ordered sub-motions")
    return out


DIVING = _classes()
