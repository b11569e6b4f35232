"""Class names: reading label files, the label order, and horizontal-flip label pairs.

Label order. For Something-Something V1/V2 the class index is the position of the label text
in the **alphabetically sorted** list of the 174 labels (Python ``sorted``, i.e. by code
point), as in the authors' code; a released checkpoint's classifier rows follow that order,
so a different order silently scrambles its predictions. The official SSv2 ``labels.json``
already lists the labels in this order.

Flip pairs. A horizontal flip turns "... from left to right" into "... from right to left",
"Turning the camera left ..." into "... right ..." and "... clockwise" into "...
counterclockwise". The pairs are derived from the label names: swapping the words ``left``
and ``right`` (or ``clockwise`` and ``counterclockwise``) in a name must give another
existing name.
On the 174 Something labels this yields exactly 86<->87, 93<->94 and 166<->167
("pulling it right out" has no partner, so it is not a direction class).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from .manifest import AnnotationError

_SWAP = {"left": "right", "right": "left", "clockwise": "counterclockwise", "counterclockwise": "clockwise"}
_MIRRORED = re.compile(r"\b(" + "|".join(_SWAP) + r")\b", re.IGNORECASE)


def _same_case(word: str, like: str) -> str:
    return word.upper() if like.isupper() else word.capitalize() if like[0].isupper() else word


def mirror_name(name: str) -> str:
    """The label name with the words left/right (and clockwise/counterclockwise) exchanged,
    in the same case."""
    return _MIRRORED.sub(lambda m: _same_case(_SWAP[m.group(0).lower()], m.group(0)), name)


def flip_label_map(class_names: list[str]) -> list[int]:
    """``m[c]``: the label of class ``c`` after a horizontal flip (``c`` when unaffected).

    A class is paired with the class whose name is its name with left/right exchanged, when
    that class exists. Names are compared case-insensitively with runs of spaces collapsed.
    """
    def key(s: str) -> str:
        return " ".join(s.lower().split())

    index = {key(n): i for i, n in enumerate(class_names)}
    mapping = list(range(len(class_names)))
    for i, name in enumerate(class_names):
        mirrored = key(mirror_name(name))
        j = index.get(mirrored)
        if j is not None and j != i:
            mapping[i] = j
    return mapping


def flip_pairs(class_names: list[str]) -> list[tuple[int, int]]:
    """The (a, b) label pairs, a < b, that a horizontal flip exchanges."""
    m = flip_label_map(class_names)
    return sorted({(min(i, j), max(i, j)) for i, j in enumerate(m) if i != j})


def direction_classes(class_names: list[str]) -> set[int]:
    """Classes whose meaning depends on left/right (those with a flip partner)."""
    return {i for i, j in enumerate(flip_label_map(class_names)) if i != j}


def something_template_to_label(template: str) -> str:
    """SSv2 template -> label text: ``"Putting [something] onto [something]"`` ->
    ``"Putting something onto something"`` (the brackets are removed)."""
    return template.replace("[", "").replace("]", "")


def read_class_names(path: str | Path, order: str = "file") -> list[str]:
    """Read class names from a labels file.

    Accepted: SSv2 ``labels.json`` (``{name: "index"}``), a JSON list of names, the Diving48
    vocabulary (a JSON list of lists of words, joined with spaces), a text/CSV file with one
    name per line (SSv1 labels CSV, ``category.txt``). With ``order="alphabetical"`` the
    names are sorted; with ``"file"`` the file's order (or the JSON indices) is kept.

    Raises:
        FileNotFoundError: the file does not exist.
        AnnotationError: the file cannot be understood (naming file and line/entry).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"labels file not found: {path}")
    text = _read_text(path)
    names: list[str]
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise AnnotationError(str(path), exc.lineno, f"invalid JSON: {exc.msg}") from None
        if isinstance(data, dict):
            try:
                pairs = sorted(((int(v), str(k)) for k, v in data.items()))
            except (TypeError, ValueError):
                raise AnnotationError(str(path), None,
                                      "a labels JSON object must map name -> index") from None
            idx = [i for i, _ in pairs]
            if idx != list(range(len(idx))):
                raise AnnotationError(str(path), None,
                                      f"label indices are not 0..{len(idx) - 1} without gaps")
            names = [n for _, n in pairs]
        elif isinstance(data, list):
            names = []
            for k, item in enumerate(data):
                if isinstance(item, str):
                    names.append(item)
                elif isinstance(item, list) and all(isinstance(w, str) for w in item):
                    names.append(" ".join(item))
                else:
                    raise AnnotationError(str(path), None,
                                          f"entry #{k} is neither a name nor a list of words")
        else:
            raise AnnotationError(str(path), None, "expected a JSON object or list")
    else:
        names = []
        for lineno, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line:
                continue
            if len(line) >= 2 and line[0] == line[-1] == '"':
                line = line[1:-1].replace('""', '"')  # a quoted one-column CSV cell
            names.append(line)
    dup = sorted({n for n in names if names.count(n) > 1}) if len(set(names)) != len(names) else []
    if dup:
        raise AnnotationError(str(path), None, f"duplicate class names: {dup[:5]}")
    if not names:
        raise AnnotationError(str(path), None, "no class names")
    return sorted(names) if order == "alphabetical" else names


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise AnnotationError(str(path), line, f"not valid UTF-8 ({exc.reason})") from None
