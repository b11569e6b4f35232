"""Our Params/GMACs for every Params/FLOPs cell of the paper's tables.

The paper's values and the model configuration of each row live in
``data/paper/complexity.csv`` (columns: table, row, preset, overrides as JSON, views,
paper_params_m, paper_gflops, note). This module computes ours beside them, for the
authors' code (``semantics: authors``) and for the paper's text (``semantics: paper``), and
what each silent reading of the text (``docs/paper_readings.md``) does to the paper
semantics' EAN_8F(RGB) (:func:`readings_effect`).
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from ean.analysis.flops import count_config
from ean.models.config import ModelConfig
from ean.models.presets import get_preset

DEFAULT_TABLE = Path(__file__).resolve().parents[2] / "data" / "paper" / "complexity.csv"


@dataclass
class PaperRow:
    table: int
    row: str
    preset: str
    overrides: dict
    views: int
    paper_params_m: Optional[float]
    paper_gflops: Optional[float]
    note: str

    def config(self, semantics: str = "authors") -> ModelConfig:
        return get_preset(self.preset, set={**self.overrides, "semantics": semantics})


def read_rows(path: Path = DEFAULT_TABLE) -> list[PaperRow]:
    rows = []
    with open(path, newline="") as f:
        for i, rec in enumerate(csv.DictReader(f), start=2):
            try:
                rows.append(PaperRow(
                    table=int(rec["table"]), row=rec["row"], preset=rec["preset"],
                    overrides=json.loads(rec["overrides"] or "{}"), views=int(rec["views"] or 1),
                    paper_params_m=float(rec["paper_params_m"]) if rec["paper_params_m"] else None,
                    paper_gflops=float(rec["paper_gflops"]) if rec["paper_gflops"] else None,
                    note=rec.get("note") or ""))
            except (ValueError, KeyError) as exc:
                raise ValueError(f"{path}:{i}: malformed row: {exc}") from exc
    return rows


def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


def _count(cfg_dict: dict) -> tuple[int, int]:
    c = count_config(ModelConfig.from_dict(cfg_dict))
    return c.params, c.macs


def count_many(configs: list[ModelConfig], workers: int = 2, desc: str = "counting") -> list[tuple[int, int]]:
    """(params, MACs) of each config; distinct configs are counted once, in ``workers``
    processes (fvcore's tracing runs on one core)."""
    from concurrent.futures import ProcessPoolExecutor

    from tqdm import tqdm

    keys = [json.dumps(c.to_dict(), sort_keys=True) for c in configs]
    unique = list(dict.fromkeys(keys))
    with ProcessPoolExecutor(max_workers=max(1, workers), initializer=_one_thread) as pool:
        counted = list(tqdm(pool.map(_count, [json.loads(k) for k in unique]), total=len(unique),
                            desc=desc, unit="model"))
    found = dict(zip(unique, counted))
    return [found[k] for k in keys]


def compute(rows: Iterable[PaperRow], semantics: str = "authors", workers: int = 2) -> list[dict]:
    """One record per row: the paper's values and ours (params in M, GMACs x views)."""
    rows = list(rows)
    counts = count_many([r.config(semantics) for r in rows], workers, f"counting ({semantics})")
    out = []
    for r, (params, macs) in zip(rows, counts):
        out.append({
            "table": r.table, "row": r.row, "paper_params_m": r.paper_params_m,
            "ours_params_m": round(params / 1e6, 2), "paper_gflops": r.paper_gflops,
            "ours_gmacs": round(macs * r.views / 1e9, 2), "params": params, "macs": macs * r.views,
            "note": r.note})
    return out


# the switchable readings of docs/paper_readings.md: (id, switch, the alternative to `paper`'s pick)
READINGS = [
    ("S1", "soi.pos_embedding", "hw"),
    ("S1", "soi.pos_embedding", "none"),
    ("S2", "soi.norm", "pre"),
    ("S3", "soi.ffn_ratio", 1),
    ("S4", "soi.merge", "sum"),
]
READINGS_LMC = [
    ("S9", "lmc.hm_norm", False),
    ("S10", "lmc.hm_groups", 8),
]


def with_semantics(records_authors: list[dict], records_paper: list[dict]) -> list[dict]:
    """The authors' records with the paper semantics' counts as extra columns."""
    out = []
    for a, p in zip(records_authors, records_paper):
        out.append({**a, "paper_sem_params_m": p["ours_params_m"], "paper_sem_gmacs": p["ours_gmacs"]})
    return out


def readings_effect(workers: int = 2) -> list[dict]:
    """Params/GMACs of the paper semantics' EAN_8F(RGB) (and RGB+LMC for the LMC readings)
    with each switchable reading changed to its alternative, beside the pick."""
    jobs = []
    for preset, readings in (("ean_r50_8f_rgb", READINGS), ("ean_r50_8f_rgb_lmc", READINGS_LMC)):
        jobs.append(("pick", preset, "", ""))
        jobs += [(rid, preset, key, value) for rid, key, value in readings]
    configs = [get_preset(p, set={"semantics": "paper", **({k: v} if k else {})}) for _, p, k, v in jobs]
    counts = count_many(configs, workers, "counting (readings)")
    out, base = [], {}
    for (rid, preset, key, value), (params, macs) in zip(jobs, counts):
        if rid == "pick":
            base[preset] = (params, macs)
        p0, m0 = base[preset]
        out.append({"reading": rid, "model": preset, "switch": key, "value": value,
                    "params_m": round(params / 1e6, 2), "gmacs": round(macs / 1e9, 2),
                    "delta_params_m": round((params - p0) / 1e6, 2), "delta_gmacs": round((macs - m0) / 1e9, 2)})
    return out


# named parts of the model whose parameters the notebook compares between the semantics
PARTS = {
    "EAB conv paths": lambda m: [p for k, e in m.eabs.items() for n, p in e.named_parameters() if not n.startswith("esp.")],
    "ESP-Nets": lambda m: [p for e in m.eabs.values() if e.esp is not None for p in e.esp.parameters()],
    "Saliency-Net": lambda m: [p for s in m.sois.values() if s.saliency is not None for p in s.saliency.parameters()],
    "positional embedding": lambda m: [s.pos_embedding for s in m.sois.values() if s.pos_embedding is not None],
    "transformer": lambda m: [p for s in m.sois.values() for p in s.blocks.parameters()],
    "SOI-Tr squeeze / expand / BN": lambda m: [p for s in m.sois.values() for mod in (s.squeeze, s.expand, s.out_bn)
                                               for p in mod.parameters()],
    "LMC": lambda m: list(m.lmc.parameters()) if m.lmc is not None else [],
    "backbone + classifier": lambda m: list(m.backbone.parameters()) + list(m.fc.parameters()),
}


def parts_breakdown(preset: str = "ean_r50_8f_rgb_lmc") -> list[dict]:
    """Parameters (M) of each part of ``preset`` under both semantics."""
    import torch

    from ean.models.ean import build_model

    counts = {}
    for semantics in ("authors", "paper"):
        torch.manual_seed(0)
        model = build_model(get_preset(preset, set={"semantics": semantics}))
        counts[semantics] = {name: sum(p.numel() for p in get(model)) for name, get in PARTS.items()}
        counts[semantics]["total"] = sum(p.numel() for p in model.parameters())
    return [{"part": name, "authors_m": round(counts["authors"][name] / 1e6, 3),
             "paper_m": round(counts["paper"][name] / 1e6, 3),
             "delta_m": round((counts["paper"][name] - counts["authors"][name]) / 1e6, 3)}
            for name in [*PARTS, "total"]]


def to_markdown(records: list[dict]) -> str:
    both = "paper_sem_params_m" in records[0]
    head = "| table | row | paper Params (M) | ours Params (M) | paper GFLOPs | ours GMACs |"
    rule = "|---|---|---|---|---|---|"
    if both:
        head += " ours Params (M), paper text | ours GMACs, paper text |"
        rule += "---|---|"
    lines = [head + " note |", rule + "---|"]
    fmt = lambda v: "–" if v is None else f"{v:g}"
    for r in records:
        line = (f"| {r['table']} | {r['row']} | {fmt(r['paper_params_m'])} | {r['ours_params_m']:.2f} | "
                f"{fmt(r['paper_gflops'])} | {r['ours_gmacs']:.2f} |")
        if both:
            line += f" {r['paper_sem_params_m']:.2f} | {r['paper_sem_gmacs']:.2f} |"
        lines.append(line + f" {r['note']} |")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Our Params/GMACs beside every Params/FLOPs cell of the paper")
    parser.add_argument("--table", type=Path, default=DEFAULT_TABLE, help="the paper's rows (CSV)")
    parser.add_argument("--semantics", choices=["authors", "paper", "both"], default="both",
                        help="whose model to count; both: the authors' code with the paper text's beside")
    parser.add_argument("--markdown", type=Path, help="write the table as Markdown here")
    parser.add_argument("--csv", type=Path, help="write the records as CSV here")
    parser.add_argument("--readings-csv", type=Path,
                        help="also write what each silent reading does to the paper semantics here")
    args = parser.parse_args(argv)
    rows = read_rows(args.table)
    if args.semantics == "both":
        records = with_semantics(compute(rows), compute(rows, "paper"))
    else:
        records = compute(rows, args.semantics)
    if args.readings_csv:
        readings = readings_effect()
        args.readings_csv.parent.mkdir(parents=True, exist_ok=True)
        with open(args.readings_csv, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(readings[0]))
            writer.writeheader()
            writer.writerows(readings)
    text = to_markdown(records)
    print(text)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text + "\n")
    if args.csv:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        with open(args.csv, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(records[0]))
            writer.writeheader()
            writer.writerows(records)
    return 0


if __name__ == "__main__":  # python -m ean.analysis.paper_complexity
    raise SystemExit(main())
