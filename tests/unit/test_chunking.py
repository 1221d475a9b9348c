"""Chunk planning on synthetic probe results: 25 fps, one frame every 512 ticks of 1/12800 s."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sprocket_cli.errors import UsageError
from sprocket_cli.media.chunking import ChunkPlan, plan_chunks
from sprocket_cli.media.probe import MediaInfo

TIME_BASE = Fraction(1, 12800)
TICKS = 512
"""Ticks per frame: 25 fps."""
FPS = 25


def media(seconds: float, keyframe_seconds: Iterable[float]) -> MediaInfo:
    """A ``seconds``-long 25 fps video with keyframes at the given times."""
    frames = round(seconds * FPS)
    frame_pts = tuple(i * TICKS for i in range(frames))
    keys = tuple(sorted({round(s * FPS) * TICKS for s in keyframe_seconds}))
    assert set(keys) <= set(frame_pts)
    return media_from_pts(frame_pts, keys, frame_pts[-1] + TICKS)


def media_from_pts(frame_pts: tuple[int, ...], keys: tuple[int, ...], end_pts: int) -> MediaInfo:
    return MediaInfo(
        source="synthetic.mp4",
        width=320,
        height=240,
        codec="h264",
        pix_fmt="yuv420p",
        fps=Fraction(FPS),
        time_base=TIME_BASE,
        frame_pts=frame_pts,
        keyframe_pts=keys,
        end_pts=end_pts,
        rotation=0,
        audio=(),
    )


def every(step: float, seconds: float) -> list[float]:
    return [i * step for i in range(int(seconds / step + 1e-9) + 1) if i * step < seconds]


def assert_well_formed(info: MediaInfo, result: ChunkPlan) -> None:
    """Contiguous chunks covering every frame once, seeking from a keyframe at or before start."""
    chunks = result.chunks
    assert chunks
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert chunks[0].start_pts == info.frame_pts[0]
    assert chunks[-1].end_pts == info.end_pts
    for a, b in itertools.pairwise(chunks):
        assert a.end_pts == b.start_pts
    assert sum(c.frame_count for c in chunks) == info.frame_count
    frames = info.frame_pts
    for c in chunks:
        assert c.start_pts in frames  # chunks start on a frame
        assert c.frame_count >= 1
        in_chunk = bisect.bisect_left(frames, c.end_pts) - bisect.bisect_left(frames, c.start_pts)
        assert c.frame_count == in_chunk
        assert c.seek_pts in info.keyframe_pts
        assert c.seek_pts <= c.start_pts
        # The seek point is the LAST keyframe at or before the start: no needless pre-roll.
        assert not any(c.seek_pts < k <= c.start_pts for k in info.keyframe_pts)
        assert (c.preroll == 0) == (c.start_pts in info.keyframe_pts)
        assert c.time_base == info.time_base
    assert [c.is_last for c in chunks] == [False] * (len(chunks) - 1) + [True]


def test_keyframes_every_2s_target_2s_gives_2s_keyframe_chunks() -> None:
    info = media(10, every(2, 10))
    result = plan_chunks(info, 2)
    assert_well_formed(info, result)
    assert [(c.start, c.end) for c in result.chunks] == [
        (0.0, 2.0),
        (2.0, 4.0),
        (4.0, 6.0),
        (6.0, 8.0),
        (8.0, 10.0),
    ]
    assert all(c.duration == 2.0 for c in result.chunks)
    assert all(c.start_pts in info.keyframe_pts for c in result.chunks)
    assert all(c.seek_pts == c.start_pts and c.preroll == 0 for c in result.chunks)
    assert all(c.frame_count == 50 for c in result.chunks)
    assert result.preroll_seconds == 0
    assert result.max_duration == 2.0
    assert result.target_seconds == 2


def test_chunks_cover_every_frame_exactly_once() -> None:
    info = media(9.6, every(2, 9.6))
    result = plan_chunks(info, 2)
    assert_well_formed(info, result)
    assert sum(c.frame_count for c in result.chunks) == 240
    covered = [pts for c in result.chunks for pts in info.frame_pts if c.start_pts <= pts < c.end_pts]
    assert covered == list(info.frame_pts)


def test_target_5s_with_keyframes_every_2s_cuts_on_nearest_keyframes() -> None:
    info = media(30, every(2, 30))
    result = plan_chunks(info, 5)
    assert_well_formed(info, result)
    target = 5 / TIME_BASE
    for c in result.chunks[:-1]:
        assert c.end_pts in info.keyframe_pts
        wanted = c.start_pts + target
        later = [k for k in info.keyframe_pts if k > c.start_pts]
        best = min(abs(k - wanted) for k in later)
        assert abs(c.end_pts - wanted) == best  # 4 s or 6 s from the start, never 2 s or 8 s
        assert c.duration in (4.0, 6.0)
    assert result.preroll_seconds == 0


def test_target_between_keyframes_picks_the_nearer_one() -> None:
    # Keyframes every 2 s; a 4.6 s target is nearest to the keyframe 4 s later each time.
    info = media(20, every(2, 20))
    result = plan_chunks(info, 4.6)
    assert_well_formed(info, result)
    assert [c.start for c in result.chunks] == [0.0, 4.0, 8.0, 12.0, 16.0]


def test_sparse_keyframes_cut_on_ordinary_frames_with_preroll() -> None:
    info = media(30, every(10, 30))  # keyframes at 0, 10, 20 s
    result = plan_chunks(info, 2)
    assert_well_formed(info, result)
    assert [c.start for c in result.chunks] == [float(s) for s in range(0, 30, 2)]
    assert all(c.duration == 2.0 for c in result.chunks)
    for c in result.chunks:
        if c.start_pts in info.keyframe_pts:
            assert c.preroll == 0
            assert c.seek_pts == c.start_pts
        else:
            assert c.preroll > 0
            assert c.preroll == c.start % 10  # decoded from the keyframe before
            assert c.seek_pts == max(k for k in info.keyframe_pts if k <= c.start_pts)
    assert sum(1 for c in result.chunks if c.preroll > 0) == 12
    assert result.preroll_seconds == pytest.approx(3 * (2 + 4 + 6 + 8))


def test_only_one_keyframe_still_gives_several_chunks() -> None:
    info = media(12, [0])
    result = plan_chunks(info, 3)
    assert_well_formed(info, result)
    assert len(result.chunks) == 4
    assert all(c.seek_pts == 0 for c in result.chunks)
    assert [c.preroll for c in result.chunks] == [0.0, 3.0, 6.0, 9.0]


def test_short_remainder_joins_the_last_chunk() -> None:
    info = media(10.4, every(2, 10.4))
    result = plan_chunks(info, 2)
    assert_well_formed(info, result)
    assert len(result.chunks) == 5
    last = result.chunks[-1]
    assert (last.start, last.end) == (8.0, 10.4)
    assert last.frame_count == 60


def test_a_remainder_of_half_a_target_or_more_is_its_own_chunk() -> None:
    info = media(11.2, every(2, 11.2))
    result = plan_chunks(info, 2)
    assert_well_formed(info, result)
    assert [(c.start, c.end) for c in result.chunks][-2:] == [(8.0, 10.0), (10.0, 11.2)]


def test_video_shorter_than_the_target_is_one_chunk() -> None:
    info = media(1.2, [0])
    result = plan_chunks(info, 2)
    assert_well_formed(info, result)
    assert len(result.chunks) == 1
    assert result.chunks[0].frame_count == 30


def test_keyframe_cut_never_leaves_a_short_remainder() -> None:
    info = media(3.04, [0, 2.96])
    result = plan_chunks(info, 2)
    assert_well_formed(info, result)
    if len(result.chunks) > 1:
        assert result.chunks[-1].duration >= 1.0  # at least half the target


def test_first_frame_not_at_zero() -> None:
    offset = 7 * TICKS
    frame_pts = tuple(offset + i * TICKS for i in range(250))
    keys = frame_pts[::50]
    info = media_from_pts(frame_pts, keys, frame_pts[-1] + TICKS)
    result = plan_chunks(info, 2)
    assert_well_formed(info, result)
    assert [c.start_pts for c in result.chunks] == list(keys)


@pytest.mark.parametrize("target", [0, -1, -0.5, float("nan")])
def test_non_positive_target_is_a_usage_error(target: float) -> None:
    info = media(4, every(2, 4))
    with pytest.raises(UsageError, match="chunk_seconds must be positive"):
        plan_chunks(info, target)


@st.composite
def videos(draw: st.DrawFn) -> MediaInfo:
    n = draw(st.integers(min_value=1, max_value=400))
    durations = draw(
        st.one_of(
            st.just([TICKS] * n),
            st.lists(st.integers(1, 2048), min_size=n, max_size=n),
        )
    )
    start = draw(st.integers(0, 10_000))
    frame_pts = []
    pts = start
    for d in durations:
        frame_pts.append(pts)
        pts += d
    extra_keys = draw(st.sets(st.integers(0, n - 1), max_size=n))
    keys = tuple(frame_pts[i] for i in sorted({0} | extra_keys))
    return media_from_pts(tuple(frame_pts), keys, pts)


@settings(max_examples=300, deadline=None)
@given(
    info=videos(),
    target=st.one_of(
        st.floats(min_value=0.001, max_value=40, allow_nan=False),
        st.sampled_from([0.04, 1, 2, 5, 10]),
    ),
)
def test_property_chunks_are_contiguous_and_cover_every_frame(info: MediaInfo, target: float) -> None:
    result = plan_chunks(info, target)
    assert_well_formed(info, result)
    assert result.target_seconds == target


def test_chunk_lengths_ramp_up_from_a_short_first_chunk_and_down_at_the_end() -> None:
    info = media(60.0, [2.0 * k for k in range(30)])  # keyframe every 2 s
    result = plan_chunks(info, 6, first_seconds=2)
    assert_well_formed(info, result)
    assert [round(c.duration) for c in result.chunks] == [2, 4, *([6] * 8), 2, 2, 2]
    assert all(c.preroll == 0 for c in result.chunks)


def test_first_chunk_no_longer_than_the_target() -> None:
    info = media(10.0, [1.0 * k for k in range(10)])
    result = plan_chunks(info, 1, first_seconds=4)
    assert [round(c.duration) for c in result.chunks] == [1] * 10


def test_roll_extends_each_chunk_into_its_neighbours() -> None:
    """Windowed filters: each chunk decodes frames before and after its own, and its cut sits
    that many frames after a keyframe, so the pre-roll starts on the keyframe itself."""
    info = media(12, every(2, 12))
    rolled = plan_chunks(info, 4.0, roll=(8, 2))
    first, middle, last = rolled.chunks[0], rolled.chunks[1], rolled.chunks[-1]
    assert first.lead_pts is None  # nothing before the first frame
    assert middle.lead_pts == middle.start_pts - 8 * TICKS
    assert middle.lead_pts in info.keyframe_pts
    assert middle.seek_pts == middle.lead_pts  # nothing decoded only to be thrown away
    assert middle.tail_pts == middle.end_pts + 2 * TICKS
    assert last.tail_pts is None  # nothing after the last frame
    assert sum(c.frame_count for c in rolled.chunks) == len(info.frame_pts)  # own frames only


def test_frames_dropped_at_the_start_are_the_first_chunks_pre_roll() -> None:
    info = media(6, every(2, 6))
    chunks = plan_chunks(info, 2.0, roll=(1, 0), drops=1).chunks
    assert chunks[0].start_pts == TICKS  # the output starts one frame in, as ffmpeg's does
    assert chunks[0].lead_pts == 0 and chunks[0].seek_pts == 0
    assert sum(c.frame_count for c in chunks) == len(info.frame_pts) - 1


def finish_times(durations: list[float], workers: int) -> list[float]:
    """When each worker ends, if each takes the next chunk as soon as it is free (a chunk
    costs its length)."""
    free = [0.0] * workers
    for duration in durations:
        free[free.index(min(free))] += duration
    return free


@pytest.mark.parametrize(("seconds", "gap"), [(5, 1.0), (16, 0.0), (60, 0.0)])
def test_the_tail_plan_gives_the_last_chunks_to_the_workers_that_free_up(seconds: int, gap: float) -> None:
    """Without a worker count (remote backends), two workers taking the plan's chunks in order
    end together on the bench's clips (a keyframe every 2 s), rather than one running a last
    long chunk while the other's core idles. At 5 s no keyframe cut does better: the
    keyframes allow 2 + 3 or 4 + 1."""
    info = media(seconds, every(2, seconds))
    chunks = plan_chunks(info, 6, first_seconds=2).chunks
    assert all(c.preroll == 0 for c in chunks)  # every cut on a keyframe
    ends = finish_times([c.duration for c in chunks], workers=2)
    assert max(ends) - min(ends) == pytest.approx(gap)


@pytest.mark.parametrize("seconds", [5, 16, 60])
@pytest.mark.parametrize("workers", [1, 2, 3, 8])
def test_with_a_worker_count_every_worker_ends_within_a_frame(seconds: int, workers: int) -> None:
    """Given how many processes take the chunks, the last chunk of each is sized so that all
    end together, cutting off a keyframe (paying a pre-roll) where the keyframes do not allow
    it: at 5 s on two workers, 2 + 2.64 and 0.64 instead of 2 + 2 and a lone 1.28."""
    info = media(seconds, every(2, seconds))
    result = plan_chunks(info, 6, first_seconds=2, workers=workers)
    assert_well_formed(info, result)
    ends = finish_times([c.duration for c in result.chunks], workers)
    assert max(ends) - min(ends) <= 1 / FPS + 1e-9
    assert result.chunks[0].duration <= 2  # the first segment is as soon as before
    assert result.max_duration <= 6


def test_a_worker_that_would_get_a_sliver_gets_none() -> None:
    """Eight workers on a 1 s clip: a chunk each would be 3 frames; each chunk's task start
    costs more than that saves, so fewer workers take bigger ones."""
    info = media(1, [0])
    chunks = plan_chunks(info, 6, first_seconds=2, workers=8).chunks
    assert 1 < len(chunks) < 8
    assert min(c.frame_count for c in chunks) >= 5


@settings(max_examples=200, deadline=None)
@given(info=videos(), workers=st.integers(1, 16), target=st.sampled_from([0.04, 1, 2, 6]))
def test_property_a_worker_count_keeps_the_plan_well_formed(
    info: MediaInfo, workers: int, target: float
) -> None:
    assert_well_formed(info, plan_chunks(info, target, first_seconds=target / 2, workers=workers))
