"""Per-run results -> per-variant accuracy -> the paper's tables with our columns beside.

    runs = load_runs(params)                         # one row per finished run
    acc = variant_accuracy(runs)                     # mean / std / n per variant
    table = build_table("05", params)                # a Table: .frame (pandas), .markdown()

Every number in a table is read from a file written by code: the paper's and the
literature's values from ``data/paper`` and ``data/literature`` (transcribed from the
paper), Params/GMACs at the paper's scale from the model (``ean.analysis``), and accuracy
from the runs' ``summary.json`` / ``val_scores.npz``. Accuracy is the validation top-1/top-5
after the last epoch (not the best epoch, which would select on the validation set).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from ean.analysis.literature import literature, paper_accuracy
from ean.study.params import StudyParams, run_name

TITLES = {
    "01": "Table 1: comparison with the state of the art on Something-Something V1 and V2",
    "02": "Table 2: comparison with the state of the art on Kinetics-400",
    "03": "Table 3: key components (local / global / motion modelling)",
    "04": "Table 4: Diving48",
    "05": "Table 5: EAB and SOI-Tr on the ResNet baseline",
    "06": "Table 6: where to place EAB and SOI-Tr",
    "07": "Table 7: how SOI-Tr chooses its objects",
    "08": "Table 8: the spatial-temporal block",
    "09": "Table 9: how the kernel groups are fused",
    "10": "Table 10: the details of EAB",
    "paper_vs_code": "Paper text vs the authors' code",
}
# literature CSV columns -> our column names, per table
LITERATURE_COLUMNS = {
    1: {"sthv1_top1": "paper V1 top-1", "sthv1_top5": "paper V1 top-5",
        "sthv2_top1": "paper V2 top-1", "sthv2_top5": "paper V2 top-5", "gflops": "paper GFLOPs"},
    2: {"top1": "paper top-1", "top5": "paper top-5", "gflops": "paper GFLOPs"},
    3: {"sthv1_top1": "paper V1 top-1"},
    4: {"top1": "paper top-1"},
}
LITERATURE_NAME = {1: "method", 2: "method", 3: "model", 4: "method"}


# ---------------------------------------------------------------------------- runs
def load_runs(params: StudyParams, reports_dir: Optional[Path] = None) -> pd.DataFrame:
    """One row per run of the profile that has a summary: variant, seed, top1, top5, ..."""
    reports_dir = Path(reports_dir or params.reports_dir)
    rows = []
    for run, (variant, seed) in params.runs().items():
        path = reports_dir / "runs" / run / "summary.json"
        if not path.is_file():
            continue
        s = json.loads(path.read_text())
        last = s.get("last") or {}
        rows.append({"run": run, "variant": variant, "seed": seed,
                     "top1": last.get("top1"), "top5": last.get("top5"),
                     "best_top1": (s.get("best") or {}).get("top1"),
                     "epochs": s.get("epochs_done"), "completed": s.get("completed"),
                     "num_params": s.get("num_params"), "wall_s": s.get("wall_time_s"),
                     "clips_per_s": s.get("train_clips_per_s")})
    return pd.DataFrame(rows, columns=["run", "variant", "seed", "top1", "top5", "best_top1", "epochs",
                                       "completed", "num_params", "wall_s", "clips_per_s"])


def missing_runs(params: StudyParams, variants: Sequence[str], reports_dir: Optional[Path] = None) -> list[str]:
    reports_dir = Path(reports_dir or params.reports_dir)
    return [r for v in variants for r in params.variants[v].run_names()
            if not (reports_dir / "runs" / r / "summary.json").is_file()]


def ensemble_accuracy(params: StudyParams, members: Sequence[str],
                      reports_dir: Optional[Path] = None) -> pd.DataFrame:
    """Per seed, top-1/top-5 of the average logits of ``members`` (seeds they share)."""
    from ean.engine.evaluate import load_scores

    reports_dir = Path(reports_dir or params.reports_dir)
    seeds = set.intersection(*(set(params.variants[m].seeds) for m in members))
    rows = []
    for seed in sorted(seeds):
        paths = [reports_dir / "runs" / run_name(m, seed) / "val_scores.npz" for m in members]
        if not all(p.is_file() for p in paths):
            continue
        parts = [load_scores(p) for p in paths]
        order = [np.argsort(p["indices"]) for p in parts]
        scores = sum(p["scores"][o] for p, o in zip(parts, order)) / len(parts)
        labels = parts[0]["labels"][order[0]]
        top5 = np.argsort(-scores, axis=1)[:, :5]
        rows.append({"variant": "+".join(members), "seed": seed,
                     "top1": 100.0 * float((top5[:, 0] == labels).mean()),
                     "top5": 100.0 * float((top5 == labels[:, None]).any(axis=1).mean())})
    return pd.DataFrame(rows, columns=["variant", "seed", "top1", "top5"])


def variant_accuracy(runs: pd.DataFrame) -> pd.DataFrame:
    """mean / std (sample, ddof=1) / n of top-1 and top-5 per variant."""
    if runs.empty:
        return pd.DataFrame(columns=["top1_mean", "top1_std", "top5_mean", "top5_std", "n"])
    g = runs.groupby("variant", sort=False)
    out = pd.DataFrame({"top1_mean": g["top1"].mean(), "top1_std": g["top1"].std(ddof=1),
                        "top5_mean": g["top5"].mean(), "top5_std": g["top5"].std(ddof=1),
                        "n": g["top1"].count()})
    return out


def mean_std(mean: float, std: float, n: int) -> str:
    if n is None or n == 0 or mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return ""
    if n == 1 or std is None or (isinstance(std, float) and math.isnan(std)):
        return f"{mean:.1f} (1 seed)"
    return f"{mean:.1f} ± {std:.1f}"


# -------------------------------------------------------------------------- tables
@dataclass
class Table:
    """One regenerated table: ``frame`` (display), ``numbers`` (machine-readable), notes."""

    id: str
    title: str
    frame: pd.DataFrame
    numbers: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        body = self.frame.copy()
        for col in body.columns:
            if col != "row":   # a row may be called "None" (Table 7)
                body[col] = body[col].map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v))
                                          else str(v))
        lines = [f"# {self.title}", "", body.to_markdown(index=False), ""]
        lines += [f"* {n}" for n in self.notes]
        return "\n".join(lines).rstrip() + "\n"

    def write(self, out_dir: str | Path) -> tuple[Path, Path]:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        stem = self.id if self.id == "paper_vs_code" else f"table{self.id}"
        md, csv = out_dir / f"{stem}.md", out_dir / f"{stem}.csv"
        md.write_text(self.markdown())
        self.numbers.to_csv(csv, index=False)
        return md, csv


def _paper_rows(tid: str) -> tuple[list[str], dict[str, dict]]:
    """Row names in the paper's order and their paper columns."""
    n = int(tid)
    if n in LITERATURE_COLUMNS:
        cols, key = LITERATURE_COLUMNS[n], LITERATURE_NAME[n]
        recs = literature(n)
        names, values = [], {}
        for r in recs:
            name = str(r[key])
            if name in values:  # same method name twice (e.g. two backbones): disambiguate
                name = f"{name} ({r.get('backbone') or r.get('pretrain') or len(names)})"
            names.append(name)
            values[name] = {c: r.get(src) for src, c in cols.items()}
            for extra in ("group", "backbone", "pretrain", "frames", "input_clip"):
                if extra in r:
                    values[name][extra] = r[extra]
        return names, values
    recs = paper_accuracy(n)
    names = [str(r["row"]) for r in recs]
    dataset = recs[0]["dataset"] if recs else ""
    values = {str(r["row"]): {f"paper top-1 ({dataset})": r["top1"], f"paper top-5 ({dataset})": r["top5"]}
              for r in recs}
    return names, values


COMPLEXITY_CSV = Path("reports/tables/complexity.csv")


def _complexity(tid: str) -> dict[str, dict]:
    """Our Params/GMACs at the paper's scale for the rows of table ``tid``: read from the
    ``complexity`` stage's output (computed from the models), computed here if it is absent."""
    if not tid.isdigit():
        return {}
    if COMPLEXITY_CSV.is_file():
        frame = pd.read_csv(COMPLEXITY_CSV, keep_default_na=False, na_values=[""])
        records = frame[frame["table"] == int(tid)].to_dict("records")
    else:
        from ean.analysis.paper_complexity import compute, read_rows

        records = compute([r for r in read_rows() if r.table == int(tid)])
    out = {}
    for rec in records:
        out[rec["row"]] = {"paper Params (M)": rec["paper_params_m"], "ours Params (M), paper scale": rec["ours_params_m"],
                           "paper GFLOPs": rec["paper_gflops"], "ours GMACs, paper scale": rec["ours_gmacs"]}
    return out


def accuracy_of(params: StudyParams, spec, reports_dir: Optional[Path] = None) -> dict:
    """``spec`` is a variant name or a list of them (an ensemble): mean/std/n of top-1/5."""
    if spec is None:
        return {}
    if isinstance(spec, (list, tuple)):
        runs = ensemble_accuracy(params, list(spec), reports_dir)
    else:
        runs = load_runs(params, reports_dir)
        runs = runs[runs["variant"] == spec]
    if runs.empty:
        return {}
    return {"top1_mean": float(runs["top1"].mean()), "top1_std": float(runs["top1"].std(ddof=1)) if len(runs) > 1 else float("nan"),
            "top5_mean": float(runs["top5"].mean()), "top5_std": float(runs["top5"].std(ddof=1)) if len(runs) > 1 else float("nan"),
            "n": int(len(runs)), "seeds": sorted(int(s) for s in runs["seed"])}


def dataset_label(params: StudyParams, tid: str) -> str:
    t = params.tables[tid]
    ds = params.datasets.get(t.dataset or "")
    if ds is not None and ds.generated:
        return f"embedded {ds.synth} set, profile {params.profile}"
    return f"{t.dataset}, profile {params.profile}"


def real_dataset_accuracy(tid: str, params: StudyParams) -> tuple[str, dict[str, dict]]:
    """Accuracy of the ``paper`` profile's runs (real datasets, full scale) for table ``tid``,
    when someone has run them here (``reports/paper/runs``); ``("", {})`` otherwise."""
    from ean.study.params import PROFILE_DIR, load_params

    path = PROFILE_DIR / "paper.yaml"
    if params.profile == "paper" or not path.is_file():
        return "", {}
    real = load_params(path)
    if tid not in real.tables or not (real.reports_dir / "runs").is_dir():
        return "", {}
    got = {row: accuracy_of(real, spec) for row, spec in real.tables[tid].rows.items() if spec is not None}
    got = {row: acc for row, acc in got.items() if acc}
    return (f"ours top-1 ({real.tables[tid].dataset}, paper profile)" if got else ""), got


def build_table(tid: str, params: StudyParams, reports_dir: Optional[Path] = None,
                complexity: bool = True) -> Table:
    """Table ``tid`` ("01".."10", "paper_vs_code"): the paper's rows with its values, our
    Params/GMACs at the paper's scale, and our accuracy for the rows this profile trains."""
    if tid == "paper_vs_code":
        return build_paper_vs_code(params, reports_dir)
    spec = params.tables[tid]
    names, paper = _paper_rows(tid)
    paper_names = set(names)
    for extra in spec.rows:  # rows of ours that the paper's table does not have (references)
        if extra not in paper:
            names.append(extra)
            paper[extra] = {}
    comp = _complexity(tid) if complexity else {}
    label = dataset_label(params, tid)
    top1_col, top5_col = f"ours top-1 ({label})", f"ours top-5 ({label})"
    real_col, real = real_dataset_accuracy(tid, params) if tid.isdigit() else ("", {})
    display, numbers, notes = [], [], []
    for name in names:
        row_spec = spec.rows.get(name)
        acc = accuracy_of(params, row_spec, reports_dir) if name in spec.rows else {}
        shown = {"row": name, **{k: v for k, v in paper[name].items()
                                 if k not in ("group", "backbone", "pretrain", "frames", "input_clip")}}
        if name not in paper_names:
            shown["row"] = f"{name} [ours only]"
        shown.update(comp.get(name, {}))
        variant = "+".join(row_spec) if isinstance(row_spec, (list, tuple)) else row_spec
        shown[top1_col] = mean_std(acc.get("top1_mean"), acc.get("top1_std"), acc.get("n", 0)) if acc else ""
        shown[top5_col] = mean_std(acc.get("top5_mean"), acc.get("top5_std"), acc.get("n", 0)) if acc else ""
        shown["seeds"] = acc.get("n", "") if acc else ""
        if real_col:
            r = real.get(name, {})
            shown[real_col] = mean_std(r.get("top1_mean"), r.get("top1_std"), r.get("n", 0)) if r else ""
        shown["variant"] = variant or ""
        if name in spec.missing:
            shown["note"] = spec.missing[name]
        elif name in spec.rows and row_spec is not None and not acc:
            shown["note"] = "not trained yet"
        display.append(shown)
        numbers.append({"table": tid, "row": name, "variant": variant, **paper[name], **comp.get(name, {}),
                        **{f"ours_{k}": v for k, v in acc.items() if k != "seeds"},
                        "ours_seeds": " ".join(map(str, acc.get("seeds", []))) if acc else "",
                        "ours_dataset": label if acc else "",
                        **({"real_top1_mean": real[name]["top1_mean"], "real_n": real[name]["n"]}
                           if name in real else {})})
    frame = pd.DataFrame(display)
    frame = frame.dropna(axis=1, how="all")
    notes.append(f"'paper' columns: the values the paper reports; 'ours ..., paper scale': computed "
                 f"from our model at the paper's size (ResNet-50, 224x224); 'ours top-1/top-5 ({label})': "
                 "mean ± sample std over seeds of the validation accuracy after the last epoch.")
    if not real_col and tid.isdigit():
        notes.append("No run of the `paper` profile (real datasets, full scale) is recorded here "
                     "(reports/paper/runs); where one is, its accuracy appears as another column.")
    return Table(tid, TITLES[tid], frame, pd.DataFrame(numbers), notes)


def build_paper_vs_code(params: StudyParams, reports_dir: Optional[Path] = None) -> Table:
    """Both semantics side by side: Params/GMACs at the paper's scale and embedded accuracy."""
    from ean.analysis.flops import count_config
    from ean.models.presets import get_preset

    spec = params.tables["paper_vs_code"]
    label = dataset_label(params, "paper_vs_code")
    display, numbers = [], []
    for name, variant in spec.rows.items():
        semantics = "paper" if params.variants[variant].set.get("semantics") == "paper" else "authors"
        lmc = "lmc" in (params.variants[variant].preset or "")
        preset = "ean_r50_8f_rgb_lmc" if lmc else "ean_r50_8f_rgb"
        c = count_config(get_preset(preset, set={"semantics": semantics}))
        acc = accuracy_of(params, variant, reports_dir)
        display.append({"row": name, "semantics": semantics, "model at paper scale": preset,
                        "ours Params (M), paper scale": round(c.params / 1e6, 2),
                        "ours GMACs, paper scale": round(c.macs / 1e9, 2),
                        f"ours top-1 ({label})": mean_std(acc.get("top1_mean"), acc.get("top1_std"), acc.get("n", 0)) if acc else "",
                        f"ours top-5 ({label})": mean_std(acc.get("top5_mean"), acc.get("top5_std"), acc.get("n", 0)) if acc else "",
                        "seeds": acc.get("n", "") if acc else "", "variant": variant})
        numbers.append({"table": "paper_vs_code", "row": name, "variant": variant, "semantics": semantics,
                        "params": c.params, "macs": c.macs,
                        **{f"ours_{k}": v for k, v in acc.items() if k != "seeds"}})
    notes = ["'authors': the model as the authors' code builds it; 'paper': as the paper's text "
             "describes it (the differences are listed in ean/models/config.py, reference D1-D19).",
             "Params/GMACs are computed at the paper's scale (ResNet-50, 8 frames, 224x224); accuracy "
             f"is mean ± sample std over seeds on the {label}."]
    return Table("paper_vs_code", TITLES["paper_vs_code"], pd.DataFrame(display), pd.DataFrame(numbers), notes)
