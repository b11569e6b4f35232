"""Per-run results -> per-variant accuracy -> the paper's tables with our columns beside.

    runs = load_runs(params)                         # one row per finished run
    acc = variant_accuracy(runs)                     # mean / std / n per variant
    table = build_table("05", params)                # a Table: .frame (pandas), .markdown()

Every number in a table is read from a file written by code: the paper's and the
literature's values from ``data/paper`` and ``data/literature`` (transcribed from the
paper), Params/GMACs at the paper's scale from the model (``ean.analysis``), and accuracy
from the runs' ``val_scores.npz``. Accuracy is the validation top-1/top-5 after the last
epoch (not the best epoch, which would select on the validation set). Each row's difference
to the table's reference row is paired (same seeds, same videos) with a 95 % crossed
bootstrap interval over videos x seeds (``ean.study.stats``), beside the per-video
agreement of the two rows' predictions.

A row is a variant, ``variant@protocol`` (its runs evaluated under another test protocol,
e.g. ``@2clip``), or a list of them (an ensemble: their logits averaged per seed).
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
from ean.study.stats import SAME_NETWORK_AGREEMENT, Correctness, Delta, agreement, paired_delta, scores_correctness

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


def load_curves(params: StudyParams, variants: Sequence[str], reports_dir: Optional[Path] = None) -> pd.DataFrame:
    """Per-epoch training curves (``metrics.csv``) of the variants' finished runs."""
    reports_dir = Path(reports_dir or params.reports_dir)
    parts = []
    for v in variants:
        for seed in params.variants[v].seeds:
            path = reports_dir / "runs" / run_name(v, seed) / "metrics.csv"
            if path.is_file():
                df = pd.read_csv(path)
                df.insert(0, "seed", seed)
                df.insert(0, "variant", v)
                parts.append(df)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["variant", "seed", "epoch", "train_top1", "val_top1", "val_videos"])


def last_gains(curves: pd.DataFrame) -> dict[str, list[float]]:
    """Per variant, each run's validation top-1 gain over its last validation interval, on the
    same videos (``val_subset_top1`` where the curves have it)."""
    col = "val_subset_top1" if "val_subset_top1" in curves else "val_top1"
    out: dict[str, list[float]] = {}
    for (variant, _), run in curves.groupby(["variant", "seed"], sort=False):
        v = run.dropna(subset=[col])
        if len(v) >= 2:
            out.setdefault(variant, []).append(float(v[col].iloc[-1] - v[col].iloc[-2]))
    return out


def missing_runs(params: StudyParams, variants: Sequence[str], reports_dir: Optional[Path] = None) -> list[str]:
    reports_dir = Path(reports_dir or params.reports_dir)
    return [r for v in variants for r in params.variants[v].run_names()
            if not (reports_dir / "runs" / r / "summary.json").is_file()]


def _member(spec: str) -> tuple[str, str]:
    """``variant`` or ``variant@protocol`` -> (variant, scores file name)."""
    variant, _, protocol = spec.partition("@")
    return variant, ("val_scores.npz" if protocol in ("", "1clip") else f"val_scores_{protocol}.npz")


def spec_variants(spec) -> list[str]:
    """The variants a row spec trains."""
    if spec is None:
        return []
    return [_member(m)[0] for m in (spec if isinstance(spec, (list, tuple)) else [spec])]


def row_correctness(params: StudyParams, spec, reports_dir: Optional[Path] = None) -> Optional[Correctness]:
    """Per-(seed, video) results of a row (variant, ``variant@protocol`` or ensemble list), over
    the seeds all its members have finished; None when there are none."""
    if spec is None:
        return None
    reports_dir = Path(reports_dir or params.reports_dir)
    members = [_member(m) for m in (spec if isinstance(spec, (list, tuple)) else [spec])]
    seeds = sorted(set.intersection(*(set(params.variants[v].seeds) for v, _ in members)))
    paths, have = [], []
    for seed in seeds:
        files = [reports_dir / "runs" / run_name(v, seed) / name for v, name in members]
        if all(f.is_file() for f in files):
            paths.append(files)
            have.append(seed)
    if not have:
        return None
    return scores_correctness(paths, have)


def ensemble_accuracy(params: StudyParams, members: Sequence[str],
                      reports_dir: Optional[Path] = None) -> pd.DataFrame:
    """Per seed, top-1/top-5 of the average logits of ``members`` (seeds they share)."""
    c = row_correctness(params, list(members), reports_dir)
    rows = [] if c is None else [{"variant": "+".join(members), "seed": s, "top1": float(a), "top5": float(a5)}
                                 for s, a, a5 in zip(c.seeds, c.accuracy, c.accuracy5)]
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
        stem = f"table{self.id}" if self.id.isdigit() else self.id
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


def _complexity_records(table: int) -> list[dict]:
    """The complexity stage's records of one table (computed here if the stage has not run)."""
    if COMPLEXITY_CSV.is_file():
        frame = pd.read_csv(COMPLEXITY_CSV, keep_default_na=False, na_values=[""])
        return frame[frame["table"] == int(table)].to_dict("records")
    from ean.analysis.paper_complexity import compute, read_rows, with_semantics

    rows = [r for r in read_rows() if r.table == int(table)]
    return with_semantics(compute(rows), compute(rows, "paper"))


def _complexity(tid: str) -> dict[str, dict]:
    """Our Params/GMACs at the paper's scale for the rows of table ``tid``: read from the
    ``complexity`` stage's output (computed from the models), computed here if it is absent."""
    if not tid.isdigit():
        return {}
    records = _complexity_records(int(tid))
    out = {}
    for rec in records:
        out[rec["row"]] = {"paper Params (M)": rec["paper_params_m"], "ours Params (M), paper scale": rec["ours_params_m"],
                           "paper GFLOPs": rec["paper_gflops"], "ours GMACs, paper scale": rec["ours_gmacs"]}
    return out


def accuracy_of(params: StudyParams, spec, reports_dir: Optional[Path] = None) -> dict:
    """mean/std (over seeds)/n of top-1/5 of a row spec (see :func:`row_correctness`)."""
    c = row_correctness(params, spec, reports_dir)
    if c is None:
        return {}
    a, a5 = c.accuracy, c.accuracy5
    std = lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else float("nan")  # noqa: E731
    return {"top1_mean": float(a.mean()), "top1_std": std(a), "top5_mean": float(a5.mean()), "top5_std": std(a5),
            "n": len(c.seeds), "seeds": list(c.seeds), "videos": int(len(c.indices))}


def fmt_delta(d: Optional[Delta]) -> str:
    if d is None:
        return ""
    return f"{d.mean:+.1f} [{d.low:+.1f}, {d.high:+.1f}]"


def paper_top1(tid: str, row: str) -> Optional[float]:
    """The paper's top-1 for a row of table ``tid`` (Something V1 for Tables 1 and 3)."""
    _, values = _paper_rows(tid)
    for key, value in (values.get(row) or {}).items():
        if key.startswith("paper") and "top-1" in key and value is not None:
            return float(value)
    return None


def dataset_label(params: StudyParams, tid: str) -> str:
    t = params.tables[tid]
    ds = params.datasets.get(t.dataset or "")
    if ds is not None and ds.generated:
        return f"{ds.label or f'embedded {ds.synth} set'}, profile {params.profile}"
    return f"{t.dataset}, profile {params.profile}"


PAPER_PROTOCOL = {0: "1 clip x centre crop (224x224)", 2: "10 clips x 3 crops (256x256)",
                  4: "1 clip or 2 clips x centre crop (224x224), as the row says"}
"""The paper's test protocol per table (0: the Something tables, 1 and 3 and 5-10)."""


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


def reference_row(params: StudyParams, tid: str) -> Optional[str]:
    """The row every other row of table ``tid`` is compared with (``tables.ID.reference``)."""
    return params.tables[tid].reference


def compare(params: StudyParams, spec, ref_spec, reports_dir: Optional[Path] = None,
            cache: Optional[dict] = None) -> tuple[Optional[Delta], Optional[float]]:
    """Paired Δ (row - reference) with its CI, and the per-video agreement, or (None, None)."""
    cache = {} if cache is None else cache

    def get(sp):
        key = repr(sp)
        if key not in cache:
            cache[key] = row_correctness(params, sp, reports_dir)
        return cache[key]

    a, b = get(spec), get(ref_spec)
    if a is None or b is None or not set(a.seeds) & set(b.seeds):
        return None, None
    return paired_delta(a, b), agreement(a, b)


def build_table(tid: str, params: StudyParams, reports_dir: Optional[Path] = None,
                complexity: bool = True) -> Table:
    """Table ``tid`` ("01".."10", "paper_vs_code"): the paper's rows with its values, our
    Params/GMACs at the paper's scale, and for the rows this profile trains our accuracy,
    its paired difference to the reference row with a 95 % CI, and the prediction agreement."""
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
    ref = spec.reference
    ref_spec = spec.rows.get(ref) if ref else None
    top1_col, top5_col = f"ours top-1 ({label})", f"ours top-5 ({label})"
    delta_col = f"ours Δ vs {ref} [95% CI]" if ref else "ours Δ"
    real_col, real = real_dataset_accuracy(tid, params) if tid.isdigit() else ("", {})
    ref_paper = paper_top1(tid, ref) if ref else None
    display, numbers, notes = [], [], []
    cache: dict = {}
    for name in names:
        row_spec = spec.rows.get(name)
        acc = accuracy_of(params, row_spec, reports_dir) if name in spec.rows else {}
        shown = {"row": name, **{k: v for k, v in paper[name].items()
                                 if k not in ("group", "backbone", "pretrain", "frames", "input_clip")}}
        if name not in paper_names:
            shown["row"] = f"{name} [ours only]"
        stands_in = params.variants[row_spec].label if isinstance(row_spec, str) and row_spec in params.variants else ""
        if stands_in:   # what our row puts in the paper's place (e.g. oracle boxes for a detector)
            shown["row"] = f"{shown['row']} [ours: {stands_in}]"
        shown.update(comp.get(name, {}))
        variant = "+".join(row_spec) if isinstance(row_spec, (list, tuple)) else row_spec
        delta, agree = (None, None)
        if acc and ref_spec is not None and name != ref:
            delta, agree = compare(params, row_spec, ref_spec, reports_dir, cache)
        p_top1 = paper_top1(tid, name) if name in paper_names else None
        p_delta = round(p_top1 - ref_paper, 2) if (p_top1 is not None and ref_paper is not None and name != ref) else None
        shown[top1_col] = mean_std(acc.get("top1_mean"), acc.get("top1_std"), acc.get("n", 0)) if acc else ""
        shown[top5_col] = mean_std(acc.get("top5_mean"), acc.get("top5_std"), acc.get("n", 0)) if acc else ""
        if ref:
            shown["paper Δ"] = "reference" if name == ref else ("" if p_delta is None else f"{p_delta:+.1f}")
            shown[delta_col] = "reference" if (name == ref and acc) else fmt_delta(delta)
            shown["agreement with reference"] = "" if agree is None else f"{100 * agree:.0f}%"
        shown["seeds"] = acc.get("n", "") if acc else ""
        if real_col:
            r = real.get(name, {})
            shown[real_col] = mean_std(r.get("top1_mean"), r.get("top1_std"), r.get("n", 0)) if r else ""
        shown["variant"] = variant or ""
        note = spec.missing.get(name, "")
        if not note and name in spec.rows and row_spec is not None and not acc:
            note = "not trained yet"
        if agree is not None and agree >= SAME_NETWORK_AGREEMENT:
            note = (note + "; " if note else "") + (f"predicts like the reference on {100 * agree:.0f}% of the "
                                                    "videos: (nearly) the same network, this row tests nothing")
        if note:
            shown["note"] = note
        display.append(shown)
        numbers.append({"table": tid, "row": name, "variant": variant, **paper[name], **comp.get(name, {}),
                        **{f"ours_{k}": v for k, v in acc.items() if k != "seeds"},
                        "ours_seeds": " ".join(map(str, acc.get("seeds", []))) if acc else "",
                        "ours_dataset": label if acc else "",
                        "reference": ref or "", "paper_top1": p_top1, "paper_delta": p_delta,
                        "ours_delta": None if delta is None else round(delta.mean, 3),
                        "ci_low": None if delta is None else round(delta.low, 3),
                        "ci_high": None if delta is None else round(delta.high, 3),
                        "agreement": None if agree is None else round(agree, 4),
                        **({"real_top1_mean": real[name]["top1_mean"], "real_n": real[name]["n"]}
                           if name in real else {})})
    frame = pd.DataFrame(display)
    frame = frame.dropna(axis=1, how="all")
    notes.append(f"'paper' columns: the values the paper reports; 'ours ..., paper scale': computed "
                 f"from our model at the paper's size (ResNet-50, 224x224); 'ours top-1/top-5 ({label})': "
                 "mean ± sample std over seeds of the validation accuracy after the last epoch. These are "
                 "measurements of small networks on a generated benchmark, not reproductions of the paper's "
                 "accuracy: compare the Δ columns, not the absolute numbers.")
    if tid.isdigit():
        notes.append(f"Test protocol: the paper's, {PAPER_PROTOCOL.get(int(tid), PAPER_PROTOCOL[0])}; ours, per row, "
                     "the 'variant' column's '@protocol' (10x3: 10 clips x 3 crops; 2clip: 2 clips x centre crop; "
                     "none: 1 clip x centre crop, the validation after the last epoch).")
    if ref:
        notes.append(f"'ours Δ': row minus '{ref}' in points of top-1, over the seeds both rows have, on the "
                     "same validation videos, with a 95 % crossed bootstrap interval over videos x seeds; "
                     "'agreement': the share of videos on which the two rows' runs of the same seed predict "
                     "the same class. A Δ whose interval contains 0 is unresolved, whatever its sign.")
    if not real_col and tid.isdigit():
        notes.append("No run of the `paper` profile (real datasets, full scale) is recorded here "
                     "(reports/paper/runs); where one is, its accuracy appears as another column.")
    return Table(tid, TITLES[tid], frame, pd.DataFrame(numbers), notes)


def build_paper_vs_code(params: StudyParams, reports_dir: Optional[Path] = None) -> Table:
    """Both semantics side by side: Params/GMACs at the paper's scale (from the complexity
    stage's table) and embedded accuracy with the paired difference to the authors' code."""
    spec = params.tables["paper_vs_code"]
    label = dataset_label(params, "paper_vs_code")
    comp = {r["row"]: r for r in _complexity_records(1)}
    ref = spec.reference
    display, numbers, cache = [], [], {}
    for name, variant in spec.rows.items():
        semantics = "paper" if (variant and params.variants[variant].set.get("semantics") == "paper") \
            or "paper text" in name else "authors"
        row = "EAN_8F(RGB+LMC)" if variant and "lmc" in (params.variants[variant].preset or "") else "EAN_8F(RGB)"
        c = comp.get(row, {})
        params_m = c.get("paper_sem_params_m" if semantics == "paper" else "ours_params_m")
        gmacs = c.get("paper_sem_gmacs" if semantics == "paper" else "ours_gmacs")
        acc = accuracy_of(params, variant, reports_dir)
        delta, agree = (None, None)
        if acc and ref and name != ref:
            delta, agree = compare(params, variant, spec.rows.get(ref), reports_dir, cache)
        shown = {"row": name, "semantics": semantics, "data recipe": semantics, "model at paper scale": row,
                 "ours Params (M), paper scale": params_m, "ours GMACs, paper scale": gmacs,
                 f"ours top-1 ({label})": mean_std(acc.get("top1_mean"), acc.get("top1_std"), acc.get("n", 0)) if acc else "",
                 f"ours Δ vs {ref} [95% CI]": ("reference" if name == ref and acc else fmt_delta(delta)),
                 "agreement with reference": "" if agree is None else f"{100 * agree:.0f}%",
                 "seeds": acc.get("n", "") if acc else "", "variant": variant or ""}
        if name in spec.missing:
            shown["note"] = spec.missing[name]
        display.append(shown)
        numbers.append({"table": "paper_vs_code", "row": name, "variant": variant, "semantics": semantics,
                        "params_m": params_m, "gmacs": gmacs, "reference": ref or "",
                        **{f"ours_{k}": v for k, v in acc.items() if k != "seeds"},
                        "ours_delta": None if delta is None else round(delta.mean, 3),
                        "ci_low": None if delta is None else round(delta.low, 3),
                        "ci_high": None if delta is None else round(delta.high, 3),
                        "agreement": None if agree is None else round(agree, 4)})
    notes = ["'authors': the model and data recipe of the authors' code; 'paper': both as the paper's text "
             "describes them (`model.semantics: paper` selects the data recipe too; every reading is listed "
             "in docs/paper_readings.md).",
             "Params/GMACs are computed at the paper's scale (ResNet-50, 8 frames, 224x224); accuracy "
             f"is mean ± sample std over seeds on the {label}, Δ paired over videos x seeds (95 % CI)."]
    return Table("paper_vs_code", TITLES["paper_vs_code"], pd.DataFrame(display), pd.DataFrame(numbers), notes)
