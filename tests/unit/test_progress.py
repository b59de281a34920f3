"""Progress lines with the time left, in the logs of long jobs (hw1.runlog.Progress)."""

from __future__ import annotations

import logging

import torch

from hw1.engine import Data, train
from hw1.runlog import Progress
from snakemake_logger_plugin_hw1.plan import duration
from tests.builders import train_spec


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_time_left_is_the_rate_so_far_times_the_units_left(caplog):
    clock = Clock()
    p = Progress("things", 10, clock=clock, logger=logging.getLogger("t"))
    assert p.eta(0) is None
    clock.t = 50.0
    assert p.eta(5) == 50.0
    assert p.line(5) == "things: 5/10 (50%), 50 s elapsed, about 50 s left"
    clock.t = 100.0
    assert p.line(10, "all done") == "things: 10/10 (100%), 1 min 40 s elapsed; all done"
    # resumed at unit 4: the rate counts only the units done since
    r = Progress("epochs", 10, clock=clock, start=4)
    clock.t = 130.0
    assert r.eta(7) == 30.0 / 3 * 3
    assert duration(3725) == "1 h 02 min" and duration(65) == "1 min 05 s"


def test_a_tight_loop_logs_a_handful_of_lines(caplog):
    clock = Clock()
    p = Progress("steps", 1000, clock=clock, logger=logging.getLogger("t"), min_gap=2.0)
    with caplog.at_level(logging.INFO, logger="t"):
        for i in range(1001):
            clock.t = i * 0.01  # 10 s in all
            p.update(i)
    lines = [r.getMessage() for r in caplog.records]
    assert 2 <= len(lines) <= 11, lines
    assert lines[-1].startswith("steps: 1000/1000 (100%)")


def test_training_logs_its_time_left(caplog):
    torch.manual_seed(0)
    x = torch.randn(64, 1)
    data = Data(x, torch.sin(x), x[:16], torch.sin(x[:16]))
    spec = train_spec(experiment="e", batch_size=16, epochs=40, seeds=[0])
    with caplog.at_level(logging.INFO, logger="hw1"):
        train(spec, data)
    lines = [r.getMessage() for r in caplog.records if "e/v epochs:" in r.getMessage()]
    assert lines and lines[-1].startswith("e/v epochs: 40/40 (100%)")
    assert any("left" in line for line in lines[:-1]), lines
