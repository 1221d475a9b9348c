"""A group whose stage needs its frames in playback order on one worker (``Stage.SERIALIZED``)
is labelled so on its stage bar; the others are not."""

from __future__ import annotations

from sprocket_cli.events import JobStarted
from sprocket_cli.stages.base import SERIALIZED_NOTICE
from tests.tui.conftest import settle
from tests.tui.test_narrow import Replay, lines
from tui import make_app
from tui.widgets.stage_bars import SERIALIZED_LABEL, StageBars


async def test_a_serialized_group_is_labelled_on_its_stage_bar() -> None:
    started = JobStarted(
        t=0.0, job_id="j", job_dir="/nonexistent", pipeline="counter", inputs={}, outputs={}, chunks=1,
        tasks=2, workers=2, executor="local", duration=4.0, frames=100,
        groups=["decode+grade", "counter+encode"],
        notices=["grade: 'deflicker' runs on one worker", f"counter: {SERIALIZED_NOTICE}"],
        serialized=["counter+encode"],
    )  # fmt: skip
    app = make_app(Replay([started]))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        bars = [line.rstrip() for line in lines(app.query_one(StageBars)) if line.strip()]
        assert len(bars) == 2 and all(len(line) <= 80 for line in bars)
        assert bars[0].lstrip().startswith("decode+grade") and SERIALIZED_LABEL not in bars[0]
        assert bars[1].lstrip().startswith("counter+encode") and bars[1].endswith(SERIALIZED_LABEL)
