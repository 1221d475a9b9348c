"""Scheduling policies on the simulated cloud, and the simulator's own accounting."""

from __future__ import annotations

import heapq
import json
from pathlib import Path

import pytest

import builtin_pipelines
from sprocket_cli.events import JobFinished, SegmentReady, TaskFinished
from sprocket_cli.executors.simulated import STAGE_COST, CloudModel, SimulatedExecutor
from sprocket_cli.media.chunking import plan_chunks
from sprocket_cli.pipeline.pipespec import Pipespec, parse
from sprocket_cli.plan.estimate import simulate, synthetic_media
from sprocket_cli.plan.fusion import plan
from sprocket_cli.plan.pricing import PRICE_PER_GB_SECOND, PRICE_PER_REQUEST, lambda_cost
from sprocket_cli.plan.scheduling import POLICIES, PlaybackClock, make_policy
from sprocket_cli.run import Job, run_job
from sprocket_cli.storage.memory import MemoryStorage

NO_STRAGGLERS = CloudModel(straggler_probability=0.0)


def unfused() -> Pipespec:
    spec = json.loads(builtin_pipelines.path("filter").read_text())
    for node in spec["nodes"]:
        node["fuse"] = False
    return parse(json.dumps(spec), name="filter-unfused")


def test_first_frame_gets_the_first_segment_earlier_than_overall() -> None:
    media = synthetic_media(600)
    overall = simulate(unfused(), media, CloudModel(), workers=100, policy="overall")
    first = simulate(unfused(), media, CloudModel(), workers=100, policy="first-frame")
    assert first.first_segment < overall.first_segment / 2
    assert overall.wall <= first.wall  # ...and overall still finishes no later


def test_streaming_meets_every_deadline_of_an_hour_with_far_fewer_workers() -> None:
    media = synthetic_media(3600)
    spec = builtin_pipelines.load("filter")
    overall = simulate(spec, media, CloudModel(), workers=1000, policy="overall")
    streaming = simulate(spec, media, CloudModel(), workers=1000, policy="streaming", deadline_start=5.0)
    assert streaming.deadline_misses == 0
    assert streaming.peak_workers * 10 < overall.peak_workers
    assert streaming.worker_seconds <= overall.worker_seconds * 1.01
    assert streaming.tasks == overall.tasks == 3600


def test_streaming_reports_misses_when_the_deadline_cannot_be_met(tmp_path: Path) -> None:
    # One worker at a quarter of real time cannot keep up with playback.
    slow = CloudModel(fps_per_core=6.0, vcpus=1.0, straggler_probability=0.0)
    est = simulate(
        builtin_pipelines.load("filter"), synthetic_media(20), slow, workers=1,
        policy="streaming", deadline_start=0.0, journal_dir=tmp_path,
    )  # fmt: skip
    assert est.deadline_misses > 0
    journal = [json.loads(line) for line in (tmp_path / "journal.jsonl").read_text().splitlines()]
    late = [e for e in journal if e["kind"] == "segment_ready" and e["t"] > e["deadline"] + 1e-9]
    assert len(late) == est.deadline_misses


def test_worker_seconds_and_cost_match_the_model_by_hand(tmp_path: Path) -> None:
    model = CloudModel(
        memory_mb=1769, fps_per_core=25.0, storage_mb_s=10.0, storage_latency_s=0.1,
        source_mb_s=1.0, straggler_probability=0.0,
    )  # fmt: skip
    media = synthetic_media(3)  # 3 chunks of 1 s, 25 frames each
    spec = builtin_pipelines.load("filter")
    job = Job(
        job_id="tiny", job_dir=tmp_path, plan=plan(spec), inputs={"input_0": media},
        chunks={"input_0": plan_chunks(media, 1.0)}, outputs={"output_0": None}, workers=3,
    )  # fmt: skip
    events = list(run_job(job, SimulatedExecutor(3, model), MemoryStorage()))
    finished = events[-1]
    assert isinstance(finished, JobFinished)

    # By hand: read = write = 0.1 s latency + 1 MB / 10 MB/s; compute = 25 frames x
    # (decode + filter + encode shares = 1.0) / (25 frames/s x 1 vCPU).
    per_task = (0.1 + 0.1) + 25 * sum(STAGE_COST.values()) / 25.0 + (0.1 + 0.1)
    assert finished.worker_seconds == pytest.approx(3 * per_task)
    assert [e.read + e.compute + e.write for e in events if isinstance(e, TaskFinished)] == pytest.approx(
        [per_task] * 3
    )
    cost = lambda_cost(finished.worker_seconds, finished.invocations, model.memory_mb)
    by_hand = 3 * per_task * 1769 / 1024 * PRICE_PER_GB_SECOND["x86_64"] + 3 * PRICE_PER_REQUEST
    assert cost.dollars == pytest.approx(by_hand)
    # Three cold invocations, 6 ms apart, then each task runs per_task seconds.
    assert finished.wall == pytest.approx(3 * model.cold_invoke_s + per_task)
    assert [e.index for e in events if isinstance(e, SegmentReady)] == [0, 1, 2]


def test_throttled_invocations_are_retried() -> None:
    model = CloudModel(invoke_rate_limit=50, straggler_probability=0.0)
    est = simulate(builtin_pipelines.load("filter"), synthetic_media(200), model, workers=200)
    assert est.tasks == 200
    assert est.invocations > 200  # the 429s were retried


@pytest.mark.parametrize("name", POLICIES)
def test_retries_go_ahead_of_first_attempts_in_playback_order(name: str, clip: Path) -> None:
    from sprocket_cli.run.dispatcher import retry_place
    from tests.tasks import gray_task

    tasks = [gray_task(clip, i) for i in (0, 1)]
    policy = make_policy(name, {"decode+filter+encode": 0}, PlaybackClock(5.0))
    queue = [(policy.priority(task, seq), seq, task.task_id) for seq, task in enumerate(tasks)]
    # Chunk 1's retry, then chunk 0's, come back after both first attempts were queued.
    queue += [(*retry_place(tasks[1], 7), "retry 1"), (*retry_place(tasks[0], 8), "retry 0")]
    heapq.heapify(queue)
    order = [heapq.heappop(queue)[2] for _ in range(len(queue))]
    assert order[:2] == ["retry 0", "retry 1"]
