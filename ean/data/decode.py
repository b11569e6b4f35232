"""Frame decoding: video files through decord (PyAV as the fallback for streams decord
cannot convert or that end early), frame folders through PIL.

    reader = open_media(record, cfg)       # VideoFileReader or FrameFolderReader
    n = reader.num_frames                  # frames available (decodable estimate)
    frames = reader.read(indices)          # uint8 tensor (N, 3, H, W), RGB, N = len(indices)

Every failure (missing file, unreadable container, undecodable frame, missing frame file)
is raised as :class:`DecodeError` whose message names the file and the reason.
"""
from __future__ import annotations

import io
import os
import re
from collections import Counter

import numpy as np
import torch

from .config import DataConfig
from .manifest import VideoRecord, display_path

_FRAME_RE = re.compile(r"^(.*?)(\d+)\.(jpe?g|png|bmp)$", re.IGNORECASE)


class DecodeError(Exception):
    """A sample that cannot be read. ``str(err)`` is ``"<file>: <reason>"``."""

    def __init__(self, path: str, reason: str):
        self.path, self.reason = path, reason
        super().__init__(f"{display_path(path)}: {reason}")


def is_frame_folder(path: str, cfg: DataConfig) -> bool:
    if cfg.media == "frames":
        return True
    if cfg.media == "video":
        return False
    if cfg.format == "rawframes":
        return True
    if os.path.exists(path):
        return os.path.isdir(path)
    # missing: judge by the name, so that the error says what was expected
    ext = os.path.splitext(path)[1].lstrip(".").lower()
    return ext not in {e.lstrip(".").lower() for e in cfg.video_ext}


def open_media(record: VideoRecord, cfg: DataConfig) -> "VideoFileReader | FrameFolderReader":
    """Open the video file or frame folder of ``record`` (raises :class:`DecodeError`)."""
    path = record.path
    if is_frame_folder(path, cfg):
        return FrameFolderReader(path, cfg, record.num_frames, record.start_frame)
    return VideoFileReader(path, cfg, record.start_frame)


class VideoFileReader:
    """decord-backed reader that decodes only the requested frames.

    ``num_frames`` is the container's frame count; when decoding fails near the end (a
    truncated file) the indices are clamped to the frames that actually decode.
    """

    def __init__(self, path: str, cfg: DataConfig, start_frame: int = 0):
        self.path = path
        self.threads = cfg.decode_threads
        self.start = max(int(start_frame), 0)
        if not os.path.exists(path):
            raise DecodeError(path, "file not found")
        if os.path.isdir(path):
            raise DecodeError(path, "is a directory, expected a video file (DataConfig.media)")
        size = os.path.getsize(path)
        if size == 0:
            raise DecodeError(path, "empty file (0 bytes)")
        self._decodable: int | None = None
        self._frames: np.ndarray | None = None   # whole video, when decord cannot open it
        try:
            self._vr = self._open()
            total = len(self._vr)
            self.reported_frames = total
        except DecodeError as exc:
            # e.g. a truncated file decord refuses: keep what PyAV can decode
            self._vr = None
            self._frames = self._decode_all_pyav(exc)
            total = len(self._frames)
            self._decodable = total
        if total <= 0:
            raise DecodeError(path, "no video frames in the container")
        self.num_frames = max(total - self.start, 0)

    def _decode_all_pyav(self, first_error: DecodeError) -> np.ndarray:
        import av

        frames = []
        self.reported_frames = 0
        try:
            with open(self.path, "rb") as fh, av.open(fh) as container:
                self.reported_frames = int(container.streams.video[0].frames or 0)
                for frame in container.decode(container.streams.video[0]):
                    frames.append(frame.to_ndarray(format="rgb24"))
        except Exception:
            pass  # keep the frames decoded before the damage
        if not frames:
            raise first_error
        return np.stack(frames)

    @property
    def truncation(self) -> str | None:
        """A description when fewer frames decode than the container declares."""
        ok = self._decodable
        if ok is None or ok >= self.reported_frames:
            return None
        return (f"only the first {ok} of {self.reported_frames} frames decode (truncated or "
                f"damaged file); later indices reuse the last good frame")

    def _open(self):
        import decord

        try:
            try:
                return decord.VideoReader(self.path, ctx=decord.cpu(0), num_threads=self.threads)
            except UnicodeEncodeError:  # a non-UTF-8 file name: hand decord the bytes
                with open(self.path, "rb") as f:
                    return decord.VideoReader(io.BytesIO(f.read()), ctx=decord.cpu(0),
                                              num_threads=self.threads)
        except DecodeError:
            raise
        except Exception as exc:  # decord raises DECORDError / RuntimeError
            raise DecodeError(self.path, f"cannot open video ({_short(exc)})") from None

    def read(self, indices: np.ndarray | list[int]) -> torch.Tensor:
        """Frames at ``indices`` (0-based, relative to ``start_frame``) -> (N, 3, H, W) uint8."""
        idx = np.clip(np.asarray(indices, dtype=np.int64), 0, max(self.num_frames - 1, 0))
        if self._decodable is not None:
            idx = np.minimum(idx, self._decodable - 1)
        uniq, inverse = np.unique(idx, return_inverse=True)
        if self._frames is not None:
            batch = self._frames[uniq + self.start]
            return torch.from_numpy(batch[inverse]).permute(0, 3, 1, 2)
        try:
            batch = self._vr.get_batch((uniq + self.start).tolist()).asnumpy()
            if batch.ndim != 4 or batch.shape[0] != len(uniq) or batch.shape[-1] != 3:
                raise RuntimeError(f"decord returned frames of shape {batch.shape}")
        except Exception as exc:
            # a truncated file, or a frame size decord's converter mishandles: decode the
            # stream sequentially with PyAV and clamp to the frames that decode
            batch = self._read_sequential(uniq, exc)
        frames = torch.from_numpy(batch[inverse])
        return frames.permute(0, 3, 1, 2)

    def _read_sequential(self, uniq: np.ndarray, first_error: Exception) -> np.ndarray:
        """Decode frames 0..max(uniq) in order with PyAV; indices past the last decodable
        frame reuse it (and ``num_frames`` shrinks to the decodable count)."""
        import av

        wanted = {int(i) + self.start for i in uniq}
        last = max(wanted)
        got: dict[int, np.ndarray] = {}
        count = 0
        try:
            with open(self.path, "rb") as fh, av.open(fh) as container:
                stream = container.streams.video[0]
                for frame in container.decode(stream):
                    if count in wanted:
                        got[count] = frame.to_ndarray(format="rgb24")
                    count += 1
                    if count > last:
                        break
        except Exception as exc:
            if not got:
                raise DecodeError(self.path, f"frames do not decode ({_short(first_error)}; "
                                  f"{_short(exc)})") from None
        if not got:
            raise DecodeError(self.path, f"frames do not decode ({_short(first_error)})")
        if count <= last:  # the stream ended early: clamp
            self._decodable = max(count - self.start, 1)
        out, last_good = [], None
        for i in sorted(wanted):
            last_good = got.get(i, last_good)
            if last_good is None:
                last_good = got[min(got)]
            out.append(last_good)
        return np.stack(out)


class FrameFolderReader:
    """Reads ``<folder>/<template.format(start + i)>`` JPEG/PNG frames (PIL, libjpeg-turbo).

    With ``frame_template="auto"`` the template (prefix, digit width, extension) and the first
    index are detected from the folder listing. The frame count is the annotation's when it
    gives one, else the number of matching files.
    """

    def __init__(self, path: str, cfg: DataConfig, num_frames: int | None = None,
                 start_frame: int = 0):
        self.path = path
        if not os.path.isdir(path):
            raise DecodeError(path, "frame folder not found" if not os.path.exists(path)
                              else "is a file, expected a frame folder (DataConfig.media)")
        if cfg.frame_template == "auto":
            self.template, first, count = detect_frame_template(path)
        else:
            self.template, first = cfg.frame_template, cfg.frame_start
            count = None if num_frames is not None else _count_matching(path, cfg.frame_template)
        self.first = first + max(int(start_frame), 0)
        n = num_frames if num_frames is not None else count
        if not n:
            raise DecodeError(path, "no frames in the folder")
        self.num_frames = int(n)

    def frame_path(self, i: int) -> str:
        return os.path.join(self.path, self.template.format(self.first + int(i)))

    def read(self, indices: np.ndarray | list[int]) -> torch.Tensor:
        from PIL import Image

        idx = np.clip(np.asarray(indices, dtype=np.int64), 0, self.num_frames - 1)
        uniq, inverse = np.unique(idx, return_inverse=True)
        frames = []
        for i in uniq.tolist():
            fp = self.frame_path(i)
            try:
                with Image.open(fp) as im:
                    frames.append(np.asarray(im.convert("RGB")))
            except FileNotFoundError:
                raise DecodeError(self.path, f"frame {display_path(os.path.basename(fp))} is "
                                  f"missing ({self.num_frames} frames expected)") from None
            except OSError as exc:  # PIL raises OSError subclasses for undecodable images
                raise DecodeError(fp, f"not a decodable image ({_short(exc)})") from None
        shapes = {f.shape for f in frames}
        if len(shapes) > 1:
            raise DecodeError(self.path, f"frames of different sizes {sorted(shapes)}")
        batch = np.stack(frames)[inverse.reshape(-1)]
        return torch.from_numpy(batch).permute(0, 3, 1, 2)


def detect_frame_template(folder: str) -> tuple[str, int, int]:
    """(template, first index, number of frames) of the dominant ``<prefix><digits>.<ext>``
    naming in ``folder``; e.g. ``("img_{:05d}.jpg", 1, 48)``."""
    try:
        names = os.listdir(folder)
    except OSError as exc:
        raise DecodeError(folder, f"cannot list the folder ({exc.strerror})") from None
    groups: Counter = Counter()
    indices: dict[tuple, list[int]] = {}
    for name in names:
        m = _FRAME_RE.match(name)
        if not m:
            continue
        prefix, digits, ext = m.groups()
        width = len(digits) if digits.startswith("0") or len(digits) > 1 else 0
        key = (prefix, width, ext)
        groups[key] += 1
        indices.setdefault(key, []).append(int(digits))
    if not groups:
        raise DecodeError(folder, "no frame images (<prefix><number>.jpg/.png) in the folder")
    key = groups.most_common(1)[0][0]
    prefix, width, ext = key
    prefix_t = prefix.replace("{", "{{").replace("}", "}}")
    template = f"{prefix_t}{{:0{width}d}}.{ext}" if width else f"{prefix_t}{{:d}}.{ext}"
    return template, min(indices[key]), len(indices[key])


def _count_matching(folder: str, template: str) -> int:
    """Number of files in ``folder`` with the template's prefix and extension."""
    probe = template.format(0)
    ext = os.path.splitext(probe)[1]
    prefix = template.split("{", 1)[0]
    try:
        return sum(1 for n in os.listdir(folder) if n.startswith(prefix) and n.endswith(ext))
    except OSError as exc:
        raise DecodeError(folder, f"cannot list the folder ({exc.strerror})") from None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    msg = text[0] if text else type(exc).__name__
    # decord prefixes messages with long C++ stack locations
    msg = re.sub(r"^\[[^\]]*\]\s*", "", msg)
    return msg[:200]
