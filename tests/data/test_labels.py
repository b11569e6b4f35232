"""Flip label pairs derived from the label names."""
from __future__ import annotations

from ean.data import direction_classes, flip_label_map, flip_pairs, read_class_names
from ean.data.synth import CLASS_NAMES

from .conftest import FIXTURES


def test_something_174_pairs_are_derived_from_names():
    names = read_class_names(FIXTURES / "something_categories_174.txt", "alphabetical")
    assert len(names) == 174
    assert flip_pairs(names) == [(86, 87), (93, 94), (166, 167)]
    m = flip_label_map(names)
    assert m[86] == 87 and m[87] == 86 and m[166] == 167
    # "pulling it right out" mentions "right" but has no mirror class
    plug = names.index("Plugging something into something but pulling it right out as you remove your hand")
    assert m[plug] == plug
    assert direction_classes(names) == {86, 87, 93, 94, 166, 167}


def test_synthetic_classes_have_mirror_pairs():
    pairs = {(CLASS_NAMES[a], CLASS_NAMES[b]) for a, b in flip_pairs(CLASS_NAMES)}
    assert pairs == {
        ("Moving something from left to right", "Moving something from right to left"),
        ("Pushing something from left to right", "Pushing something from right to left"),
        ("Turning the camera left while filming something",
         "Turning the camera right while filming something"),
        ("Spinning something clockwise", "Spinning something counterclockwise"),
    }


def test_labels_json_and_vocab_files(tmp_path):
    p = tmp_path / "labels.json"
    p.write_text('{"b": "1", "a": "0"}')
    assert read_class_names(p, "file") == ["a", "b"]
    v = tmp_path / "vocab.json"
    v.write_text('[["Back", "15som"], ["Forward", "NoTwis"]]')
    assert read_class_names(v) == ["Back 15som", "Forward NoTwis"]
