"""EpochMeter: the running sums of an epoch, its unreadable videos, and the rows it leaves in a
mid-epoch checkpoint (also when another number of processes resumes them); RunLog's files."""
from __future__ import annotations

import csv
import math

import pytest
import torch

from ean.data.loader import DataSkipError
from ean.engine.distributed import DistInfo
from ean.engine.meter import EpochMeter
from ean.engine.run_log import METRIC_FIELDS, RunLog

CPU = torch.device("cpu")


def _batch(n: int, skipped=()) -> dict:
    return {"label": torch.zeros(n, dtype=torch.int64), "skipped": list(skipped)}


def _count(meter: EpochMeter, loss: float, correct: int, n: int, skipped=()) -> None:
    meter.skips.update(_batch(n, skipped))
    meter.add(torch.tensor(loss), torch.tensor(correct), n)


def test_sums_skips_and_totals():
    meter = EpochMeter(max_skip_fraction=0.2)
    meter.start(CPU, carry_on=False)
    _count(meter, 0.5, 3, 4)
    _count(meter, 1.25, 1, 2, skipped=[(7, "a.mp4: empty file")])
    _count(meter, float("nan"), 0, 0)          # an fp16 update skipped for a non-finite loss
    assert meter.loss_sum.dtype == torch.float64 and meter.correct.dtype == torch.int64
    totals = meter.totals(DistInfo(), CPU)
    assert totals.clips == 6 and totals.skipped == 1
    assert totals.loss == pytest.approx((0.5 * 4 + 1.25 * 2) / 6) and totals.top1 == pytest.approx(400 / 6)
    assert (totals.skips.seen, totals.skips.skipped) == (7, 1)      # the counted clips plus the skipped
    assert totals.skips.reasons == [(7, "a.mp4: empty file")]
    assert "skipped 1 of 7 samples" in totals.skips.report()
    totals.skips.check()                        # 1/7 is under 20 %
    with pytest.raises(DataSkipError, match="1 of 7"):
        totals.skips.check(max_fraction=0.1)


def test_a_checkpointed_epoch_resumes_its_sums_and_a_new_epoch_starts_from_zero():
    meter = EpochMeter()
    assert meter.state_dict() is None           # no epoch counted yet
    meter.start(CPU, carry_on=False)
    _count(meter, 0.75, 2, 4, skipped=[(3, "b.mp4: unreadable")])
    state = meter.state_dict()
    assert state[:4] == [3.0, 2, 4, 1] and isinstance(state[0], float) and isinstance(state[1], int)
    resumed = EpochMeter()
    resumed.load_state_dict(list(state))
    resumed.start(CPU, carry_on=True)
    _count(resumed, 0.25, 1, 4)
    assert resumed.state_dict()[:4] == [4.0, 3, 8, 1]
    assert resumed.skips.reasons == []          # the reasons are not checkpointed, the count is
    assert resumed.state_dict()[4] >= state[4]  # the epoch's time carries on
    resumed.finish()
    assert resumed.state_dict() is None
    resumed.start(CPU, carry_on=True)           # nothing to carry on: a fresh epoch
    assert resumed.state_dict()[:4] == [0.0, 0, 0, 0]
    fresh = EpochMeter()
    fresh.load_state_dict(list(state))
    fresh.start(CPU, carry_on=False)            # batch 0 of an epoch: the saved sums do not apply
    assert fresh.state_dict()[:4] == [0.0, 0, 0, 0]


def test_rows_of_another_number_of_processes_go_to_rank_0():
    rows = {"0": [1.5, 2, 4, 1, 10.0], "1": [2.5, 3, 4, 0, 12.0], "2": None}
    assert EpochMeter.merge(rows.values(), rank=0) == [4.0, 5, 8, 1, 12.0]
    assert EpochMeter.merge(rows.values(), rank=1) == [0.0, 0, 0, 0, 12.0]
    assert EpochMeter.merge([None, None], rank=0) is None


def test_run_log_writes_metrics_csv_and_train_log_on_rank_0_only(tmp_path):
    row = dict.fromkeys(METRIC_FIELDS) | {"epoch": 1, "step": 3, "lr": 0.1, "train_loss": 1 / 3, "val_top1": math.nan}
    log = RunLog(tmp_path)
    log.open(is_main=True, tensorboard=False)
    log.step(1, 3, 0.123456789, 0.1)
    log.epoch([row], "epoch 1/2: train loss 0.3333")
    rows = list(csv.reader((tmp_path / "metrics.csv").open()))
    assert rows[0] == list(METRIC_FIELDS)
    assert rows[1][:5] == ["1", "3", "0.1", "0.333333", ""] and rows[1][6] == "nan"
    lines = (tmp_path / "train.log").read_text().splitlines()
    assert [line[20:] for line in lines] == ["epoch 1 step 3 loss 0.123457 lr 0.1", "epoch 1/2: train loss 0.3333"]
    other = RunLog(tmp_path / "rank1")
    other.open(is_main=False, tensorboard=True)   # no TensorBoard writer and no files off rank 0
    other.line("x")
    other.epoch([row], "x")
    other.summary({"a": 1})
    assert other.tensorboard is None and not (tmp_path / "rank1").exists()
