"""The paper's tables regenerated with our columns beside: per-run results -> per-row
accuracy -> tables.

    table = build_table("05", params)                # a Table: .frame (pandas), .markdown()

Every number in a table is read from a file written by code: the paper's and the
literature's values from ``data/paper`` and ``data/literature`` (transcribed from the
paper; :mod:`ean.study.paper_values`), Params/GMACs at the paper's scale from the model
(``ean.analysis``), and accuracy from the runs' ``val_scores.npz``
(:mod:`ean.study.row_accuracy`): each row's difference to the table's reference row is
paired (same seeds, same videos) with a 95 % crossed bootstrap interval over videos x seeds,
beside the per-video agreement of the two rows' predictions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pandas as pd

from ean.study.paper_values import PAPER_PROTOCOL, complexity_records, paper_rows, paper_scale_complexity, paper_top1
from ean.study.params import StudyParams
from ean.study.row_accuracy import accuracy_of, compare, fmt_delta, mean_std
from ean.study.stats import SAME_NETWORK_AGREEMENT

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


def dataset_label(params: StudyParams, tid: str) -> str:
    t = params.tables[tid]
    ds = params.datasets.get(t.dataset or "")
    if ds is not None and ds.generated:
        return f"{ds.label or f'embedded {ds.synth} set'}, profile {params.profile}"
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


def reference_row(params: StudyParams, tid: str) -> Optional[str]:
    """The row every other row of table ``tid`` is compared with (``tables.ID.reference``)."""
    return params.tables[tid].reference


def build_table(tid: str, params: StudyParams, reports_dir: Optional[Path] = None,
                complexity: bool = True) -> Table:
    """Table ``tid`` ("01".."10", "paper_vs_code"): the paper's rows with its values, our
    Params/GMACs at the paper's scale, and for the rows this profile trains our accuracy,
    its paired difference to the reference row with a 95 % CI, and the prediction agreement."""
    if tid == "paper_vs_code":
        return build_paper_vs_code(params, reports_dir)
    spec = params.tables[tid]
    names, paper = paper_rows(tid)
    paper_names = set(names)
    for extra in spec.rows:  # rows of ours that the paper's table does not have (references)
        if extra not in paper:
            names.append(extra)
            paper[extra] = {}
    comp = paper_scale_complexity(tid) if complexity else {}
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
    comp = {r["row"]: r for r in complexity_records(1)}
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
