"""The study's runs and validation videos, as the figure notebooks and the explorer use them."""
from __future__ import annotations

from pathlib import Path

from ean.errors import UserError
from ean.study.params import StudyParams, run_name


def validation_records(params: StudyParams, variant: str = "ean"):
    """The validation entries (``VideoRecord``: path, label, label_name) of a variant's dataset."""
    from ean.data.config import DataConfig
    from ean.data.formats import load_manifest
    from ean.study.stages import data_section

    ds = params.datasets[params.variants[variant].dataset]
    return load_manifest(DataConfig.from_dict(data_section(ds)), train=False).records


def checkpoint(params: StudyParams, variant: str, seed: int = 0) -> Path:
    """The checkpoint of a run (``best.pt``), with a clear error when it was not trained here."""
    path = params.runs_dir / run_name(variant, seed) / "checkpoints" / "best.pt"
    if not path.is_file():
        raise UserError(f"{path} does not exist: train the run first (dvc repro train@{run_name(variant, seed)}, "
                        "or run the notebook with train_missing=True)")
    return path


def scores_files(params: StudyParams, variant: str) -> list[Path]:
    """The validation scores of every seed of a variant that has them."""
    files = [params.reports_dir / "runs" / r / "val_scores.npz" for r in params.variants[variant].run_names()]
    return [f for f in files if f.is_file()]


def generated_validation(params: StudyParams, variant: str, subset: int, purpose: str):
    """``(dataset, synth profile, jobs)``: ``subset`` class-balanced validation clips of the
    generated set ``variant`` trains on, as ``ClipJob``s the generator can re-render (with
    masks, zoomed, at another frame rate). ``purpose`` names the caller in the error."""
    from ean.data.dataset import evenly_spaced
    from ean.data.synth.profiles import get_profile
    from ean.data.synth.writer import jobs_for

    ds = params.datasets[params.variants[variant].dataset]
    if not ds.generated:
        raise ValueError(f"{purpose} needs a generated dataset, not {ds.config}")
    prof = get_profile(ds.synth)
    jobs = [j for j in jobs_for(prof) if j.split == "validation"]
    return ds, prof, [jobs[i] for i in evenly_spaced(len(jobs), subset, [j.label for j in jobs])]


def trained_runs(params: StudyParams, variant: str, seeds) -> list:
    """``[(model in eval mode, its resolved test-time DataConfig)]`` of the variant's runs."""
    from ean.engine.trained import data_config_for, load_trained

    out = []
    for s in seeds:
        model, state = load_trained(checkpoint(params, variant, s), "cpu")
        out.append((model.eval(), data_config_for(state).resolved()))
    return out


def eval_view(frames, data_cfg, model_cfg):
    """The 1-clip, centre-crop test view of rendered ``frames`` ``(F, H, W, 3)`` uint8, as the
    evaluation samples and transforms it: ``(x, indices)`` with ``x`` ``(1, 3, T*L, S, S)``
    and ``indices`` ``(T*L,)`` the frames it took."""
    import numpy as np
    import torch

    from ean.data.sampling import sample_test
    from ean.data.transforms import ClipTransform

    idx = sample_test(len(frames), model_cfg.num_segments, model_cfg.segment_length, 1)[0]
    video = torch.from_numpy(np.ascontiguousarray(frames[idx])).permute(0, 3, 1, 2)
    crops, _ = ClipTransform(data_cfg, train=False)(video, 0, None)
    return crops[:1], idx
