"""Procedural scenes: the class sets, their motion programs and the renderer.

A clip is fully described by a :class:`ClipSpec` drawn from a generator seeded with
``(seed, split, clip index)``; rendering a spec is deterministic. Within a class set every
class draws its objects' shapes, colours, sizes, speeds and event timing from the same
distributions, so only what the class set is about tells the classes apart.

Class sets (``SynthProfile.classes``):

* ``something`` — 18 Something-Something-style classes that differ only in how things move
  over time (direction, time order, interaction, and the direction of a fast spin that only
  consecutive frames resolve);
* ``kinetics`` — 12 classes defined by appearance (the scene's pattern and the objects'
  shape); what moves and in which order is irrelevant;
* ``diving`` — 12 classes of long clips made of three ordered sub-motions (take-off, flight,
  entry); classes differ in one sub-motion;
* ``stills`` — 12 still-image classes (which shape, how many of them), eight independent
  images per file: the stand-in for ImageNet pretraining, sharing nothing with the others.

Every clip is a function of continuous time: frame ``i`` shows time ``i / rate`` (in frames
of the nominal clip), so the same clip can be rendered at another frame rate (``rate``)
or zoomed about the frame centre (``zoom``, a camera zoom: objects, their motion and the
background grow) — the interventions of Fig. 10.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Callable

import numpy as np

if TYPE_CHECKING:   # annotations only: profiles.py checks its class sets against this module
    from .profiles import SynthProfile

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


class Scene:
    """What a motion program works with: the generator, the profile, the clip's time axis
    and event, and helpers to draw sizes and place objects. Programs append tracks."""

    def __init__(self, rng: np.random.Generator, prof: SynthProfile, frames: int, start: int,
                 duration: int, rate: float):
        self.rng, self.prof = rng, prof
        self.H, self.W = prof.height, prof.width
        self.frames, self.start, self.duration = frames, start, duration
        self.tau = np.arange(int(round(frames * rate))) / rate      # nominal time of each frame
        u = np.clip((self.tau - start) / max(duration - 1, 1), 0.0, 1.0)
        self.linear = u                                               # 0 -> 1 at constant speed
        self.p = u * u * (3.0 - 2.0 * u)                              # smooth 0 -> 1 over the event
        self.tracks: list[Track] = []
        self.cam = np.zeros(len(self.tau))
        self.smin, self.smax = prof.size[0] * self.H, prof.size[1] * self.H
        self.dist = rng.uniform(*prof.distance) * self.W
        self.background = "plain"

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

    def look(self, shapes=SHAPES) -> tuple[str, str]:
        return (shapes[int(self.rng.integers(len(shapes)))],
                list(COLOURS)[int(self.rng.integers(len(COLOURS)))])

    def add(self, look: tuple[str, str], x, y, size, angle=None, role: str = "actor") -> Track:
        as_track = lambda v: np.asarray(v, dtype=np.float64) if np.ndim(v) else self.const(v)  # noqa: E731
        if angle is None:
            angle = self.rng.uniform(0, 2 * np.pi)
        track = Track(look[0], look[1], as_track(x), as_track(y), as_track(size), as_track(angle), role)
        self.tracks.append(track)
        return track


Program = Callable[[Scene], float]   # appends the tracks, returns the distance travelled (px)


# ------------------------------------------------------------------ Something-style programs
def translate(sc: Scene, direction: tuple[int, int]) -> float:
    s = sc.size(hi=min(sc.smax, 0.45 * sc.W))
    d = sc.dist if direction[0] else sc.dist * sc.H / sc.W
    d = min(d, (sc.W if direction[0] else sc.H) - s - 2)
    dx, dy = direction[0] * d, direction[1] * d
    x0, y0 = sc.place(s, dx, dy)
    sc.add(sc.look(), x0 + dx * sc.p, y0 + dy * sc.p, s)
    return d


def scale_change(sc: Scene, approach: bool) -> float:
    g = sc.rng.uniform(*sc.prof.grow)
    s_small = sc.size(hi=max(sc.smin * 1.01, min(sc.smax, 0.9 * sc.H) / g))
    s_big = s_small * g
    drift = sc.rng.uniform(-0.05, 0.05, size=2) * sc.W
    x0, y0 = sc.place(s_big, drift[0], drift[1])
    sizes = s_small * g ** sc.p if approach else s_big / g ** sc.p
    sc.add(sc.look(), x0 + drift[0] * sc.p, y0 + drift[1] * sc.p, sizes)
    return s_big - s_small


def camera_turn(sc: Scene, left: bool) -> float:
    s = sc.size(hi=min(sc.smax, 0.45 * sc.W))
    d = min(sc.dist, sc.W - s - 2)
    # turning the camera left moves the scene content to the right on screen
    sc.cam = -d * sc.p if left else d * sc.p
    x0, y0 = sc.place(s, -sc.cam[-1], 0.0)
    sc.add(sc.look(), x0, y0, s)
    return d


def spin(sc: Scene, clockwise: bool) -> float:
    """A fast spin at a constant angular speed (45-65 degrees per frame) during the event:
    consecutive frames show its direction; frames several apart alias it."""
    s = sc.size(hi=min(sc.smax, 0.45 * sc.W))
    omega = np.deg2rad(sc.rng.uniform(45, 65)) * (1 if clockwise else -1)   # image y points down
    x0, y0 = sc.place(s)
    theta0 = sc.rng.uniform(0, 2 * np.pi)
    sc.add(sc.look(), x0, y0, s, theta0 + omega * (sc.duration - 1) * sc.linear)
    return float(abs(omega) * (sc.duration - 1) * s / 2)       # path of the object's rim


def pair_motion(sc: Scene, kind: str) -> float:
    """closer / apart / collide / pass: two objects move along one axis."""
    H, W = sc.H, sc.W
    smax_fit = min(sc.smax, 0.3 * W)
    sa, sb = sc.size(hi=smax_fit), sc.size(hi=smax_fit)
    look_a, look_b = sc.look(), sc.look()
    ang = sc.rng.uniform(0, 2 * np.pi)
    u = np.array([np.cos(ang), np.sin(ang)])
    gap_k = sc.rng.uniform(0.2, 0.6) if kind == "pass" else sc.rng.uniform(1.6, 2.2)
    for _ in range(20):
        contact = (sa + sb) / 2
        near = {"collide": contact, "pass": -(contact + gap_k * contact)}.get(kind, contact * gap_k)
        room = min((W - 4 - contact) / max(abs(u[0]), 1e-6), (H - 4 - contact) / max(abs(u[1]), 1e-6))
        if room >= abs(near) + 0.5 * contact + 2:
            break
        sa, sb = sa * 0.85, sb * 0.85             # too large for this direction
    far = min(max(near, contact) + max(sc.dist, contact), room)
    share = sc.rng.uniform(0.3, 0.7)              # how much of the motion each object makes
    if kind == "pass":  # they swap sides: each travels 2 * far * its share
        far = min(max(far, -near), room / (2 * max(share, 1 - share)))
        near = -far
    cx, cy = W / 2 + sc.rng.uniform(-0.1, 0.1) * W, H / 2 + sc.rng.uniform(-0.1, 0.1) * H
    lat = sc.rng.uniform(0.3, 0.6) * contact if kind == "pass" else 0.0
    for _ in range(30):
        sep = near + (far - near) * sc.p if kind == "apart" else far + (near - far) * sc.p
        lateral = np.array([-u[1], u[0]]) * lat
        ax, ay = cx - u[0] * sep * share + lateral[0], cy - u[1] * sep * share + lateral[1]
        bx, by = cx + u[0] * sep * (1 - share) - lateral[0], cy + u[1] * sep * (1 - share) - lateral[1]
        if _span_fits(ax, ay, bx, by, sa, sb, W, H):
            break
        far, lat = far * 0.9, lat * 0.9           # the union of both paths is larger than the frame
        if kind == "pass":
            near = -far
        else:
            far = max(far, near + 2)
    ax, ay, bx, by = _fit_pair(ax, ay, bx, by, sa, sb, W, H)
    sc.add(look_b, bx, by, sb)
    sc.add(look_a, ax, ay, sa)
    return float(abs(far - near))


def push(sc: Scene, rightwards: bool) -> float:
    """A closes the gap to B in the first half of the event; both move on in the second."""
    W, H = sc.W, sc.H
    smax_fit = min(sc.smax, 0.3 * W)
    sa, sb = sc.size(hi=smax_fit), sc.size(hi=smax_fit)
    look_a, look_b = sc.look(), sc.look()
    contact = (sa + sb) / 2
    gap, shove = max(sc.dist * 0.5, 2.0), max(sc.dist * 0.5, 2.0)
    total = gap + contact + shove + sa / 2 + sb / 2 + 2
    if total > W:
        k = (W - contact - sa / 2 - sb / 2 - 2) / (gap + shove)
        gap, shove = gap * k, shove * k
    p1, p2 = np.clip(2 * sc.p, 0, 1), np.clip(2 * sc.p - 1, 0, 1)
    left = sa / 2 + 1 + sc.rng.uniform(0, max(W - total, 0))
    y = sc.rng.uniform(max(sa, sb) / 2 + 1, H - max(sa, sb) / 2 - 1)
    sgn = 1.0 if rightwards else -1.0
    a0 = left if rightwards else W - left
    ax = a0 + sgn * (gap * p1 + shove * p2)
    bx = a0 + sgn * (gap + contact + shove * p2)
    sc.add(look_b, bx, y, sb)
    sc.add(look_a, ax, y, sa)
    return float(gap + shove)


def relative(sc: Scene, kind: str) -> float:
    """cover / uncover / put_onto / pretend_put_onto: B rests, A moves relative to it."""
    W, H = sc.W, sc.H
    smax_fit = min(sc.smax, 0.3 * W)
    sa, sb = sc.size(hi=smax_fit), sc.size(hi=smax_fit)
    look_a, look_b = sc.look(), sc.look()
    if kind in ("cover", "uncover"):
        sb = min(sb, smax_fit / 1.4)
        sa = max(sa, sb * 1.4)
    onto = kind in ("put_onto", "pretend_put_onto")
    if onto and sa + 1.5 * sb + 4 > H:  # A on top of B must fit in the frame height
        k = (H - 4) / (sa + 1.5 * sb)
        sa, sb = sa * k, sb * k
    y_lo = 1 + sa + sb / 2 if onto else max(sa, sb) / 2 + 1
    y_hi = H - sb / 2 - 1 if onto else H - max(sa, sb) / 2 - 1
    m = max(sa, sb) / 2 + 1
    bx, by = sc.rng.uniform(m, W - m), sc.rng.uniform(y_lo, max(y_lo, y_hi))
    tx, ty = (bx, by - (sa + sb) / 2) if onto else (bx, by)
    angles = (np.pi * 1.15, np.pi * 1.85) if onto else (0.0, 2 * np.pi)   # onto: arriving from above
    d0 = max(sc.dist, sa)
    for attempt in range(40):  # a start point at distance ~d from the target, A inside the frame
        d = d0 * max(0.5, 0.95 ** attempt)
        ang = sc.rng.uniform(*angles)
        sx, sy = tx + np.cos(ang) * d, ty + np.sin(ang) * d
        if sa / 2 + 1 <= sx <= W - sa / 2 - 1 and sa / 2 + 1 <= sy <= H - sa / 2 - 1:
            break
    else:  # the nearest point inside the frame
        sx, sy = float(np.clip(sx, sa / 2 + 1, W - sa / 2 - 1)), float(np.clip(sy, sa / 2 + 1, H - sa / 2 - 1))
        d = float(np.hypot(sx - tx, sy - ty))
    if kind in ("cover", "put_onto"):
        q = sc.p
    elif kind == "uncover":
        sx, sy, tx, ty = tx, ty, sx, sy
        q = sc.p
    else:  # pretend: approach to a point short of contact, then retreat
        q = np.where(sc.p < 0.5, 2 * sc.p, 2 - 2 * sc.p) * sc.rng.uniform(0.45, 0.75)
    sc.add(look_b, bx, by, sb)
    sc.add(look_a, sx + (tx - sx) * q, sy + (ty - sy) * q, sa)
    return float(d)


SOMETHING: dict[str, tuple[str, Program, str]] = {
    # label -> (program name, program, what it tests); index = alphabetical position
    "Moving something from left to right": ("translate_lr", partial(translate, direction=(1, 0)), "order (mirror pair)"),
    "Moving something from right to left": ("translate_rl", partial(translate, direction=(-1, 0)), "order (mirror pair)"),
    "Moving something towards the camera": ("approach", partial(scale_change, approach=True), "order (time reversal), scale change"),
    "Moving something away from the camera": ("recede", partial(scale_change, approach=False), "order (time reversal), scale change"),
    "Turning the camera left while filming something": ("camera_left", partial(camera_turn, left=True), "order (mirror pair), global motion"),
    "Turning the camera right while filming something": ("camera_right", partial(camera_turn, left=False), "order (mirror pair), global motion"),
    "Spinning something clockwise": ("spin_cw", partial(spin, clockwise=True), "fast motion: only consecutive frames resolve it (mirror pair)"),
    "Spinning something counterclockwise": ("spin_ccw", partial(spin, clockwise=False), "fast motion: only consecutive frames resolve it (mirror pair)"),
    "Moving something and something closer to each other": ("closer", partial(pair_motion, kind="closer"), "interaction (time reversal)"),
    "Moving something and something away from each other": ("apart", partial(pair_motion, kind="apart"), "interaction (time reversal)"),
    "Moving something and something so they collide with each other": ("collide", partial(pair_motion, kind="collide"), "interaction (contact)"),
    "Moving something and something so they pass each other": ("pass", partial(pair_motion, kind="pass"), "interaction (crossing)"),
    "Pushing something from left to right": ("push_lr", partial(push, rightwards=True), "interaction (mirror pair)"),
    "Pushing something from right to left": ("push_rl", partial(push, rightwards=False), "interaction (mirror pair)"),
    "Covering something with something": ("cover", partial(relative, kind="cover"), "interaction (occlusion, time reversal)"),
    "Uncovering something": ("uncover", partial(relative, kind="uncover"), "interaction (occlusion, time reversal)"),
    "Putting something onto something": ("put_onto", partial(relative, kind="put_onto"), "interaction (contact)"),
    "Pretending to put something onto something": ("pretend_put_onto", partial(relative, kind="pretend_put_onto"), "interaction (approach and retreat, no contact)"),
}


# ------------------------------------------------------------------ Kinetics-style programs
def appearance(sc: Scene, background: str, shape: str) -> float:
    """2-3 objects of one shape over a patterned scene, each doing something irrelevant
    (drifting, spinning or resting), in any order."""
    sc.background = background
    travel = 0.0
    for _ in range(int(sc.rng.integers(2, 4))):
        s = sc.size(hi=min(sc.smax, 0.4 * sc.W))
        look = (shape, list(COLOURS)[int(sc.rng.integers(len(COLOURS)))])
        v = sc.rng.uniform(-1, 1, size=2) * sc.dist * 0.5
        x0, y0 = sc.place(s, v[0], v[1])
        q = sc.rng.uniform(0, 1, size=2)
        when = np.clip((sc.tau / max(sc.frames - 1, 1) - q.min()) / max(q.max() - q.min(), 0.2), 0, 1)
        sc.add(look, x0 + v[0] * when, y0 + v[1] * when, s,
               sc.rng.uniform(0, 2 * np.pi) + sc.rng.uniform(-3, 3) * when)
        travel += float(np.hypot(*v))
    return travel


KINETICS: dict[str, tuple[str, Program, str]] = {
    f"{shape.capitalize()}s in a {bg} scene": (f"{bg}_{shape}", partial(appearance, background=bg, shape=shape),
                                              "appearance (scene and object), order irrelevant")
    for bg in BACKGROUNDS for shape in SHAPES
}


# -------------------------------------------------------------------- Diving-style programs
def dive(sc: Scene, takeoff: str, flight: str, entry: str) -> float:
    """Three ordered sub-motions of one object: take-off (rising forwards or backwards),
    flight (pike: shrink and grow back; twist: a spin; straight: nothing), entry (a vertical
    or a slanted fall). The stage boundaries vary from clip to clip."""
    H, W = sc.H, sc.W
    s = sc.size(lo=sc.smin, hi=min(sc.smax, 0.35 * H))
    b1, b2 = sc.rng.uniform(0.25, 0.4), sc.rng.uniform(0.6, 0.75)
    u = np.clip(sc.tau / max(sc.frames - 1, 1), 0, 1)
    stage = lambda a, b: np.clip((u - a) / (b - a), 0, 1)  # noqa: E731
    s1, s2, s3 = stage(0.0, b1), stage(b1, b2), stage(b2, 1.0)
    sgn = 1.0 if takeoff == "forward" else -1.0
    run = sc.rng.uniform(0.12, 0.2) * W
    rise = sc.rng.uniform(0.3, 0.45) * H
    x0 = W / 2 - sgn * (run + (0.15 * W if entry == "slanted" else 0)) / 2 + sc.rng.uniform(-2, 2)
    y0 = H - s / 2 - 2 - sc.rng.uniform(0, 3)
    x = x0 + sgn * run * s1 + (sgn * 0.15 * W * s3 if entry == "slanted" else 0)
    y = y0 - rise * np.sin(np.pi / 2 * s1) + (rise + 0.1 * H) * s3 ** 2
    size = np.full(sc.n, s)
    angle = sc.rng.uniform(0, 2 * np.pi) + sgn * 0.8 * s1
    if flight == "pike":
        size = s * (1 - 0.45 * np.sin(np.pi * s2))
    elif flight == "twist":
        angle = angle + sgn * 4 * np.pi * s2
    sc.add(sc.look(), x, np.clip(y, s / 2 + 1, H - s / 2 - 1), size, angle)
    sc.start, sc.duration = 0, sc.frames
    return float(run + rise)


DIVING: dict[str, tuple[str, Program, str]] = {
    f"Dive: {t} take-off, {f} flight, {e} entry": (f"{t}_{f}_{e}", partial(dive, takeoff=t, flight=f, entry=e),
                                                  "three ordered sub-motions")
    for t in ("forward", "backward") for f in ("pike", "twist", "straight") for e in ("vertical", "slanted")
}


# ---------------------------------------------------------------------- still images
def still(sc: Scene, shape: str, count: int) -> float:
    """``count`` objects of ``shape`` (random colours, sizes, orientations) at rest, inside
    the central square of the frame (so that a square crop keeps them all). (The file holds
    eight independent images: each frame is re-drawn by :func:`make_spec`.)"""
    sc.background = BACKGROUNDS[int(sc.rng.integers(len(BACKGROUNDS)))]
    margin = (sc.W - sc.H) / 2
    for kind in [shape] * count:
        s = sc.size(hi=min(sc.smax, 0.35 * sc.H))
        x, y = sc.place(s, -2 * margin, 0.0)        # x in [s/2 + 1, H - s/2 - 1] ...
        sc.add((kind, list(COLOURS)[int(sc.rng.integers(len(COLOURS)))]), x + margin, y, s)   # ... centred
    return 0.0


STILLS: dict[str, tuple[str, Program, str]] = {
    f"{['One', 'Two', 'Three'][k - 1]} {shape}{('es' if shape.endswith('s') else 's') if k > 1 else ''}": (
        f"{shape}_{k}", partial(still, shape=shape, count=k), "appearance and count (single images)")
    for shape in SHAPES for k in (1, 2, 3)
}

CLASS_SETS: dict[str, dict[str, tuple[str, Program, str]]] = {
    "something": SOMETHING, "kinetics": KINETICS, "diving": DIVING, "stills": STILLS}


def class_names(classes: str = "something") -> list[str]:
    """Label names of a class set, in index order (alphabetical, as Something)."""
    if classes not in CLASS_SETS:
        raise ValueError(f"unknown class set {classes!r}; choose from {', '.join(CLASS_SETS)}")
    return sorted(CLASS_SETS[classes])


CLASS_NAMES: list[str] = class_names("something")
CLASS_PROGRAMS: dict[str, str] = {name: prog for name, (prog, _, _) in SOMETHING.items()}
CLASS_GROUPS: dict[str, str] = {prog: what for prog, _, what in SOMETHING.values()}


# ------------------------------------------------------------------------- clip specs
def make_spec(label: int, rng: np.random.Generator, prof: SynthProfile, zoom: float = 1.0,
              rate: float = 1.0) -> ClipSpec:
    """Draw one clip of class ``label``; ``zoom`` / ``rate`` render the same draw zoomed about
    the frame centre or at ``rate`` times the frame rate (the same event, ``rate`` x frames)."""
    names = class_names(prof.classes)
    name = names[label]
    program, run, _ = CLASS_SETS[prof.classes][name]
    F = int(rng.integers(prof.frames[0], prof.frames[1] + 1))
    dur = min(F, max(2, int(round(F * rng.uniform(*prof.duration)))))
    start = int(rng.integers(0, F - dur + 1))
    sc = Scene(rng, prof, F, start, dur, rate)
    if prof.classes == "stills":   # eight independent images of the class, one per frame
        frames = []
        for _ in range(F):
            sc.tracks = []
            run(sc)
            frames.append((sc.tracks, sc.background))
        tracks = [t for tr, _ in frames for t in tr]
        index = np.repeat(np.arange(F), [len(tr) for tr, _ in frames])
        for i, t in zip(index, tracks):  # visible only in its own frame
            t.size = np.where(np.arange(sc.n) == i, t.size, 0.0)
        sc.tracks, travel = tracks, 0.0
        frame_backgrounds = [bg for _, bg in frames]
    else:
        frame_backgrounds = None
        travel = run(sc)
    # distractors: slow drifting clutter, drawn below the actors, identical in all classes
    nd = int(rng.integers(prof.distractors[0], prof.distractors[1] + 1))
    for _ in range(nd):
        look = sc.look()
        s = sc.size(sc.smin, sc.smax * 0.35)
        vx, vy = rng.uniform(-1, 1, size=2) * prof.distractor_speed * sc.W
        x0, y0 = sc.place(s, vx * F, vy * F)
        jitter = rng.normal(0, 0.15, size=(2, F)).cumsum(axis=1)
        jx, jy = (np.interp(sc.tau, np.arange(F), j) for j in jitter)
        sc.add(look, x0 + vx * sc.tau + jx, y0 + vy * sc.tau + jy, s, role="distractor")
        sc.tracks.insert(0, sc.tracks.pop())
    cam = sc.cam
    if zoom != 1.0:  # a camera zoom about the frame centre: positions, sizes and pans scale
        for t in sc.tracks:
            t.x = sc.W / 2 + zoom * (t.x - sc.W / 2)
            t.y = sc.H / 2 + zoom * (t.y - sc.H / 2)
            t.size = t.size * zoom
        cam = cam * zoom
    actors = [t for t in sc.tracks if t.role == "actor"]
    stats = {
        "frames": sc.n, "event_start": int(round(sc.start * rate)),
        "event_frames": int(round(sc.duration * rate)),
        "size_px": float(np.mean([t.size[t.size > 0].mean() for t in actors])) if actors else 0.0,
        "speed_px_per_frame": float(travel * zoom / max(sc.duration * rate, 1)),
        "distractors": nd,
    }
    return ClipSpec(label, name, program, sc.n, sc.H, sc.W, sc.tracks, np.asarray(cam, dtype=np.float64),
                    int(rng.integers(2**31)), int(rng.integers(2**31)),
                    (stats["event_start"], stats["event_frames"]), sc.background, frame_backgrounds,
                    zoom, rate, stats)


def _fit_pair(ax, ay, bx, by, sa, sb, W, H):
    """Shift both tracks together so that both objects stay inside the frame."""
    xs = np.concatenate([ax - sa / 2, bx - sb / 2]), np.concatenate([ax + sa / 2, bx + sb / 2])
    ys = np.concatenate([ay - sa / 2, by - sb / 2]), np.concatenate([ay + sa / 2, by + sb / 2])
    dx = _shift(xs[0].min(), xs[1].max(), W)
    dy = _shift(ys[0].min(), ys[1].max(), H)
    return ax + dx, ay + dy, bx + dx, by + dy


def _span_fits(ax, ay, bx, by, sa, sb, W, H) -> bool:
    w = max((ax + sa / 2).max(), (bx + sb / 2).max()) - min((ax - sa / 2).min(), (bx - sb / 2).min())
    h = max((ay + sa / 2).max(), (by + sb / 2).max()) - min((ay - sa / 2).min(), (by - sb / 2).min())
    return w <= W - 2 and h <= H - 2


def _shift(lo: float, hi: float, size: float) -> float:
    if hi - lo >= size:
        return size / 2 - (lo + hi) / 2
    if lo < 0:
        return -lo
    if hi > size:
        return size - hi
    return 0.0


# ----------------------------------------------------------------------------- rendering
def _background(seed: int, H: int, Wc: int, contrast: float, kind: str = "plain",
                zoom: float = 1.0, W: int | None = None) -> np.ndarray:
    """Smooth random texture (H, Wc, 3) float32 in 0-255 (with the scene pattern ``kind``),
    sampled at coordinates zoomed ``zoom`` x about the centre of the ``W``-wide view."""
    rng = np.random.Generator(np.random.PCG64(seed))
    base = rng.uniform(90, 140) + rng.uniform(-15, 15, size=3)
    gh, gw = 5, max(5, int(round(5 * Wc / H)))
    grid = 0.75 * rng.uniform(-1, 1, size=(gh, gw, 1)) + 0.25 * rng.uniform(-1, 1, size=(gh, gw, 3))
    freq, phase = rng.uniform(0.15, 0.4), rng.uniform(0, 6.3)
    cx, cy = Wc / 2, H / 2
    xs = cx + (np.arange(Wc) + 0.5 - cx) / zoom - 0.5
    ys = cy + (np.arange(H) + 0.5 - cy) / zoom - 0.5
    yi = np.clip(ys / max(H - 1, 1) * (gh - 1), 0, gh - 1)
    xi = np.clip(xs / max(Wc - 1, 1) * (gw - 1), 0, gw - 1)
    y0 = np.floor(yi).astype(int).clip(0, gh - 2)
    x0 = np.floor(xi).astype(int).clip(0, gw - 2)
    fy, fx = (yi - y0)[:, None, None], (xi - x0)[None, :, None]
    g = grid
    tex = ((1 - fy) * (1 - fx) * g[y0][:, x0] + (1 - fy) * fx * g[y0][:, x0 + 1]
           + fy * (1 - fx) * g[y0 + 1][:, x0] + fy * fx * g[y0 + 1][:, x0 + 1])
    stripes = np.sin(xs[None, :, None] * freq + phase) * 0.25
    out = base + contrast * (tex + stripes)
    if kind == "stripes":     # the scene patterns of the kinetics class set: high contrast
        out = out + 45.0 * np.sign(np.sin(ys[:, None, None] * 0.9 + phase))
    elif kind == "checker":
        out = out + 45.0 * np.sign(np.sin(ys[:, None, None] * 0.55) * np.sin(xs[None, :, None] * 0.55 + phase))
    return out.astype(np.float32)


def _coverage(shape: str, dx: np.ndarray, dy: np.ndarray, r: float) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] of a shape of half-extent ``r`` at offsets (dx, dy)."""
    if shape == "circle":
        d = np.sqrt(dx * dx + dy * dy) - r
    elif shape == "square":
        d = np.maximum(np.abs(dx), np.abs(dy)) - r * 0.88
    elif shape == "cross":
        ax, ay = np.abs(dx), np.abs(dy)
        d = np.minimum(np.maximum(ax - r * 0.32, ay - r), np.maximum(ax - r, ay - r * 0.32))
    else:  # triangle pointing up
        d = np.maximum(dy - r * 0.8, (np.abs(dx) * 2 - (dy + r)) / np.sqrt(5))
        d = np.maximum(d, -dy - r)
    return np.clip(0.5 - d, 0.0, 1.0)


def _object(track: Track, t: int, cx: float, x0: int, x1: int, y0: int, y1: int):
    """Coverage of the object and of its dark half over the window [y0:y1, x0:x1]."""
    r = np.float32(track.size[t] / 2)
    xx = np.arange(x0, x1, dtype=np.float32)[None, :] + np.float32(0.5 - (track.x[t] - cx))
    yy = np.arange(y0, y1, dtype=np.float32)[:, None] + np.float32(0.5 - track.y[t])
    c, s = np.float32(np.cos(track.angle[t])), np.float32(np.sin(track.angle[t]))
    u, v = c * xx + s * yy, -s * xx + c * yy      # object frame (rotated by -angle)
    a = _coverage(track.shape, u, v, r)
    dark = np.clip(0.5 + u - 0.15 * r, 0.0, 1.0) * a     # the half towards the object's +u axis
    return a, dark


def object_windows(track: Track, t: int, cx: float, H: int, W: int):
    """The pixel window that can hold the object in frame ``t`` (or None)."""
    r = track.size[t] / 2
    if r <= 0:
        return None
    x, y = track.x[t] - cx, track.y[t]
    x0, x1 = max(int(np.floor(x - r - 1)), 0), min(int(np.ceil(x + r + 2)), W)
    y0, y1 = max(int(np.floor(y - r - 1)), 0), min(int(np.ceil(y + r + 2)), H)
    return (x0, x1, y0, y1) if x0 < x1 and y0 < y1 else None


def object_masks(spec: ClipSpec, roles: tuple[str, ...] = ("actor",)) -> np.ndarray:
    """Ground-truth coverage of each object of ``roles`` in each frame: (F, N, H, W) float32
    in [0, 1] (before occlusion by later objects)."""
    tracks = [t for t in spec.tracks if t.role in roles]
    out = np.zeros((spec.num_frames, len(tracks), spec.height, spec.width), dtype=np.float32)
    for t in range(spec.num_frames):
        for k, tr in enumerate(tracks):
            win = object_windows(tr, t, spec.camera_x[t], spec.height, spec.width)
            if win is not None:
                x0, x1, y0, y1 = win
                out[t, k, y0:y1, x0:x1] = _object(tr, t, spec.camera_x[t], x0, x1, y0, y1)[0]
    return out


def render(spec: ClipSpec, prof: SynthProfile) -> np.ndarray:
    """Render a clip: uint8 array (F, H, W, 3)."""
    H, W, F = spec.height, spec.width, spec.num_frames
    pan = int(np.ceil(np.abs(spec.camera_x).max())) + 2
    bg = _background(spec.background_seed, H, W + 2 * pan, prof.background_contrast, spec.background,
                     spec.zoom, W)
    if spec.frame_backgrounds is not None:
        bgs = [_background(spec.background_seed + t, H, W + 2 * pan, prof.background_contrast, kind, spec.zoom, W)
               for t, kind in enumerate(spec.frame_backgrounds)]
    noise_rng = np.random.Generator(np.random.PCG64(spec.noise_seed))
    clip = np.empty((F, H, W, 3), dtype=np.float32)
    static = not np.any(spec.camera_x)
    for t in range(F):
        cx = spec.camera_x[t]
        frame = clip[t]
        if spec.frame_backgrounds is not None:
            bg = bgs[t]
        if static:
            frame[...] = bg[:, pan:pan + W]
        else:
            off = pan + cx
            o0 = int(np.floor(off))
            frac = np.float32(off - o0)
            np.multiply(bg[:, o0:o0 + W], 1 - frac, out=frame)
            frame += frac * bg[:, o0 + 1:o0 + 1 + W]
        for tr in spec.tracks:
            win = object_windows(tr, t, cx, H, W)
            if win is None:
                continue
            x0, x1, y0, y1 = win
            a, dark = _object(tr, t, cx, x0, x1, y0, y1)
            col = np.asarray(COLOURS[tr.colour], dtype=np.float32)
            patch = frame[y0:y1, x0:x1]
            patch = patch + (col - patch) * a[..., None]
            frame[y0:y1, x0:x1] = patch - (0.45 * col) * dark[..., None]
    if prof.noise_std > 0:
        noise = noise_rng.standard_normal(clip.shape, dtype=np.float32)
        noise *= np.float32(prof.noise_std)
        clip += noise
    clip += np.float32(0.5)
    np.clip(clip, 0, 255, out=clip)
    return clip.astype(np.uint8)
