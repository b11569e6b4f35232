"""One-time conversion of videos that decord seeks badly (Something V2 ``.webm``/VP9) into
H.264 ``.mp4`` files or JPEG frame folders, in parallel, resumable.

    convert_all(sources, out_dir, to="mp4", short_side=256, workers=2)

``<out>/<stem>.mp4`` or ``<out>/<stem>/{:06d}.jpg`` (1-based, the authors' SSv2 template).
Each output is written under a temporary name and renamed when complete; existing outputs
are skipped, so an interrupted run resumes where it stopped.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction
from pathlib import Path

import numpy as np

from .manifest import display_path

JPEG_TEMPLATE = "{:06d}.jpg"


def output_path(src: str, out_dir: str, to: str) -> str:
    stem = os.path.splitext(os.path.basename(src))[0]
    return os.path.join(out_dir, stem + (".mp4" if to == "mp4" else ""))


def _decode_all(src: str, short_side: int) -> tuple[list[np.ndarray], Fraction]:
    import av

    frames = []
    try:
        with av.open(src) as container:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or Fraction(25)
            for frame in container.decode(stream):
                w, h = frame.width, frame.height
                if short_side and min(w, h) != short_side:
                    k = short_side / min(w, h)
                    w, h = max(2, round(w * k / 2) * 2), max(2, round(h * k / 2) * 2)
                frames.append(frame.to_ndarray(width=w, height=h, format="rgb24"))
    except Exception as exc:
        if not frames:
            raise RuntimeError(f"cannot decode ({exc})") from None
    if not frames:
        raise RuntimeError("no video frames")
    return frames, Fraction(rate)


def convert_one(src: str, out_dir: str, to: str = "mp4", short_side: int = 0,
                crf: int = 18, jpeg_quality: int = 95) -> tuple[str, str | None]:
    """Convert one video; returns (src, None) or (src, "reason")."""
    dst = output_path(src, out_dir, to)
    if os.path.exists(dst):
        return src, None
    try:
        frames, rate = _decode_all(src, short_side)
        if to == "mp4":
            from .synth.writer import encode_mp4
            h, w = frames[0].shape[:2]
            if h % 2 or w % 2:  # yuv420p needs even sizes
                frames = [f[: h - h % 2, : w - w % 2] for f in frames]
            encode_mp4(np.stack(frames), dst, fps=rate, crf=crf)
        else:
            from PIL import Image
            tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(dst)}.", dir=out_dir)
            try:
                for i, f in enumerate(frames, 1):
                    Image.fromarray(f).save(os.path.join(tmp, JPEG_TEMPLATE.format(i)),
                                            quality=jpeg_quality)
                os.replace(tmp, dst)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
    except Exception as exc:
        return src, str(exc)
    return src, None


def _convert(args) -> tuple[str, str | None]:
    return convert_one(*args)


def convert_all(sources: list[str], out_dir: str, to: str = "mp4", short_side: int = 0,
                workers: int = 2, progress: bool = True) -> list[tuple[str, str]]:
    """Convert every source; returns the (source, reason) pairs that failed."""
    from tqdm import tqdm

    if to not in ("mp4", "jpg"):
        raise ValueError(f"--to {to!r}: choose mp4 or jpg")
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    for leftover in Path(out_dir).glob(".*"):  # temporaries of an interrupted run
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        elif leftover.name.endswith(".tmp.mp4"):
            leftover.unlink()
    args = [(s, out_dir, to, short_side) for s in sources]
    failed = []
    bar = tqdm(total=len(args), desc=f"extract -> {to}", unit="video", disable=not progress)
    if workers > 1 and len(args) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for src, err in pool.map(_convert, args, chunksize=2):
                if err:
                    failed.append((src, err))
                    bar.write(f"ERROR: {display_path(src)}: {err}", file=sys.stderr)
                bar.update()
    else:
        for a in args:
            src, err = _convert(a)
            if err:
                failed.append((src, err))
                bar.write(f"ERROR: {display_path(src)}: {err}", file=sys.stderr)
            bar.update()
    bar.close()
    return failed
