"""The media of the official dataset layouts: V1 JPEG frame folders, VP9 ``.webm`` and H.264
``.mp4`` videos, each written atomically, and deliberately damaged media (see
:mod:`ean.data.synth.official`)."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .profiles import SynthProfile
from .rendering import render
from .writer import ClipJob, clip_spec, encode_mp4, encode_video

V1_FRAME_TEMPLATE = "{:05d}.jpg"    # 1-based, as the 20BN V1 release
V1_JPEG_QUALITY = 90
WEBM_CODECS = ("libvpx-vp9", "libvpx")                      # VP9 (as SSv2), else VP8
_DAMAGED_HEADER = 16


def webm_codec() -> str | None:
    """The first libvpx encoder PyAV offers (``libvpx-vp9``, ``libvpx``), or ``None``."""
    import av

    for name in WEBM_CODECS:
        try:
            av.codec.Codec(name, "w")
            return name
        except Exception:
            continue
    return None


def encode_webm(frames: np.ndarray, path: str | os.PathLike, fps: int = 12, crf: int = 20) -> None:
    """Write ``frames`` (F, H, W, 3) uint8 RGB as a VP9 (else VP8) ``.webm``, atomically.
    Single-threaded libvpx and a bit-exact muxer (no date, fixed ids): the bytes depend only
    on the frames and settings."""
    codec = webm_codec()
    if codec is None:
        raise RuntimeError("PyAV has no libvpx encoder (libvpx-vp9 or libvpx)")
    opts = {"crf": str(crf), "b": "0", "threads": "1", "deadline": "good", "cpu-used": "5"}
    if codec == "libvpx-vp9":
        opts.update({"row-mt": "0", "tile-columns": "0"})
    encode_video(frames, path, "webm", codec, fps, opts, container_options={"fflags": "+bitexact"})


def write_jpeg_folder(frames: np.ndarray, folder: str | os.PathLike,
                      template: str = V1_FRAME_TEMPLATE, start: int = 1,
                      quality: int = V1_JPEG_QUALITY) -> None:
    """Write ``frames`` as ``folder/<template.format(start + i)>`` JPEGs, atomically (a
    ``.partial-*`` folder renamed when complete)."""
    from PIL import Image

    folder = Path(folder)
    tmp = Path(tempfile.mkdtemp(prefix=".partial-", dir=folder.parent))
    try:
        for i, f in enumerate(frames):
            Image.fromarray(f).save(tmp / template.format(start + i), quality=quality)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def damage(path: str | os.PathLike) -> None:
    """Make a media file (or every file of a frame folder) garbage: keep the first half of
    its bytes and zero the first 16 of them."""
    path = Path(path)
    for f in sorted(path.iterdir()) if path.is_dir() else [path]:
        data = f.read_bytes()
        half = data[: max(len(data) // 2, _DAMAGED_HEADER)]
        f.write_bytes(bytes(_DAMAGED_HEADER) + half[_DAMAGED_HEADER:])


def _write_media(kind: str, frames: np.ndarray, path: Path, prof: SynthProfile) -> None:
    if kind == "jpg":
        write_jpeg_folder(frames, path)
    elif kind == "webm":
        encode_webm(frames, path, prof.fps, prof.crf)
    else:
        encode_mp4(frames, path, prof.fps, prof.crf)


def make_media(args: tuple[str, str, str, ClipJob, SynthProfile, int]) -> bool:
    """Render and write one entry's media unless it exists (or is to stay missing)."""
    kind, path, state, job, prof, seed = args
    path = Path(path)
    if state == "missing" or path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = render(clip_spec(job, prof, seed), prof)
    if state != "corrupt":
        _write_media(kind, frames, path, prof)
        return True
    tmp = path.with_name(f".partial-corrupt-{path.name}")
    _write_media(kind, frames, tmp, prof)
    damage(tmp)
    os.replace(tmp, path)
    return True


def remove_leftovers(media_root: Path) -> None:
    """Delete the ``.partial-*`` files and folders of an interrupted run."""
    for p in sorted(media_root.rglob(".partial-*"), key=lambda q: len(q.parts), reverse=True):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        elif p.exists():
            p.unlink()
