"""End-to-end training and evaluation on the synthetic smoke data, plus failure handling."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from ean.cli import main
from ean.errors import UserError
from ean.engine import checkpoint as ckpt
from ean.engine.config import build_config
from ean.engine.divergence import TrainingDiverged
from ean.engine.loop import train

from .conftest import EASY_CLASSES, make_raw_config, write_config

REAL_VIDEOS = Path(__file__).resolve().parents[3] / "shared" / "real-videos"


@pytest.fixture(scope="module")
def trained_run(easy_root, tmp_path_factory):
    """TSN-tiny trained for 30 short epochs on the four easy classes (~5 s)."""
    run = tmp_path_factory.mktemp("run") / "easy"
    raw = make_raw_config(easy_root, optim={"base_lr": 0.05, "epochs": 30, "milestones": [21]}, eval={"every": 0})
    summary = train(build_config(raw), run)
    return run, summary


def test_training_writes_metrics_summary_and_checkpoints(trained_run):
    run, summary = trained_run
    assert summary["completed"] and summary["global_step"] == 30 * 3
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert [int(r["epoch"]) for r in rows] == list(range(1, 31))
    assert rows[-1]["val_top1"] != "" and rows[0]["val_top1"] == ""  # eval.every=0: only the last epoch
    assert float(rows[0]["lr"]) == pytest.approx(0.05) and float(rows[-1]["lr"]) == pytest.approx(0.005)
    on_disk = json.loads((run / "summary.json").read_text())
    assert on_disk["best"]["epoch"] == 30 and on_disk["last"]["num_videos"] == 4
    names = sorted(p.name for p in (run / "checkpoints").glob("*.pt"))
    assert names == ["best.pt", "epoch028_step00000084.pt", "epoch029_step00000087.pt", "epoch030_step00000090.pt"]
    state = ckpt.load_checkpoint_file(run / "checkpoints" / "best.pt", required=ckpt.TRAINING_KEYS)
    assert state["class_names"] == sorted(EASY_CLASSES)
    assert state["config"]["optim"]["epochs"] == 30 and state["model_config"]["name"] == "tsn_tiny"
    assert (run / "config.yaml").is_file() and (run / "val_scores.npz").is_file()
    # the resolved config round-trips
    assert build_config(state["config"]).to_dict() == state["config"]


def test_the_run_fits_its_training_set_and_the_protocols_evaluate_distinct_views(trained_run, capsys):
    run, _ = trained_run
    best = run / "checkpoints" / "best.pt"
    out = run / "train_1clip.npz"
    assert main(["eval", str(best), "--split", "train", "--protocol", "1clip", "--device", "cpu",
                 "--out", str(out), "--no-progress"]) == 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["num_videos"] == 12
    assert report["top1"] >= 60.0, report  # chance is 25%
    assert len(report["per_class_acc"]) == 4 and len(report["confusion"]) == 4
    assert "top-1" in capsys.readouterr().out
    scores = np.load(out)
    assert scores["scores"].shape == (12, 4) and int(scores["num_views"]) == 1
    # the multi-view protocols on the validation videos: their views really differ from the
    # single clip (12 training videos are memorised, not learnt: held-out accuracy is at chance
    # at this size, so it is not asserted here)
    one = run / "val_1clip.npz"
    assert main(["eval", str(best), "--protocol", "1clip", "--device", "cpu", "--out", str(one), "--no-progress"]) == 0
    for protocol, views in (("2clip", 2), ("10x3", 30)):
        path = run / f"val_{protocol}.npz"
        assert main(["eval", str(best), "--protocol", protocol, "--device", "cpu", "--out", str(path),
                     "--no-progress"]) == 0
        assert int(np.load(path)["num_views"]) == views
        assert np.load(path)["indices"].tolist() == np.load(one)["indices"].tolist()
        assert np.abs(np.load(path)["scores"] - np.load(one)["scores"]).max() > 1e-3, protocol
    # softmax aggregation gives probabilities
    path = run / "val_softmax.npz"
    main(["eval", str(best), "--protocol", "2clip", "--aggregate", "softmax", "--out", str(path), "--no-progress"])
    np.testing.assert_allclose(np.load(path)["scores"].sum(axis=1), 1.0, rtol=1e-5)
    # an ensemble of two protocols of the same model, through the CLI
    assert main(["ensemble", str(run / "val_2clip.npz"), str(run / "val_10x3.npz"), "--out",
                 str(run / "ens.npz")]) == 0
    ens = np.load(run / "ens.npz")
    np.testing.assert_allclose(ens["scores"], np.load(run / "val_2clip.npz")["scores"]
                               + np.load(run / "val_10x3.npz")["scores"], rtol=1e-5)
    assert "ensemble" in capsys.readouterr().out


def _print_top(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_predict_on_a_generated_clip(trained_run, easy_root, capsys):
    run, _ = trained_run
    rows = json.loads((easy_root / "train.json").read_text())
    video = easy_root / "videos" / f"{rows[0]['id']}.mp4"
    assert main(["predict", str(video), "--checkpoint", str(run / "checkpoints" / "best.pt"), "--json"]) == 0
    top = _print_top(capsys)
    assert len(top) == 4  # fewer classes than 5
    assert {t["label"] for t in top} == set(EASY_CLASSES)
    probs = [t["probability"] for t in top]
    assert probs == sorted(probs, reverse=True) and sum(probs) == pytest.approx(1.0, abs=1e-5)
    assert main(["predict", str(video), "--checkpoint", str(run / "checkpoints" / "best.pt")]) == 0
    assert capsys.readouterr().out.startswith("1. ")


@pytest.mark.parametrize("name", ["arm_wrestling.mp4", "flipping_pancake.mkv", "apply_eye_makeup.avi"])
def test_predict_on_a_real_clip(trained_run, name, capsys):
    video = REAL_VIDEOS / name
    if not video.is_file():
        pytest.skip(f"{video} is not available")
    run, _ = trained_run
    assert main(["predict", str(video), "--checkpoint", str(run / "checkpoints" / "best.pt"),
                 "--protocol", "2clip", "--topk", "3", "--json"]) == 0
    top = _print_top(capsys)
    assert len(top) == 3 and all(0.0 <= t["probability"] <= 1.0 for t in top)


def test_predict_errors_name_the_file(trained_run, tmp_path, capsys):
    run, _ = trained_run
    assert main(["predict", str(tmp_path / "none.mp4"), "--checkpoint", str(run / "checkpoints" / "best.pt")]) == 2
    assert "none.mp4" in capsys.readouterr().err
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    assert main(["predict", str(bad), "--checkpoint", str(run / "checkpoints" / "best.pt")]) == 2
    assert "bad.mp4" in capsys.readouterr().err


class NaNAfter(nn.Module):
    """A tiny video classifier whose output becomes NaN from its n-th training forward on."""

    def __init__(self, num_classes: int, n: int):
        super().__init__()
        self.conv = nn.Conv3d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm3d(4)
        self.fc = nn.Linear(4, num_classes)
        self.n, self.calls = n, 0

    def forward(self, x):
        y = self.fc(torch.relu(self.bn(self.conv(x))).mean(dim=(2, 3, 4)))
        if self.training:
            self.calls += 1
            if self.calls >= self.n:
                y = y * float("nan")
        return y


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(easy_root, tmp_path):
    cfg = build_config(make_raw_config(easy_root, optim={"epochs": 3}))
    with pytest.raises(TrainingDiverged, match=r"at step 5 \(epoch 2, batch 2\)") as info:
        train(cfg, tmp_path / "run", model_factory=lambda mc: NaNAfter(mc.num_classes, 5))
    assert "last good checkpoint" in str(info.value)
    names = [p.name for p in ckpt.list_checkpoints(tmp_path / "run" / "checkpoints")]
    assert names == ["epoch001_step00000003.pt"]
    state = ckpt.load_checkpoint_file(tmp_path / "run" / "checkpoints" / names[0], required=ckpt.TRAINING_KEYS)
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())
    assert len((tmp_path / "run" / "metrics.csv").read_text().strip().splitlines()) == 2


def test_nan_exit_status_from_the_command_line(easy_root, tmp_path, capsys):
    raw = make_raw_config(easy_root, optim={"epochs": 2, "base_lr": 1.0e12, "clip_grad_norm": None})
    code = main(["train", str(write_config(tmp_path / "c.yaml", raw)), "--out", str(tmp_path / "run")])
    assert code == 3
    err = capsys.readouterr().err
    assert "at step" in err and "became" in err


def test_corrupt_newest_checkpoint_falls_back_and_resume_is_exact(easy_root, tmp_path, capsys):
    raw = make_raw_config(easy_root, optim={"epochs": 3})
    config = write_config(tmp_path / "c.yaml", raw)
    run = tmp_path / "run"
    assert main(["train", str(config), "--out", str(run)]) == 0
    ckpts = run / "checkpoints"
    final = ckpt.load_checkpoint_file(ckpts / "epoch003_step00000009.pt")
    newest = ckpts / "epoch003_step00000009.pt"
    newest.write_bytes(newest.read_bytes()[:1000])  # truncated by a full disk, say
    # without --resume the run directory is protected
    assert main(["train", str(config), "--out", str(run)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["train", str(config), "--out", str(run), "--resume"]) == 0
    err = capsys.readouterr().err
    assert "epoch003_step00000009.pt" in err and "corrupt or truncated" in err
    assert "resumed from" in err and "epoch002_step00000006.pt" in err
    again = ckpt.load_checkpoint_file(newest)
    for key, value in final["model"].items():
        assert torch.equal(value, again["model"][key]), key


def test_all_checkpoints_corrupt_is_an_error(easy_root, tmp_path, capsys):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "epoch001_step00000003.pt").write_bytes(b"garbage")
    config = write_config(tmp_path / "c.yaml", make_raw_config(easy_root))
    assert main(["train", str(config), "--out", str(run), "--resume"]) == 2
    assert "no usable checkpoint" in capsys.readouterr().err


def test_resume_with_a_different_recipe_is_refused(easy_root, tmp_path, capsys):
    raw = make_raw_config(easy_root, optim={"epochs": 1})
    config = write_config(tmp_path / "c.yaml", raw)
    assert main(["train", str(config), "--out", str(tmp_path / "run")]) == 0
    assert main(["train", str(config), "optim.base_lr=0.5", "--out", str(tmp_path / "run"), "--resume"]) == 2
    assert "optim.base_lr" in capsys.readouterr().err
    # settings that do not change the maths may change
    assert main(["train", str(config), "--out", str(tmp_path / "run"), "--resume", "runtime.log_every=7"]) == 0


def test_bf16_autocast_and_channels_last_on_cpu(easy_root, tmp_path):
    """One whole epoch (3 steps and the validation) under bf16 autocast: finite losses, and not
    the fp32 run's numbers (the precision is really used)."""
    runs = {}
    for precision in ("bf16", "fp32"):
        raw = make_raw_config(easy_root, optim={"epochs": 1},
                              runtime={"precision": precision, "channels_last": True})
        runs[precision] = train(build_config(raw), tmp_path / precision)
    summary = runs["bf16"]
    assert summary["precision"] == "bfloat16" and summary["global_step"] == 3 and summary["completed"]
    assert math.isfinite(summary["last_train"]["loss"]) and math.isfinite(summary["last"]["loss"])
    assert summary["last_train"]["loss"] != runs["fp32"]["last_train"]["loss"]
    assert [p.name for p in ckpt.list_checkpoints(tmp_path / "bf16" / "checkpoints")] == ["epoch001_step00000003.pt"]


def test_fp16_needs_cuda(easy_root, tmp_path):
    cfg = build_config(make_raw_config(easy_root, runtime={"precision": "fp16"}))
    with pytest.raises(UserError, match="fp16 needs CUDA"):
        train(cfg, tmp_path / "run")


def test_class_count_mismatch_names_the_setting(easy_root, tmp_path):
    cfg = build_config(make_raw_config(easy_root, num_classes=7))
    with pytest.raises(UserError, match=r"model.num_classes=7 .* 4 classes"):
        train(cfg, tmp_path / "run")


def test_missing_annotation_names_the_file(tmp_path):
    raw = make_raw_config(tmp_path / "nowhere")
    with pytest.raises(UserError, match="nowhere"):
        train(build_config(raw), tmp_path / "run")


def test_lmc_preset_trains_evaluates_and_predicts(easy_root, tmp_path, capsys):
    raw = make_raw_config(easy_root, preset="ean_tiny_lmc", optim={"epochs": 1},
                          runtime={"max_steps": 1, "channels_last": True})
    summary = train(build_config(raw), tmp_path / "run")
    assert summary["global_step"] == 1
    state = ckpt.load_checkpoint_file(tmp_path / "run" / "checkpoints" / "step00000001.pt")
    assert state["model_config"]["segment_length"] == 5 and state["model_config"]["lmc"]["enabled"]
    rows = json.loads((easy_root / "validation.json").read_text())
    video = easy_root / "videos" / f"{rows[0]['id']}.mp4"
    assert main(["predict", str(video), "--checkpoint", str(tmp_path / "run" / "checkpoints" / "step00000001.pt"),
                 "--json"]) == 0
    assert len(_print_top(capsys)) == 4
    out = tmp_path / "val_2clip.npz"
    assert main(["eval", str(tmp_path / "run" / "checkpoints" / "step00000001.pt"), "--protocol", "2clip",
                 "--device", "cpu", "--out", str(out), "--no-progress"]) == 0
    scores = np.load(out)
    assert int(scores["num_views"]) == 2 and scores["scores"].shape == (len(rows), 4)
    assert np.isfinite(scores["scores"]).all()


def test_tensorboard_without_the_package_is_a_clear_error(easy_root, tmp_path):
    try:
        import tensorboard  # noqa: F401
        pytest.skip("tensorboard is installed")
    except ImportError:
        pass
    cfg = build_config(make_raw_config(easy_root, runtime={"tensorboard": True}))
    with pytest.raises(UserError, match="runtime.tensorboard=true needs the tensorboard package"):
        train(cfg, tmp_path / "run")


def test_checkpoints_load_with_the_model_package_loader(trained_run):
    from ean.models.checkpoint import load_model as load_checkpoint

    run, _ = trained_run
    model = load_checkpoint(run / "checkpoints" / "best.pt")
    state = ckpt.load_checkpoint_file(run / "checkpoints" / "best.pt")
    loaded = model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in state["model"].items())


@pytest.fixture
def damaged_root(easy_root, tmp_path):
    """The easy subset with a copy of the videos in which 2 of the 12 training videos are broken."""
    root = tmp_path / "damaged"
    root.mkdir()
    for name in ("labels.json", "train.json", "validation.json"):
        (root / name).write_text((easy_root / name).read_text())
    videos = root / "videos"
    videos.mkdir()
    for f in (easy_root / "videos").iterdir():
        (videos / f.name).write_bytes(f.read_bytes())
    train_ids = [r["id"] for r in json.loads((root / "train.json").read_text())]
    (videos / f"{train_ids[0]}.mp4").write_bytes(b"")                     # zero bytes
    (videos / f"{train_ids[1]}.mp4").write_text("not a video at all")     # text named .mp4
    return root


def test_unreadable_training_videos_are_skipped_counted_and_stop_the_run(damaged_root, tmp_path, capsys):
    from ean.data.loader import DataSkipError

    # 2 of 12 videos (17 %) unreadable: tolerated at 25 %, reported at the end of each epoch
    ok = make_raw_config(damaged_root, data={"max_skip_fraction": 0.25}, optim={"epochs": 1})
    summary = train(build_config(ok), tmp_path / "tolerant")
    assert summary["completed"]
    assert "2 unreadable training videos skipped" in capsys.readouterr().err
    # ... and stop the run with a clear message at the default 1 %, after the epoch's checkpoint
    strict = make_raw_config(damaged_root, optim={"epochs": 2})
    with pytest.raises(DataSkipError, match="2 of 12"):
        train(build_config(strict), tmp_path / "strict")
    assert list((tmp_path / "strict" / "checkpoints").glob("epoch001_*.pt"))


def test_cli_reports_too_many_unreadable_videos_in_one_line(damaged_root, tmp_path, capsys):
    cfg = write_config(tmp_path / "cfg.yaml", make_raw_config(damaged_root, optim={"epochs": 1}))
    assert main(["train", str(cfg), "--out", str(tmp_path / "run")]) == 4
    err = capsys.readouterr().err
    assert "ean train: error: 2 of 12 samples" in err and "data.max_skip_fraction=0.01" in err
    assert "videos/" in err and "Traceback" not in err  # the bad files are named


def test_validation_subset_and_final_protocols(easy_root, tmp_path):
    """eval.subset: the validations before the last epoch use that many videos, the last one
    all of them (and only its scores are saved); eval.extra_protocols: evaluated once after
    training, each into its own scores file and the summary."""
    from ean.engine.scores import load_scores

    # the 12 training videos (3 per class) as the validation list: a subset of 4 is one per class
    raw = make_raw_config(easy_root, optim={"epochs": 3},
                          data={"val_annotation": str(easy_root / "train.json")},
                          eval={"every": 1, "subset": 4, "extra_protocols": ["2clip"]})
    summary = train(build_config(raw), tmp_path / "run")
    rows = list(csv.DictReader((tmp_path / "run" / "metrics.csv").open()))
    assert [int(r["val_videos"]) for r in rows] == [4, 4, 12]
    assert len(load_scores(tmp_path / "run" / "val_scores.npz")["indices"]) == 12
    two = load_scores(tmp_path / "run" / "val_scores_2clip.npz")
    assert int(two["num_views"]) == 2 and len(two["indices"]) == 12
    assert summary["protocols"]["2clip"]["views"] == 2 and summary["last"]["num_videos"] == 12
    with pytest.raises(UserError, match="extra_protocols"):
        build_config(make_raw_config(easy_root, eval={"extra_protocols": ["3clip"]}))


def test_a_box_model_trains_and_evaluates_on_the_generators_boxes(easy_root, tmp_path):
    """soi.regions=boxes (Table 7's oracle-box row): the loop feeds the generated clips'
    object boxes in training, validation and the final multi-view protocol; the model
    raises without them, so a finished run shows that they were fed."""
    raw = make_raw_config(easy_root, preset="ean_tiny", model={"soi": {"regions": "boxes", "num_objects": 2}},
                          optim={"epochs": 1}, eval={"every": 1, "extra_protocols": ["2clip"]})
    summary = train(build_config(raw), tmp_path / "run")
    assert summary["completed"] and summary["last"]["num_videos"] == 4
    scores = np.load(tmp_path / "run" / "val_scores_2clip.npz")
    assert np.isfinite(scores["scores"]).all() and len(scores["scores"]) == 4
