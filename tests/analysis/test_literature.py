"""The paper's numbers kept as data parse, and equal the values transcribed from the paper."""

import pytest

from ean.analysis.literature import LITERATURE, literature, paper_accuracy
from ean.analysis.paper_complexity import read_rows


def find(rows, key, name, **extra):
    hits = [r for r in rows if r[key] == name and all(r[k] == v for k, v in extra.items())]
    assert len(hits) == 1, (name, extra, hits)
    return hits[0]


def test_every_table_parses_with_the_paper_row_count():
    counts = {1: 36, 2: 27, 3: 6, 4: 12}
    for table in LITERATURE:
        rows = literature(table)
        assert len(rows) == counts[table]
        assert all(r["source"] == f"EAN (IJCV 2022) Table {table}" for r in rows)
        assert {r["is_ean"] for r in rows} == {0, 1}


def test_table1_values():
    rows = literature(1)
    tdn = find(rows, "method", "TDN_8F(RGB+SDM)")
    assert (tdn["gflops"], tdn["sthv1_top1"], tdn["sthv1_top5"], tdn["sthv2_top1"], tdn["sthv2_top5"]) == (36, 52.3, 80.6, 64.0, 88.8)
    ean = find(rows, "method", "EAN_En(RGB+LMC)")
    assert (ean["gflops"], ean["sthv1_top1"], ean["sthv2_top1"], ean["sthv2_top5"]) == (111, 57.2, 68.8, 91.4)
    assert find(rows, "method", "I3D + STIN + OIE")["sthv1_top1"] is None
    assert find(rows, "method", "STM", frames="16×30")["gflops"] == 2010
    assert find(rows, "method", "TSN")["sthv2_top1"] == 33.4


def test_tables_2_3_4_values():
    k400 = literature(2)
    assert find(k400, "method", "SlowFast+NL")["top1"] == 79.8
    assert find(k400, "method", "TDN_En(RGB+SDM)", backbone="ResNet-101")["gflops"] == "198×30"
    assert find(k400, "method", "EAN_8F(RGB+LMC)")["top5"] == 93.3
    assert find(k400, "method", "TSM", frames="8×30")["top5"] is None
    assert find(literature(3), "model", "ResNet baseline")["sthv1_top1"] == 48.6
    diving = literature(4)
    assert find(diving, "method", "GST [36]")["top1"] == 38.8
    assert [r["top1"] for r in diving if r["is_ean"]] == [40.4, 41.7]


def test_ablation_accuracy_matches_the_paper_and_the_complexity_rows():
    assert (find(paper_accuracy(9), "row", "Static Matrix")["top1"], find(paper_accuracy(9), "row", "Static Matrix")["top5"]) == (51.3, 79.2)
    assert find(paper_accuracy(10), "row", "Without Max Pool")["top1"] == 50.6
    assert find(paper_accuracy(6), "row", "EAB stage 1~2 / SOI-Tr stage 3~5")["top5"] == 78.2
    assert find(paper_accuracy(5), "row", "ResNet baseline")["top5"] == 77.5
    complexity = {(r.table, r.row) for r in read_rows() if r.table >= 5}
    assert {(r["table"], r["row"]) for r in paper_accuracy()} == complexity
    rows = {(r.table, r.row): r for r in read_rows()}
    assert (rows[(10, "Without dilation")].paper_params_m, rows[(10, "Without dilation")].paper_gflops) == (37.2, 37.5)
    assert (rows[(6, "EAB stage 1~5 / no SOI-Tr")].paper_params_m, rows[(5, "ResNet+SOI-Tr")].paper_gflops) == (65.8, 33.8)


def test_malformed_files_are_reported_with_file_and_line(tmp_path):
    (tmp_path / "literature").mkdir()
    path = tmp_path / "literature" / "table04_diving48.csv"
    path.write_text("method,pretrain,frames,top1,is_ean,source\nTSN,ImageNet,8\n")
    with pytest.raises(ValueError, match=r"table04_diving48.csv:2"):
        literature(4, root=tmp_path)
    with pytest.raises(KeyError):
        literature(7)
