"""A worker's ffmpeg keeps to the threads its executor gives it: the decoder, the encoder and
the filter graph alike (a graph left at ffmpeg's default takes a thread per core, and on a
machine whose cores all run workers those threads only add hand-offs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sprocket_cli.media.command import ChunkCommand
from sprocket_cli.media.ffmpeg import run_ffmpeg
from sprocket_cli.stages.base import StageConfig
from sprocket_cli.stages.decode import Decode
from sprocket_cli.stages.encode import Encode, EncodeConfig
from sprocket_cli.stages.filter import Filter, FilterConfig
from sprocket_cli.tasks import ChunkRef
from tests.conftest import ClipMaker

CHUNK = ChunkRef(1, 12800, 25600, 12800, 1, 12800, False, 25)


def command(clip: Path, threads: int, encode: EncodeConfig) -> ChunkCommand:
    cmd = ChunkCommand([str(clip)], threads=threads)
    Decode().contribute(StageConfig(), cmd, CHUNK)
    Filter().contribute(FilterConfig(vf="hue=s=0"), cmd, CHUNK)
    Encode().contribute(encode, cmd, CHUNK)
    return cmd


def values(args: list[str], flag: str) -> list[str]:
    return [args[i + 1] for i, arg in enumerate(args) if arg == flag]


@pytest.fixture(scope="module")
def clip(make_clip: ClipMaker) -> Path:
    return make_clip(seconds=3, size="320x240", keyint=25)


def test_a_one_thread_task_runs_its_filter_graph_on_one_thread(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "seg.m4s"
    args = command(clip, 1, EncodeConfig()).args(str(out))
    assert values(args, "-threads") == ["1", "1"]  # decoder, encoder
    assert values(args, "-filter_threads") == ["1"]
    run_ffmpeg(args, what="the task")  # ffmpeg takes the options where they are
    assert out.stat().st_size > 0


def test_a_ladder_task_runs_its_graph_on_its_threads(clip: Path, tmp_path: Path) -> None:
    args = command(clip, 2, EncodeConfig(ladder=[240, 120])).args(str(tmp_path / "seg.m4s"))
    assert "-filter_complex" in args
    assert set(values(args, "-filter_complex_threads")) == {"2"}


def test_a_task_without_a_thread_count_leaves_ffmpeg_its_defaults(clip: Path, tmp_path: Path) -> None:
    args = command(clip, 0, EncodeConfig()).args(str(tmp_path / "seg.m4s"))
    assert not {"-threads", "-filter_threads", "-filter_complex_threads"} & set(args)


def test_svt_av1_sizes_its_pool_by_the_tasks_threads(clip: Path, tmp_path: Path) -> None:
    """SVT-AV1 ignores -threads: its own level of parallelism is set, and ffmpeg's run says so."""
    out = tmp_path / "seg.m4s"
    args = command(clip, 1, EncodeConfig(codec="av1")).args(str(out))
    assert values(args, "-svtav1-params") == ["lp=1"]
    said = run_ffmpeg(args, what="the task").stderr
    assert "Level of Parallelism: 1" in said


def test_the_users_own_svt_av1_parallelism_wins(clip: Path, tmp_path: Path) -> None:
    config = EncodeConfig(codec="av1", encoder_args="-svtav1-params lp=2:tune=0")
    args = command(clip, 1, config).args(str(tmp_path / "seg.m4s"))
    assert values(args, "-svtav1-params") == ["lp=1:lp=2:tune=0"]
    assert "Level of Parallelism: 2" in run_ffmpeg(args, what="the task").stderr  # the last one
