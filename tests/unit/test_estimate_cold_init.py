"""``sprocket plan``'s Lambda estimate includes each cold worker's import of the bundle."""

from __future__ import annotations

import pytest

import builtin_pipelines
from sprocket_cli.executors.simulated import CloudModel, local_model
from sprocket_cli.plan.estimate import LAMBDA_INIT_S, simulate, synthetic_media
from sprocket_cli.plan.pricing import lambda_cost


def test_every_cold_worker_imports_the_bundle_once_and_is_billed_for_it() -> None:
    spec, media = builtin_pipelines.load("filter"), synthetic_media(300)
    model = CloudModel(straggler_probability=0.0)
    without = simulate(spec, media, model, workers=100, init_s=0.0)
    with_init = simulate(spec, media, model, workers=100)
    assert with_init.init_s == LAMBDA_INIT_S > 0
    # 300 chunks on 100 workers, each task ~2 s: every worker is busy when the next is asked
    # for, so each started cold once, and its three tasks end one import later.
    assert with_init.containers == without.containers == 100
    for figure in ("wall", "first_segment", "p99_task_finish"):
        assert getattr(with_init, figure) == pytest.approx(getattr(without, figure) + LAMBDA_INIT_S)
    assert with_init.worker_seconds == pytest.approx(without.worker_seconds + 100 * LAMBDA_INIT_S)
    billed = lambda_cost(with_init.worker_seconds, with_init.invocations, model.memory_mb)
    assert with_init.cost == billed and with_init.cost.dollars > without.cost.dollars


def test_this_machine_as_a_cloud_has_its_imports_in_its_cold_invocation() -> None:
    spec, media = builtin_pipelines.load("filter"), synthetic_media(20)
    local = simulate(spec, media, local_model(), workers=2)
    assert local.init_s == 0.0
    assert local.wall == pytest.approx(simulate(spec, media, local_model(), workers=2, init_s=0.0).wall)


def test_a_worker_still_importing_is_not_reused_so_more_start_cold() -> None:
    # 1000 cold invocations take 6 s of the coordinator's time; without the import the first
    # workers are free again before the last are started, and are reused warm.
    spec, media = builtin_pipelines.load("filter"), synthetic_media(3600)
    model = CloudModel(straggler_probability=0.0)
    without = simulate(spec, media, model, workers=1000, init_s=0.0)
    with_init = simulate(spec, media, model, workers=1000)
    assert without.containers < with_init.containers <= 1000
    assert with_init.worker_seconds > without.worker_seconds + without.containers * LAMBDA_INIT_S
