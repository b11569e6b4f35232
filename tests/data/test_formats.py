"""Parsers of the official annotation formats, against fixtures that copy each format."""
from __future__ import annotations

import pytest

from ean.errors import ConfigError
from ean.data import AnnotationError, DataConfig, load_manifest, parse_annotation
from ean.data.formats import kinetics_clip_name

from .conftest import FIXTURES, frames_array, write_frames, write_video

S1, S2, K4, DV, LI = (FIXTURES / d for d in ("sthv1", "sthv2", "k400", "diving48", "lists"))


def test_sthv1_csv_alphabetical_labels_and_frame_folders(tmp_path):
    write_frames(tmp_path / "100218", frames_array(5))
    cfg = DataConfig(format="sthv1", annotation=str(S1 / "something-something-v1-train.csv"),
                     val_annotation=str(S1 / "something-something-v1-validation.csv"),
                     labels=str(S1 / "something-something-v1-labels.csv"), root=str(tmp_path))
    m = load_manifest(cfg, train=True)
    assert m.class_names == sorted(m.class_names)
    # the comma inside a label is part of the name, not a CSV separator
    assert "Laying something on the table on its side, not upright" in m.class_names
    r = m.records[0]
    assert r.path == str(tmp_path / "100218")
    assert r.label_name == "Pulling something from left to right"
    assert r.label == m.class_names.index(r.label_name) == 3
    assert r.num_frames is None and r.source.endswith("something-something-v1-train.csv:1")
    val = load_manifest(cfg, train=False)
    assert [x.label_name for x in val.records] == [
        "Pulling something from right to left",
        "Laying something on the table on its side, not upright"]


def test_sthv1_malformed_lines_name_file_and_line(tmp_path):
    cfg = DataConfig(format="sthv1", annotation=str(S1 / "something-something-v1-malformed.csv"),
                     labels=str(S1 / "something-something-v1-labels.csv"), root=str(tmp_path))
    with pytest.raises(AnnotationError) as err:
        load_manifest(cfg)
    msg = str(err.value)
    assert "something-something-v1-malformed.csv:2" in msg and "malformed" in msg
    assert "something-something-v1-malformed.csv:3" in msg and "unknown label 'Juggling something'" in msg
    records, problems = parse_annotation(cfg.annotation, cfg)
    assert len(records) == 1 and len(problems) == 2
    skipped = load_manifest(cfg.override({"on_bad_annotation": "skip"}))
    assert len(skipped) == 1


def test_sthv2_json_template_brackets_removed_and_media_resolution(tmp_path):
    write_video(tmp_path / "42326.mp4", frames_array(6))
    write_frames(tmp_path / "100904", frames_array(6), "{:06d}.jpg")
    cfg = DataConfig(format="sthv2", annotation=str(S2 / "something-something-v2-train.json"),
                     labels=str(S2 / "something-something-v2-labels.json"), root=str(tmp_path))
    m = load_manifest(cfg)
    assert m.num_classes == 5
    names = [r.label_name for r in m.records]
    assert names == ["Holding something next to something", "Pushing something from left to right",
                     "Moving something up"]
    assert [r.label for r in m.records] == [1, 3, 2]
    # existing video found by extension, frame folder preferred as-is, missing -> first candidate
    assert m.records[1].path == str(tmp_path / "42326.mp4")
    assert m.records[2].path == str(tmp_path / "100904")
    assert m.records[0].path == str(tmp_path / "78687.mp4")


def test_sthv2_test_json_has_no_labels(tmp_path):
    cfg = DataConfig(format="sthv2", annotation=str(S2 / "something-something-v2-test.json"),
                     labels=str(S2 / "something-something-v2-labels.json"), root=str(tmp_path))
    m = load_manifest(cfg)
    assert [r.label for r in m.records] == [-1, -1]


def test_sthv2_labels_file_order_vs_alphabetical(tmp_path):
    labels = tmp_path / "labels.json"
    labels.write_text('{"b thing": "0", "a thing": "1"}')
    ann = tmp_path / "train.json"
    ann.write_text('[{"id": "1", "template": "a thing"}]')
    alpha = load_manifest(DataConfig(format="sthv2", annotation=str(ann), labels=str(labels)))
    fileo = load_manifest(DataConfig(format="sthv2", annotation=str(ann), labels=str(labels),
                                     label_order="file"))
    assert alpha.class_names == ["a thing", "b thing"] and alpha.records[0].label == 0
    assert fileo.class_names == ["b thing", "a thing"] and fileo.records[0].label == 1


def test_kinetics_csv_clip_names_and_class_folders(tmp_path):
    assert kinetics_clip_name("0347ZoDXyP0", 14, 24) == "0347ZoDXyP0_000014_000024"
    write_video(tmp_path / "air_drumming" / "--nQbRBEz2s_000104_000114.mp4", frames_array(4))
    write_video(tmp_path / "-0nC4XbTlbk_000003_000013.mp4", frames_array(4))
    cfg = DataConfig(format="k400", annotation=str(K4 / "kinetics_400_train.csv"),
                     val_annotation=str(K4 / "kinetics_400_val.csv"), root=str(tmp_path))
    m = load_manifest(cfg)
    assert m.class_names == ["abseiling", "air drumming", "petting animal (not cat)"]
    assert m.records[0].path == str(tmp_path / "abseiling" / "0347ZoDXyP0_000014_000024.mp4")
    assert m.records[1].path == str(tmp_path / "air_drumming" / "--nQbRBEz2s_000104_000114.mp4")
    assert m.records[2].path == str(tmp_path / "-0nC4XbTlbk_000003_000013.mp4")
    assert [r.label for r in m.records] == [0, 1, 2]
    # validation uses the training class list
    assert [r.label for r in load_manifest(cfg, train=False).records] == [0, 1]
    names = tmp_path / "names.txt"
    names.write_text("abseiling\nair drumming\n")
    test = load_manifest(DataConfig(format="k400", annotation=str(K4 / "kinetics_400_test.csv"),
                                    labels=str(names), root=str(tmp_path)))
    assert [r.label for r in test.records] == [-1]
    # a class-folder directory instead of a CSV
    folders = load_manifest(DataConfig(format="k400", annotation=str(tmp_path)))
    assert folders.class_names == ["air_drumming"] and len(folders) == 1


def test_kinetics_bad_header_and_fields(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("label,youtube_id\nabseiling,xyz\n")
    names = tmp_path / "names.txt"
    names.write_text("abseiling\n")
    with pytest.raises(AnnotationError, match=r"bad.csv:1: .*header"):
        load_manifest(DataConfig(format="k400", annotation=str(bad), labels=str(names)))
    bad.write_text("label,youtube_id,time_start,time_end,split\nabseiling,xyz,a,10,train\n"
                   "abseiling,xyz,1,11\n")
    _, problems = parse_annotation(str(bad), DataConfig(format="k400", annotation=str(bad)),
                                   ["abseiling"])
    assert [p.line for p in problems] == [2, 3]


@pytest.mark.parametrize("ann", ["Diving48_V2_train.json", "Diving48_train.json"])
def test_diving48_v1_v2_json_and_vocabulary(tmp_path, ann):
    cfg = DataConfig(format="diving48", annotation=str(DV / ann), labels=str(DV / "Diving48_vocab.json"),
                     root=str(tmp_path), on_bad_annotation="skip")
    m = load_manifest(cfg)
    assert m.class_names[0] == "Back 15som 05Twis FREE" and m.num_classes == 4
    if ann == "Diving48_V2_train.json":
        assert [(r.label, r.num_frames) for r in m.records] == [(0, 76), (3, 40)]
        assert m.records[0].path == str(tmp_path / "-mmq0PT-u8k_00155.mp4")
    else:  # label 7 is out of range for the 4-word fixture vocabulary
        assert len(m.records) == 1 and "out of range" in m.problems[0].reason


def test_rawframes_and_video_lists(tmp_path):
    labels = tmp_path / "category.txt"
    labels.write_text("\n".join(f"c{173 - i:03d}" for i in range(174)) + "\n")  # not sorted
    cfg = DataConfig(format="rawframes", annotation=str(LI / "train_rawframes.txt"),
                     root=str(tmp_path), labels=str(labels))
    m = load_manifest(cfg)
    assert [(r.path, r.num_frames, r.label) for r in m.records] == [
        (str(tmp_path / "100218"), 60, 86), (str(tmp_path / "48032"), 45, 16),
        (str(tmp_path / "folder with space"), 30, 3)]
    assert m.class_names[0] == "c173" and m.records[0].label_name == "c087"  # file order kept
    _, problems = parse_annotation(str(LI / "malformed_rawframes.txt"), cfg)
    assert [p.line for p in problems] == [2, 3, 4]
    assert "999 out of range" in problems[2].reason
    v = load_manifest(DataConfig(format="videos", annotation=str(LI / "videos.txt"), root=str(tmp_path)))
    assert [(r.path, r.label) for r in v.records] == [(str(tmp_path / "clips/a.mp4"), 0),
                                                       (str(tmp_path / "clips/b c.mp4"), 2)]
    assert v.class_names == ["class_0", "class_1", "class_2"]


def test_non_utf8_names_in_a_list_survive(tmp_path):
    ann = tmp_path / "list.txt"
    ann.write_bytes(b"caf\xe9.mp4 0\n")
    m = load_manifest(DataConfig(format="videos", annotation=str(ann), root=str(tmp_path)))
    import os
    assert os.fsencode(m.records[0].path).endswith(b"caf\xe9.mp4")


def test_config_errors_name_the_setting():
    with pytest.raises(ConfigError, match=r"^format: 'ucf' is not allowed") as info:
        DataConfig(format="ucf")
    assert "sthv1" in info.value.allowed
    with pytest.raises(ConfigError, match=r"^flip: 'sometimes'"):
        DataConfig(flip="sometimes")
    with pytest.raises(ConfigError, match=r"^run.yaml: data.segments: unknown setting") as info:
        DataConfig.from_dict({"segments": 8}, file="run.yaml", prefix="data.")
    assert "num_segments" in info.value.allowed
    with pytest.raises(ConfigError, match=r"^resize: must be None"):
        DataConfig(resize=[240])
    with pytest.raises(ConfigError, match=r"^frame_template: is not a format string"):
        DataConfig(frame_template="{0[0]}.jpg")
    with pytest.raises(ConfigError, match=r"^data.num_segments: must be int, got 'eight'"):
        DataConfig.from_dict({"num_segments": "eight"}, prefix="data.")
    cfg = DataConfig(format="sthv1").resolved()
    assert cfg.resize == [240, 320] and cfg.flip == "swap"
    cfg = DataConfig(format="k400").resolved()
    assert cfg.resize == 256 and cfg.flip == "all"
    assert DataConfig.from_dict(DataConfig(num_segments=16).to_dict()).num_segments == 16
