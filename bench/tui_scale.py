"""Benchmark: the TUI following a 1,000-worker job, against the same job on 4 workers.

Two journals are made by the real coordinator on the simulated cloud (``estimate.simulate``:
a one-hour 1080p25 source in 1 s chunks, the built-in gray filter): one with 1,000 workers,
and the baseline with 4, which has as many events but four rows in the workers table.
For each:

1. **read**: the journal into events (``json`` + ``event_from_dict``), which any consumer pays;
2. **fold**: :meth:`tui.model.JobView.apply` over every event (what the TUI does per event);
3. **replay**: the real app, headless at 160x48, until every event is folded and drawn;
4. **redraw**: one full redraw (our widgets plus Textual's compositor), as the median of
   (redraw + ``pilot.pause()``) minus the median of ``pilot.pause()`` alone;
5. **need**: the job's own event rate (events per second of job time), which the TUI must
   keep up with live, against its capacity while redrawing 10 times a second.

Run: ``python bench/tui_scale.py`` (about a minute on 2 cores).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import builtin_pipelines
from sprocket_cli.events import event_from_dict
from sprocket_cli.executors.simulated import CloudModel
from sprocket_cli.jobs.journal import JOURNAL_NAME
from sprocket_cli.plan.estimate import simulate, synthetic_media
from tui import JournalSource, make_app
from tui.model import JobView

SECONDS = 3600.0
SAMPLES = 40


def make_journal(folder: Path, workers: int) -> float:
    spec = builtin_pipelines.load("filter", {"filter": {"vf": "hue=s=0"}})
    estimate = simulate(spec, synthetic_media(SECONDS), CloudModel(), workers=workers, journal_dir=folder)
    return estimate.wall


def best_of(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


async def on_screen(folder: Path) -> tuple[float, float]:
    """Seconds to replay everything onto the screen, and seconds per full redraw."""
    app = make_app(JournalSource(folder, follow=False))
    t0 = time.perf_counter()
    async with app.run_test(size=(160, 48)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.redraw()
        await pilot.pause()
        replay = time.perf_counter() - t0
        medians = []
        for redraw in (False, True):
            times = []
            for _ in range(SAMPLES):
                t1 = time.perf_counter()
                if redraw:
                    app.mark_dirty()
                    app.redraw()
                await pilot.pause()  # the compositor draws the frame
                times.append(time.perf_counter() - t1)
            medians.append(statistics.median(times))
    return replay, medians[1] - medians[0]


def measure(workers: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="sprocket-tui-bench-") as tmp:
        folder = Path(tmp)
        wall = make_journal(folder, workers)
        lines = (folder / JOURNAL_NAME).read_text().splitlines()
        events = [event_from_dict(json.loads(line)) for line in lines]
        read = best_of(3, lambda: [event_from_dict(json.loads(line)) for line in lines])

        def fold() -> None:
            view = JobView()
            for event in events:
                view.apply(event)

        folding = best_of(3, fold)
        replay, redraw = asyncio.run(on_screen(folder))
    n = len(lines)
    spare = 1.0 - 10 * redraw  # share of a core left while redrawing 10 times a second
    return {
        "events in the journal": n,
        "job time, s": wall,
        "read journal, ms/1k events": 1e6 * read / n,
        "fold into JobView, ms/1k events": 1e6 * folding / n,
        "app replay to the last event drawn, s": replay,
        "one full redraw, ms": 1000 * redraw,
        "job event rate, events/s": n / wall,
        "TUI capacity at 10 redraws/s, events/s": n / folding * spare,
    }


def main() -> None:
    base, big = measure(4), measure(1000)
    print(f"| {'measure':<40} | {'4 workers':>12} | {'1000 workers':>12} | {'ratio':>6} |")
    print(f"|{'-' * 42}|{'-' * 14}|{'-' * 14}|{'-' * 8}|")
    for key, value in big.items():
        ratio = value / base[key] if base[key] else float("nan")
        print(f"| {key:<40} | {base[key]:>12.2f} | {value:>12.2f} | {ratio:>6.2f} |")


if __name__ == "__main__":
    main()
