"""Straggler strategies: plug-ins by name, each adding copies its own way."""

from __future__ import annotations

from pathlib import Path

import pytest

from sprocket_cli.errors import UnknownPluginError, UsageError
from sprocket_cli.pipeline.registry import installed
from sprocket_cli.run.stragglers.base import STRAGGLERS_GROUP, make_strategy
from sprocket_cli.tasks import Task
from tests.tasks import gray_task


@pytest.fixture
def task(clip: Path) -> Task:
    return gray_task(clip)


def test_every_strategy_registers_like_a_plugin() -> None:
    assert set(installed(STRAGGLERS_GROUP)) == {"none", "clone", "speculative", "gop-pair"}
    for name in installed(STRAGGLERS_GROUP):
        assert name == make_strategy(name).NAME


def test_an_unknown_strategy_names_those_installed() -> None:
    with pytest.raises(UnknownPluginError, match=r"unknown straggler strategy .clones.*did you mean .clone."):
        make_strategy("clones")
    with pytest.raises(UsageError, match="speculate_after must be positive"):
        make_strategy("speculative", 0)


def test_clone_runs_each_task_twice(task: Task) -> None:
    clone = make_strategy("clone")
    assert [c.copy for c in clone.clones(task)] == [1]
    assert clone.clones(clone.clones(task)[0]) == []  # a copy is not cloned again
    assert make_strategy("none").clones(task) == []


def test_speculative_backs_up_a_task_slower_than_k_medians(task: Task) -> None:
    spec = make_strategy("speculative", 2.0)
    assert spec.backups([(task, 0.0)], now=100.0) == []  # no finished task yet: no median
    spec.finished(task, 3.0)
    assert spec.next_check([(task, 10.0)], now=12.0) == pytest.approx(4.0)
    assert spec.backups([(task, 10.0)], now=15.9) == []
    assert [b.copy for b in spec.backups([(task, 10.0)], now=16.1)] == [1]
    assert spec.backups([(task, 10.0)], now=30.0) == []  # one backup per task


def test_gop_pair_attaches_the_partner_chunk(task: Task, clip: Path) -> None:
    partner = gray_task(clip, 1).chunk
    paired = make_strategy("gop-pair").pair(task, partner, "gray/c00001", "stream/seg_00001.m4s")
    assert paired.partner == partner and paired.partner_task_id == "gray/c00001"
    assert make_strategy("none").pair(task, partner, "x", "y") is task
