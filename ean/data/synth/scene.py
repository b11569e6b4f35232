"""Procedural Something-Something-style scenes: the classes, their motion programs and the
renderer.

A clip is fully described by a :class:`ClipSpec` drawn from a generator seeded with
``(seed, split, clip index)``; rendering a spec is deterministic. Every class draws its
objects' shapes, colours, sizes, speeds and event timing from the same distributions, so
only *how things move over time* tells the classes apart.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .profiles import SynthProfile

SHAPES = ("circle", "square", "triangle", "diamond")
COLOURS = {  # name -> RGB
    "red": (220, 50, 40), "green": (40, 180, 70), "blue": (40, 90, 230),
    "yellow": (235, 210, 40), "purple": (150, 60, 200), "white": (240, 240, 240),
}

# name -> motion program. Index = alphabetical position (Something's label order).
CLASS_PROGRAMS: dict[str, str] = {
    "Moving something from left to right": "translate_lr",
    "Moving something from right to left": "translate_rl",
    "Moving something up": "translate_up",
    "Moving something down": "translate_down",
    "Moving something towards the camera": "approach",
    "Moving something away from the camera": "recede",
    "Turning the camera left while filming something": "camera_left",
    "Turning the camera right while filming something": "camera_right",
    "Moving something and something closer to each other": "closer",
    "Moving something and something away from each other": "apart",
    "Moving something and something so they collide with each other": "collide",
    "Moving something and something so they pass each other": "pass",
    "Pushing something from left to right": "push_lr",
    "Pushing something from right to left": "push_rl",
    "Covering something with something": "cover",
    "Uncovering something": "uncover",
    "Putting something onto something": "put_onto",
    "Pretending to put something onto something": "pretend_put_onto",
}
CLASS_NAMES: list[str] = sorted(CLASS_PROGRAMS)

# what each class tests (for the README)
CLASS_GROUPS: dict[str, str] = {
    "translate_lr": "order (mirror pair)", "translate_rl": "order (mirror pair)",
    "translate_up": "order (time reversal)", "translate_down": "order (time reversal)",
    "approach": "order (time reversal), scale change", "recede": "order (time reversal), scale change",
    "camera_left": "order (mirror pair), global motion", "camera_right": "order (mirror pair), global motion",
    "closer": "interaction (time reversal)", "apart": "interaction (time reversal)",
    "collide": "interaction (contact)", "pass": "interaction (crossing)",
    "push_lr": "interaction (mirror pair)", "push_rl": "interaction (mirror pair)",
    "cover": "interaction (occlusion, time reversal)", "uncover": "interaction (occlusion, time reversal)",
    "put_onto": "interaction (contact)", "pretend_put_onto": "interaction (approach and retreat, no contact)",
}


@dataclass
class Track:
    """One object over the clip: centre (x, y) and extent ``size`` per frame, in pixels
    (world coordinates; the camera offset is subtracted at render time)."""

    shape: str
    colour: str
    x: np.ndarray
    y: np.ndarray
    size: np.ndarray
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
    event: tuple[int, int]                    # first frame, duration (frames)
    stats: dict = field(default_factory=dict)


def _progress(num_frames: int, start: int, duration: int) -> np.ndarray:
    """Smooth 0 -> 1 over the event, flat before and after, shape (F,)."""
    t = np.arange(num_frames, dtype=np.float64)
    u = np.clip((t - start) / max(duration - 1, 1), 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


def _pick_objects(rng: np.random.Generator, n: int) -> list[tuple[str, str]]:
    return [(SHAPES[int(rng.integers(len(SHAPES)))],
             list(COLOURS)[int(rng.integers(len(COLOURS)))]) for _ in range(n)]


def make_spec(label: int, rng: np.random.Generator, prof: SynthProfile) -> ClipSpec:
    """Draw one clip of class ``label``."""
    name = CLASS_NAMES[label]
    program = CLASS_PROGRAMS[name]
    H, W = prof.height, prof.width
    F = int(rng.integers(prof.frames[0], prof.frames[1] + 1))
    dur = max(2, int(round(F * rng.uniform(*prof.duration))))
    dur = min(dur, F)
    start = int(rng.integers(0, F - dur + 1))
    p = _progress(F, start, dur)
    smin, smax = prof.size[0] * H, prof.size[1] * H
    dist = rng.uniform(*prof.distance) * W
    cam = np.zeros(F)
    tracks: list[Track] = []
    (shape_a, col_a), (shape_b, col_b) = _pick_objects(rng, 2)

    def size_draw(lo=smin, hi=smax) -> float:  # log-uniform over the 8x range
        return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))

    def place(extent: float, span_x: float = 0.0, span_y: float = 0.0) -> tuple[float, float]:
        """A start point such that a box of ``extent`` moved by (span_x, span_y) stays in view."""
        m = extent / 2 + 1
        x_lo, x_hi = m - min(span_x, 0), W - m - max(span_x, 0)
        y_lo, y_hi = m - min(span_y, 0), H - m - max(span_y, 0)
        return (rng.uniform(x_lo, max(x_lo, x_hi)), rng.uniform(y_lo, max(y_lo, y_hi)))

    const = lambda v: np.full(F, float(v))  # noqa: E731

    if program.startswith("translate_"):
        s = size_draw(hi=min(smax, 0.45 * W))
        direction = {"translate_lr": (1, 0), "translate_rl": (-1, 0),
                     "translate_up": (0, -1), "translate_down": (0, 1)}[program]
        d = dist if direction[0] else dist * H / W
        d = min(d, (W if direction[0] else H) - s - 2)
        dx, dy = direction[0] * d, direction[1] * d
        x0, y0 = place(s, dx, dy)
        tracks.append(Track(shape_a, col_a, x0 + dx * p, y0 + dy * p, const(s)))
        travel = d
    elif program in ("approach", "recede"):
        g = rng.uniform(*prof.grow)
        s_small = size_draw(hi=max(smin * 1.01, min(smax, 0.9 * H) / g))
        s_big = s_small * g
        drift = rng.uniform(-0.05, 0.05, size=2) * W
        x0, y0 = place(s_big, drift[0], drift[1])
        sizes = s_small * g ** p if program == "approach" else s_big / g ** p
        tracks.append(Track(shape_a, col_a, x0 + drift[0] * p, y0 + drift[1] * p, sizes))
        travel = s_big - s_small
    elif program in ("camera_left", "camera_right"):
        s = size_draw(hi=min(smax, 0.45 * W))
        d = min(dist, W - s - 2)
        # turning the camera left moves the scene content to the right on screen
        cam = -d * p if program == "camera_left" else d * p
        shift = -cam[-1]  # screen displacement of static objects
        x0, y0 = place(s, shift, 0.0)
        tracks.append(Track(shape_a, col_a, const(x0), const(y0), const(s)))
        travel = d
    else:
        travel = _two_object(program, tracks, rng, prof, p, F, dist, size_draw,
                             (shape_a, col_a), (shape_b, col_b))

    # distractors: slow drifting clutter, drawn below the actors, identical in all classes
    nd = int(rng.integers(prof.distractors[0], prof.distractors[1] + 1))
    for shape, col in _pick_objects(rng, nd):
        s = size_draw(smin, max(smin * 1.01, smax * 0.35))
        vx, vy = rng.uniform(-1, 1, size=2) * prof.distractor_speed * W
        x0, y0 = place(s, vx * F, vy * F)
        t = np.arange(F)
        jitter = rng.normal(0, 0.15, size=(2, F)).cumsum(axis=1)
        tracks.insert(0, Track(shape, col, x0 + vx * t + jitter[0],
                               y0 + vy * t + jitter[1], const(s), role="distractor"))
    actors = [t for t in tracks if t.role == "actor"]
    stats = {
        "frames": F, "event_start": start, "event_frames": dur,
        "size_px": float(np.mean([t.size.mean() for t in actors])),
        "speed_px_per_frame": float(travel / dur),
        "distractors": nd,
    }
    return ClipSpec(label, name, program, F, H, W, tracks, np.asarray(cam, dtype=np.float64),
                    int(rng.integers(2**31)), int(rng.integers(2**31)), (start, dur), stats)


def _two_object(program, tracks, rng, prof, p, F, dist, size_draw, obj_a, obj_b) -> float:
    """Motion programs of the two-object classes; appends the tracks, returns the travel."""
    H, W = prof.height, prof.width
    const = lambda v: np.full(F, float(v))  # noqa: E731
    smax_fit = min(prof.size[1] * H, 0.3 * W)
    sa, sb = size_draw(hi=smax_fit), size_draw(hi=smax_fit)
    if program in ("closer", "apart", "collide", "pass"):
        ang = rng.uniform(0, 2 * np.pi)
        u = np.array([np.cos(ang), np.sin(ang)])
        gap_k = rng.uniform(0.2, 0.6) if program == "pass" else rng.uniform(1.6, 2.2)
        for _ in range(20):
            contact = (sa + sb) / 2
            if program == "collide":
                near = contact
            elif program == "pass":
                near = -(contact + gap_k * contact)   # crossed over
            else:
                near = contact * gap_k                 # a clear gap
            # the whole motion must fit in the frame along the motion axis
            room = min((W - 4 - contact) / max(abs(u[0]), 1e-6),
                       (H - 4 - contact) / max(abs(u[1]), 1e-6))
            if room >= abs(near) + 0.5 * contact + 2:
                break
            sa, sb = sa * 0.85, sb * 0.85             # too large for this direction
        far = min(max(near, contact) + max(dist, contact), room)
        share = rng.uniform(0.3, 0.7)          # how much of the motion each object makes
        if program == "pass":  # they swap sides: each travels 2 * far * its share
            far = min(max(far, -near), room / (2 * max(share, 1 - share)))
            near = -far
        cx, cy = W / 2 + rng.uniform(-0.1, 0.1) * W, H / 2 + rng.uniform(-0.1, 0.1) * H
        lat = rng.uniform(0.3, 0.6) * contact if program == "pass" else 0.0
        for _ in range(30):
            sep = far + (near - far) * p if program != "apart" else near + (far - near) * p
            lateral = np.array([-u[1], u[0]]) * lat
            ax = cx - u[0] * sep * share + lateral[0]
            ay = cy - u[1] * sep * share + lateral[1]
            bx = cx + u[0] * sep * (1 - share) - lateral[0]
            by = cy + u[1] * sep * (1 - share) - lateral[1]
            if _span_fits(ax, ay, bx, by, sa, sb, W, H):
                break
            # the union of both paths is larger than the frame: shorten the motion
            far, lat = far * 0.9, lat * 0.9
            if program == "pass":
                near = -far
            else:
                far = max(far, near + 2)
        ax, ay, bx, by = _fit_pair(ax, ay, bx, by, sa, sb, W, H)
        tracks.append(Track(*obj_b, bx, by, const(sb)))
        tracks.append(Track(*obj_a, ax, ay, const(sa)))
        return float(abs(far - near))
    if program in ("push_lr", "push_rl"):
        sgn = 1.0 if program == "push_lr" else -1.0
        contact = (sa + sb) / 2
        gap = max(dist * 0.5, 2.0)
        push = max(dist * 0.5, 2.0)
        total = gap + contact + push + sa / 2 + sb / 2 + 2
        if total > W:
            k = (W - contact - sa / 2 - sb / 2 - 2) / (gap + push)
            gap, push = gap * k, push * k
        # first half of the event: A closes the gap; second half: A and B move together
        p1, p2 = np.clip(2 * p, 0, 1), np.clip(2 * p - 1, 0, 1)
        left = sa / 2 + 1 + rng.uniform(0, max(W - total, 0))
        y = rng.uniform(max(sa, sb) / 2 + 1, H - max(sa, sb) / 2 - 1)
        if sgn > 0:
            a0 = left
            ax = a0 + gap * p1 + push * p2
            bx = a0 + gap + contact + push * p2
        else:
            a0 = W - left
            ax = a0 - gap * p1 - push * p2
            bx = a0 - gap - contact - push * p2
        tracks.append(Track(*obj_b, bx, const(y), const(sb)))
        tracks.append(Track(*obj_a, ax, const(y), const(sa)))
        return float(gap + push)
    # cover / uncover / put_onto / pretend_put_onto: B rests, A moves relative to it
    if program in ("cover", "uncover"):
        sb = min(sb, smax_fit / 1.4)
        sa = max(sa, sb * 1.4)
    onto = program in ("put_onto", "pretend_put_onto")
    if onto and sa + 1.5 * sb + 4 > H:  # A on top of B must fit in the frame height
        k = (H - 4) / (sa + 1.5 * sb)
        sa, sb = sa * k, sb * k
    y_lo = 1 + sa + sb / 2 if onto else max(sa, sb) / 2 + 1
    y_hi = H - sb / 2 - 1 if onto else H - max(sa, sb) / 2 - 1
    m = max(sa, sb) / 2 + 1  # A rests centred on/over B: both must fit
    bx, by = rng.uniform(m, W - m), rng.uniform(y_lo, max(y_lo, y_hi))
    if onto:  # on top of B, touching; arriving from above (left or right)
        tx, ty = bx, by - (sa + sb) / 2
        angles = (np.pi * 1.15, np.pi * 1.85)
    else:
        tx, ty = bx, by
        angles = (0.0, 2 * np.pi)
    # a start point at distance ~d from the target with A fully inside the frame
    d0 = max(dist, sa)
    for attempt in range(40):
        d = d0 * max(0.5, 0.95 ** attempt)
        ang = rng.uniform(*angles)
        sx, sy = tx + np.cos(ang) * d, ty + np.sin(ang) * d
        if sa / 2 + 1 <= sx <= W - sa / 2 - 1 and sa / 2 + 1 <= sy <= H - sa / 2 - 1:
            break
    else:  # fall back to the nearest point inside the frame
        sx = float(np.clip(sx, sa / 2 + 1, W - sa / 2 - 1))
        sy = float(np.clip(sy, sa / 2 + 1, H - sa / 2 - 1))
        d = float(np.hypot(sx - tx, sy - ty))
    if program == "cover" or program == "put_onto":
        ax, ay = sx + (tx - sx) * p, sy + (ty - sy) * p
    elif program == "uncover":
        ax, ay = tx + (sx - tx) * p, ty + (sy - ty) * p
    else:  # pretend: approach to a point short of contact, then retreat
        stop = rng.uniform(0.45, 0.75)
        q = np.where(p < 0.5, 2 * p, 2 - 2 * p) * stop
        ax, ay = sx + (tx - sx) * q, sy + (ty - sy) * q
    tracks.append(Track(*obj_b, const(bx), const(by), const(sb)))
    tracks.append(Track(*obj_a, ax, ay, const(sa)))
    return float(d)


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
def _background(seed: int, H: int, Wc: int, contrast: float) -> np.ndarray:
    """Smooth random texture (H, Wc, 3) float32 in 0-255."""
    rng = np.random.Generator(np.random.PCG64(seed))
    base = rng.uniform(90, 140) + rng.uniform(-15, 15, size=3)
    gh, gw = 5, max(5, int(round(5 * Wc / H)))
    lum = rng.uniform(-1, 1, size=(gh, gw, 1))
    grid = 0.75 * lum + 0.25 * rng.uniform(-1, 1, size=(gh, gw, 3))  # mostly luminance
    yi = np.linspace(0, gh - 1, H)
    xi = np.linspace(0, gw - 1, Wc)
    y0 = np.floor(yi).astype(int).clip(0, gh - 2)
    x0 = np.floor(xi).astype(int).clip(0, gw - 2)
    fy, fx = (yi - y0)[:, None, None], (xi - x0)[None, :, None]
    g = grid
    tex = ((1 - fy) * (1 - fx) * g[y0][:, x0] + (1 - fy) * fx * g[y0][:, x0 + 1]
           + fy * (1 - fx) * g[y0 + 1][:, x0] + fy * fx * g[y0 + 1][:, x0 + 1])
    stripes = np.sin(np.arange(Wc)[None, :, None] * rng.uniform(0.15, 0.4)
                     + rng.uniform(0, 6.3)) * 0.25
    return (base + contrast * (tex + stripes)).astype(np.float32)


def _coverage(shape: str, dx: np.ndarray, dy: np.ndarray, r: float) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] of a shape of half-extent ``r`` at offsets (dx, dy)."""
    if shape == "circle":
        d = np.sqrt(dx * dx + dy * dy) - r
    elif shape == "square":
        d = np.maximum(np.abs(dx), np.abs(dy)) - r * 0.88
    elif shape == "diamond":
        d = (np.abs(dx) + np.abs(dy)) / np.sqrt(2) - r * 0.78
    else:  # triangle pointing up
        d = np.maximum(dy - r * 0.8, (np.abs(dx) * 2 - (dy + r)) / np.sqrt(5))
        d = np.maximum(d, -dy - r)
    return np.clip(0.5 - d, 0.0, 1.0)


def render(spec: ClipSpec, prof: SynthProfile) -> np.ndarray:
    """Render a clip: uint8 array (F, H, W, 3)."""
    H, W, F = spec.height, spec.width, spec.num_frames
    pan = int(np.ceil(np.abs(spec.camera_x).max())) + 2
    bg = _background(spec.background_seed, H, W + 2 * pan, prof.background_contrast)
    noise_rng = np.random.Generator(np.random.PCG64(spec.noise_seed))
    clip = np.empty((F, H, W, 3), dtype=np.float32)
    static = not np.any(spec.camera_x)
    for t in range(F):
        cx = spec.camera_x[t]
        frame = clip[t]
        if static:
            frame[...] = bg[:, pan:pan + W]
        else:
            off = pan + cx
            o0 = int(np.floor(off))
            frac = np.float32(off - o0)
            np.multiply(bg[:, o0:o0 + W], 1 - frac, out=frame)
            frame += frac * bg[:, o0 + 1:o0 + 1 + W]
        for tr in spec.tracks:
            r = tr.size[t] / 2
            x, y = tr.x[t] - cx, tr.y[t]
            x0, x1 = max(int(np.floor(x - r - 1)), 0), min(int(np.ceil(x + r + 2)), W)
            y0, y1 = max(int(np.floor(y - r - 1)), 0), min(int(np.ceil(y + r + 2)), H)
            if x0 >= x1 or y0 >= y1:
                continue
            xx = np.arange(x0, x1, dtype=np.float32)[None, :] + np.float32(0.5 - x)
            yy = np.arange(y0, y1, dtype=np.float32)[:, None] + np.float32(0.5 - y)
            a = _coverage(tr.shape, xx, yy, np.float32(r))[..., None]
            col = np.asarray(COLOURS[tr.colour], dtype=np.float32)
            patch = frame[y0:y1, x0:x1]
            frame[y0:y1, x0:x1] = patch + (col - patch) * a
    if prof.noise_std > 0:
        noise = noise_rng.standard_normal(clip.shape, dtype=np.float32)
        noise *= np.float32(prof.noise_std)
        clip += noise
    clip += np.float32(0.5)
    np.clip(clip, 0, 255, out=clip)
    return clip.astype(np.uint8)
