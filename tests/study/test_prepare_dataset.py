"""The data stage on a real-format dataset: a few unusable videos are reported, not fatal."""
from pathlib import Path

import numpy as np
import pytest
import yaml

from ean.errors import UserError
from ean.study.params import Dataset, load_params
from ean.study.stages import prepare_dataset

ROOT = Path(__file__).resolve().parents[2]


def _write_mp4(path: Path, frames: np.ndarray) -> None:
    from ean.data.synth.writer import encode_mp4

    encode_mp4(frames, path)


@pytest.fixture(scope="module")
def real_like(tmp_path_factory) -> Path:
    """A `<video> <label>` list of 20 videos: 19 good, one corrupt (as Kinetics always has)."""
    root = tmp_path_factory.mktemp("real")
    rng = np.random.default_rng(0)
    lines = []
    for i in range(19):
        _write_mp4(root / f"v{i}.mp4", rng.integers(0, 255, (12, 32, 48, 3), dtype=np.uint8))
        lines.append(f"v{i}.mp4 {i % 2}")
    (root / "corrupt.mp4").write_text("not a video\n")
    lines.append("corrupt.mp4 1")
    (root / "list.txt").write_text("\n".join(lines) + "\n")
    return root


def _params(tmp_path: Path, root: Path, max_skip: float):
    params = load_params(ROOT / "configs/study/profiles/smoke.yaml")
    params.train.reports_dir = str(tmp_path / "reports")
    config = tmp_path / "data.yaml"
    config.write_text(yaml.safe_dump({"data": {
        "format": "videos", "annotation": str(root / "list.txt"), "root": str(root), "num_classes": 2,
        "num_segments": 4, "max_skip_fraction": max_skip}}))
    params.datasets["real"] = Dataset(name="real", config=str(config))
    return params


def test_unusable_videos_within_max_skip_fraction_are_reported_not_fatal(real_like, tmp_path, capsys):
    out = prepare_dataset(_params(tmp_path, real_like, 0.1), "real", workers=1, progress=False)
    assert out["validation"]["train"]["unusable"] == 1 and out["clips"]["train"] == 20
    assert "corrupt.mp4" in out["validation"]["train"]["errors"][0]["path"]
    assert "training skips the unusable ones" in capsys.readouterr().err
    assert (tmp_path / "reports" / "data" / "real.json").is_file()


def test_more_unusable_videos_than_max_skip_fraction_stop_the_stage(real_like, tmp_path):
    with pytest.raises(UserError, match="more than data.max_skip_fraction=0.01"):
        prepare_dataset(_params(tmp_path, real_like, 0.01), "real", workers=1, progress=False)
