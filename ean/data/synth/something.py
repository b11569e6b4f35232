"""The ``something`` class set: 18 Something-Something-style classes that differ only in how
things move over time (direction, time order, interaction, and the direction of a fast spin
that only consecutive frames resolve), and their motion programs."""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from .programs import program
from .scene import Scene

SOMETHING: dict[str, tuple[str, str]] = {
    # label -> (program name, what it tests); index = alphabetical position
    "Moving something from left to right": ("translate_lr", "order (mirror pair)"),
    "Moving something from right to left": ("translate_rl", "order (mirror pair)"),
    "Moving something towards the camera": ("approach", "order (time reversal), scale change"),
    "Moving something away from the camera": ("recede", "order (time reversal), scale change"),
    "Turning the camera left while filming something": ("camera_left", "order (mirror pair), global motion"),
    "Turning the camera right while filming something": ("camera_right", "order (mirror pair), global motion"),
    "Spinning something clockwise": ("spin_cw", "fast motion: only consecutive frames resolve it (mirror pair)"),
    "Spinning something counterclockwise": ("spin_ccw", "fast motion: only consecutive frames resolve it (mirror pair)"),
    "Moving something and something closer to each other": ("closer", "interaction (time reversal)"),
    "Moving something and something away from each other": ("apart", "interaction (time reversal)"),
    "Moving something and something so they collide with each other": ("collide", "interaction (contact)"),
    "Moving something and something so they pass each other": ("pass", "interaction (crossing)"),
    "Pushing something from left to right": ("push_lr", "interaction (mirror pair)"),
    "Pushing something from right to left": ("push_rl", "interaction (mirror pair)"),
    "Covering something with something": ("cover", "interaction (occlusion, time reversal)"),
    "Uncovering something": ("uncover", "interaction (occlusion, time reversal)"),
    "Putting something onto something": ("put_onto", "interaction (contact)"),
    "Pretending to put something onto something": ("pretend_put_onto", "interaction (approach and retreat, no contact)"),
}


# ------------------------------------------------------------------------- one object
@program("translate_lr", direction=(1, 0))
@program("translate_rl", direction=(-1, 0))
def translate(sc: Scene, direction: tuple[int, int]) -> float:
    s = sc.size(hi=min(sc.smax, 0.45 * sc.W))
    d = sc.dist if direction[0] else sc.dist * sc.H / sc.W
    d = min(d, (sc.W if direction[0] else sc.H) - s - 2)
    dx, dy = direction[0] * d, direction[1] * d
    x0, y0 = sc.place(s, dx, dy)
    sc.add(sc.look(), x0 + dx * sc.p, y0 + dy * sc.p, s)
    return d


@program("approach", approach=True)
@program("recede", approach=False)
def scale_change(sc: Scene, approach: bool) -> float:
    g = sc.rng.uniform(*sc.grow)
    s_small = sc.size(hi=max(sc.smin * 1.01, min(sc.smax, 0.9 * sc.H) / g))
    s_big = s_small * g
    drift = sc.rng.uniform(-0.05, 0.05, size=2) * sc.W
    x0, y0 = sc.place(s_big, drift[0], drift[1])
    sizes = s_small * g ** sc.p if approach else s_big / g ** sc.p
    sc.add(sc.look(), x0 + drift[0] * sc.p, y0 + drift[1] * sc.p, sizes)
    return s_big - s_small


@program("camera_left", left=True)
@program("camera_right", left=False)
def camera_turn(sc: Scene, left: bool) -> float:
    s = sc.size(hi=min(sc.smax, 0.45 * sc.W))
    d = min(sc.dist, sc.W - s - 2)
    # turning the camera left moves the scene content to the right on screen
    sc.cam = -d * sc.p if left else d * sc.p
    x0, y0 = sc.place(s, -sc.cam[-1], 0.0)
    sc.add(sc.look(), x0, y0, s)
    return d


@program("spin_cw", clockwise=True)
@program("spin_ccw", clockwise=False)
def spin(sc: Scene, clockwise: bool) -> float:
    """A fast spin at a constant angular speed (45-65 degrees per frame) during the event:
    consecutive frames show its direction; frames several apart alias it."""
    s = sc.size(hi=min(sc.smax, 0.45 * sc.W))
    omega = np.deg2rad(sc.rng.uniform(45, 65)) * (1 if clockwise else -1)   # image y points down
    x0, y0 = sc.place(s)
    theta0 = sc.rng.uniform(0, 2 * np.pi)
    sc.add(sc.look(), x0, y0, s, theta0 + omega * (sc.duration - 1) * sc.linear)
    return float(abs(omega) * (sc.duration - 1) * s / 2)       # path of the object's rim


# ------------------------------------------------------------------------ two objects
def _fit_extent(sc: Scene) -> float:
    """The largest extent of either object of a two-object interaction."""
    return min(sc.smax, 0.3 * sc.W)


def _two_objects(sc: Scene) -> tuple[float, float, tuple[str, str], tuple[str, str]]:
    """Extents and looks of the two objects A and B of an interaction."""
    sa, sb = sc.size(hi=_fit_extent(sc)), sc.size(hi=_fit_extent(sc))
    return sa, sb, sc.look(), sc.look()


def _at_gap(contact: float, gap: float) -> float:
    return contact * gap


def _touching(contact: float, gap: float) -> float:
    return contact


def _crossed(contact: float, gap: float) -> float:
    return -(contact + gap * contact)


@program("closer", nearest=_at_gap)
@program("apart", nearest=_at_gap, apart=True)
@program("collide", nearest=_touching)
@program("pass", nearest=_crossed, gap=(0.2, 0.6), crossing=True)
def pair_motion(sc: Scene, nearest: Callable[[float, float], float], gap: tuple[float, float] = (1.6, 2.2),
                apart: bool = False, crossing: bool = False) -> float:
    """Two objects move along one axis, between their nearest separation (``nearest(contact,
    gap)``, ``gap`` drawn from its range; negative: on the other side) and a farther one:
    towards it, or away from it (``apart``); ``crossing`` objects swap sides, offset sideways."""
    H, W = sc.H, sc.W
    sa, sb, look_a, look_b = _two_objects(sc)
    ang = sc.rng.uniform(0, 2 * np.pi)
    u = np.array([np.cos(ang), np.sin(ang)])
    gap_k = sc.rng.uniform(*gap)
    for _ in range(20):
        contact = (sa + sb) / 2
        near = nearest(contact, gap_k)
        room = min((W - 4 - contact) / max(abs(u[0]), 1e-6), (H - 4 - contact) / max(abs(u[1]), 1e-6))
        if room >= abs(near) + 0.5 * contact + 2:
            break
        sa, sb = sa * 0.85, sb * 0.85             # too large for this direction
    far = min(max(near, contact) + max(sc.dist, contact), room)
    share = sc.rng.uniform(0.3, 0.7)              # how much of the motion each object makes
    if crossing:  # they swap sides: each travels 2 * far * its share
        far = min(max(far, -near), room / (2 * max(share, 1 - share)))
        near = -far
    cx, cy = W / 2 + sc.rng.uniform(-0.1, 0.1) * W, H / 2 + sc.rng.uniform(-0.1, 0.1) * H
    lat = sc.rng.uniform(0.3, 0.6) * contact if crossing else 0.0
    for _ in range(30):
        sep = near + (far - near) * sc.p if apart else far + (near - far) * sc.p
        lateral = np.array([-u[1], u[0]]) * lat
        ax, ay = cx - u[0] * sep * share + lateral[0], cy - u[1] * sep * share + lateral[1]
        bx, by = cx + u[0] * sep * (1 - share) - lateral[0], cy + u[1] * sep * (1 - share) - lateral[1]
        if _span_fits(ax, ay, bx, by, sa, sb, W, H):
            break
        far, lat = far * 0.9, lat * 0.9           # the union of both paths is larger than the frame
        if crossing:
            near = -far
        else:
            far = max(far, near + 2)
    ax, ay, bx, by = _fit_pair(ax, ay, bx, by, sa, sb, W, H)
    sc.add(look_b, bx, by, sb)
    sc.add(look_a, ax, ay, sa)
    return float(abs(far - near))


@program("push_lr", rightwards=True)
@program("push_rl", rightwards=False)
def push(sc: Scene, rightwards: bool) -> float:
    """A closes the gap to B in the first half of the event; both move on in the second."""
    W, H = sc.W, sc.H
    sa, sb, look_a, look_b = _two_objects(sc)
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


# ----------------------------------------------------- A moves relative to B at rest
def _covering_pair(sc: Scene):
    """A and B with A at least 1.4 x B's extent (A can hide B)."""
    sa, sb, look_a, look_b = _two_objects(sc)
    sb = min(sb, _fit_extent(sc) / 1.4)
    sa = max(sa, sb * 1.4)
    return sa, sb, look_a, look_b


def _stacking_pair(sc: Scene):
    """A and B such that A on top of B fits in the frame height."""
    sa, sb, look_a, look_b = _two_objects(sc)
    if sa + 1.5 * sb + 4 > sc.H:
        k = (sc.H - 4) / (sa + 1.5 * sb)
        sa, sb = sa * k, sb * k
    return sa, sb, look_a, look_b


class _Approach(NamedTuple):
    b: tuple[float, float]         # where B rests
    start: tuple[float, float]     # A's point at distance d from its target
    target: tuple[float, float]    # A over B, or (onto) on top of B
    d: float


def _approach(sc: Scene, sa: float, sb: float, onto: bool) -> _Approach:
    """Place B and pick A's target (over B; ``onto``: on top of it) and a start point at
    about the clip's travel from it (``onto``: arriving from above), A inside the frame."""
    W, H = sc.W, sc.H
    y_lo = 1 + sa + sb / 2 if onto else max(sa, sb) / 2 + 1
    y_hi = H - sb / 2 - 1 if onto else H - max(sa, sb) / 2 - 1
    m = max(sa, sb) / 2 + 1
    bx, by = sc.rng.uniform(m, W - m), sc.rng.uniform(y_lo, max(y_lo, y_hi))
    tx, ty = (bx, by - (sa + sb) / 2) if onto else (bx, by)
    angles = (np.pi * 1.15, np.pi * 1.85) if onto else (0.0, 2 * np.pi)
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
    return _Approach((bx, by), (sx, sy), (tx, ty), d)


def _all_the_way(sc: Scene) -> np.ndarray:
    return sc.p


def _short_and_back(sc: Scene) -> np.ndarray:
    """Towards a point short of the target (45-75 % of the way), then back."""
    return np.where(sc.p < 0.5, 2 * sc.p, 2 - 2 * sc.p) * sc.rng.uniform(0.45, 0.75)


@program("cover", objects=_covering_pair, onto=False)
@program("uncover", objects=_covering_pair, onto=False, away=True)
@program("put_onto", objects=_stacking_pair, onto=True)
@program("pretend_put_onto", objects=_stacking_pair, onto=True, progress=_short_and_back)
def relative(sc: Scene, objects: Callable[[Scene], tuple], onto: bool, away: bool = False,
             progress: Callable[[Scene], np.ndarray] = _all_the_way) -> float:
    """B rests; A moves to it (over B, or ``onto`` its top), ``away`` from there, or as far
    along the way as ``progress`` says (0 -> 1 per frame)."""
    sa, sb, look_a, look_b = objects(sc)
    way = _approach(sc, sa, sb, onto)
    frm, to = (way.target, way.start) if away else (way.start, way.target)
    q = progress(sc)
    sc.add(look_b, way.b[0], way.b[1], sb)
    sc.add(look_a, frm[0] + (to[0] - frm[0]) * q, frm[1] + (to[1] - frm[1]) * q, sa)
    return float(way.d)


# ---------------------------------------------------------------- fitting two tracks
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
