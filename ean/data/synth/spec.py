"""Drawing a clip: its length, event timing, class program, distractors and camera zoom.

A clip is fully described by a :class:`~ean.data.synth.scene.ClipSpec` drawn from a
generator seeded with ``(seed, split, clip index)`` (:func:`ean.data.synth.writer.clip_spec`).
"""
from __future__ import annotations

import numpy as np

from .class_sets import CLASS_SETS, class_names
from .profiles import SynthProfile
from .programs import Program, get_program
from .scene import ClipSpec, Scene


def _scene(rng: np.random.Generator, prof: SynthProfile, frames: int, start: int, duration: int,
           rate: float) -> Scene:
    """The scene of a clip of ``frames`` nominal frames rendered at ``rate`` x the frame rate,
    its event at ``start`` for ``duration`` frames (draws the clip's travel)."""
    H, W = prof.height, prof.width
    return Scene(rng, H, W, frames, start, duration, tau=np.arange(int(round(frames * rate))) / rate,
                 smin=prof.size[0] * H, smax=prof.size[1] * H, dist=rng.uniform(*prof.distance) * W,
                 grow=prof.grow)


def make_spec(label: int, rng: np.random.Generator, prof: SynthProfile, zoom: float = 1.0,
              rate: float = 1.0) -> ClipSpec:
    """Draw one clip of class ``label``; ``zoom`` / ``rate`` render the same draw zoomed about
    the frame centre or at ``rate`` times the frame rate (the same event, ``rate`` x frames)."""
    name = class_names(prof.classes)[label]
    class_set = CLASS_SETS[prof.classes]
    program = class_set.program(name)
    run = get_program(program)
    F = int(rng.integers(prof.frames[0], prof.frames[1] + 1))
    dur = min(F, max(2, int(round(F * rng.uniform(*prof.duration)))))
    start = int(rng.integers(0, F - dur + 1))
    sc = _scene(rng, prof, F, start, dur, rate)
    if class_set.images:
        travel, frame_backgrounds = 0.0, _images(sc, run)
    else:
        travel, frame_backgrounds = run(sc), None
    nd = _distractors(sc, prof)
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


def _images(sc: Scene, run: Program) -> list[str]:
    """Still images: run the program once per frame, each image's objects visible in its own
    frame only; returns each frame's background."""
    frames = []
    for _ in range(sc.frames):
        sc.tracks = []
        run(sc)
        frames.append((sc.tracks, sc.background))
    tracks = [t for tr, _ in frames for t in tr]
    index = np.repeat(np.arange(sc.frames), [len(tr) for tr, _ in frames])
    for i, t in zip(index, tracks):  # visible only in its own frame
        t.size = np.where(np.arange(sc.n) == i, t.size, 0.0)
    sc.tracks = tracks
    return [bg for _, bg in frames]


def _distractors(sc: Scene, prof: SynthProfile) -> int:
    """Slow drifting clutter, drawn below the actors, identical in all classes; returns how many."""
    F, rng = sc.frames, sc.rng
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
    return nd
