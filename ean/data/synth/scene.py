"""What a procedural clip is made of: objects' looks, their tracks over time, the clip spec,
and the scene a motion program builds them in.

A clip is fully described by a :class:`ClipSpec` (drawn by :func:`ean.data.synth.spec.make_spec`);
rendering a spec is deterministic (:mod:`ean.data.synth.rendering`). Every clip is a function
of continuous time: frame ``i`` shows time ``i / rate`` (in frames of the nominal clip), so
the same clip can be rendered at another frame rate (``rate``) or zoomed about the frame
centre (``zoom``, a camera zoom: objects, their motion and the background grow) — the
interventions of Fig. 10.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


SHAPES = ("circle", "square", "triangle", "cross")   # distinct under any rotation
COLOURS = {  # name -> RGB
    "red": (220, 50, 40), "green": (40, 180, 70), "blue": (40, 90, 230),
    "yellow": (235, 210, 40), "purple": (150, 60, 200), "white": (240, 240, 240),
}
BACKGROUNDS = ("plain", "stripes", "checker")


@dataclass
class Track:
    """One object over the clip: centre (x, y), extent ``size`` and orientation ``angle``
    (radians) per rendered frame, in pixels (world coordinates; the camera offset is
    subtracted at render time). Objects are two-tone, so their orientation is visible."""

    shape: str
    colour: str
    x: np.ndarray
    y: np.ndarray
    size: np.ndarray
    angle: np.ndarray
    role: str = "actor"   # "actor" or "distractor"


@dataclass
class ClipSpec:
    """Everything needed to render one clip deterministically."""

    label: int
    name: str
    program: str
    num_frames: int
    height: int
    width: int
    tracks: list[Track]
    camera_x: np.ndarray                      # (F,) horizontal camera offset, pixels
    background_seed: int
    noise_seed: int
    event: tuple[int, int]                    # first frame, duration (rendered frames)
    background: str = "plain"
    frame_backgrounds: list[str] | None = None
    """Still images: each frame its own background (pattern ``frame_backgrounds[t]``, seed
    ``background_seed + t``)."""
    zoom: float = 1.0
    rate: float = 1.0
    stats: dict = field(default_factory=dict)


@dataclass
class Scene:
    """What a motion program works with: the generator, the frame size, the clip's time axis
    and event, the profile's size and distance ranges, and helpers to draw sizes and place
    objects. Programs append tracks (and may pan the camera or set the background)."""

    rng: np.random.Generator
    H: int
    W: int
    frames: int                  # nominal frames of the clip
    start: int                   # the event's first nominal frame
    duration: int                # the event's nominal frames
    tau: np.ndarray              # nominal time of each rendered frame
    smin: float                  # object extent range, pixels
    smax: float
    dist: float                  # this clip's travel of a moving object, pixels
    grow: tuple[float, float]    # size ratio range of approaching / receding objects
    tracks: list[Track] = field(default_factory=list)
    background: str = "plain"
    linear: np.ndarray = field(init=False)   # 0 -> 1 at constant speed over the event
    p: np.ndarray = field(init=False)        # smooth 0 -> 1 over the event
    cam: np.ndarray = field(init=False)      # horizontal camera offset per rendered frame

    def __post_init__(self) -> None:
        u = np.clip((self.tau - self.start) / max(self.duration - 1, 1), 0.0, 1.0)
        self.linear = u
        self.p = u * u * (3.0 - 2.0 * u)
        self.cam = np.zeros(len(self.tau))

    @property
    def n(self) -> int:
        return len(self.tau)

    def const(self, v: float) -> np.ndarray:
        return np.full(self.n, float(v))

    def size(self, lo: float | None = None, hi: float | None = None) -> float:
        """An object extent, log-uniform over [lo, hi] (the profile's range by default)."""
        lo = self.smin if lo is None else lo
        hi = self.smax if hi is None else max(hi, lo * 1.01)
        return float(np.exp(self.rng.uniform(np.log(lo), np.log(hi))))

    def place(self, extent: float, span_x: float = 0.0, span_y: float = 0.0) -> tuple[float, float]:
        """A start point such that a box of ``extent`` moved by (span_x, span_y) stays in view."""
        m = extent / 2 + 1
        x_lo, x_hi = m - min(span_x, 0), self.W - m - max(span_x, 0)
        y_lo, y_hi = m - min(span_y, 0), self.H - m - max(span_y, 0)
        return (self.rng.uniform(x_lo, max(x_lo, x_hi)), self.rng.uniform(y_lo, max(y_lo, y_hi)))

    def colour(self) -> str:
        return list(COLOURS)[int(self.rng.integers(len(COLOURS)))]

    def look(self) -> tuple[str, str]:
        """A random shape and colour."""
        shape = SHAPES[int(self.rng.integers(len(SHAPES)))]
        return shape, self.colour()

    def add(self, look: tuple[str, str], x, y, size, angle=None, role: str = "actor") -> Track:
        as_track = lambda v: np.asarray(v, dtype=np.float64) if np.ndim(v) else self.const(v)  # noqa: E731
        if angle is None:
            angle = self.rng.uniform(0, 2 * np.pi)
        track = Track(look[0], look[1], as_track(x), as_track(y), as_track(size), as_track(angle), role)
        self.tracks.append(track)
        return track
