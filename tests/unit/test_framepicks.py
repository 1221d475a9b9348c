"""Frames picked by number (plan.framepicks): which selects qualify, and what chunks need."""

from __future__ import annotations

from fractions import Fraction

import pytest

from sprocket_cli.plan.filtergraph import parse_graph
from sprocket_cli.plan.framepicks import pack, packs, picked, picks_by_number, reach, span, unpack


@pytest.mark.parametrize(
    ("vf", "by_number"),
    [
        ("select='not(mod(n,3))'", True),
        ("select=e='between(n,10,20)+gte(n,90)'", True),
        ("select=expr='lt(mod(n,50),20)'", True),
        ("select='gt(scene,0.3)'", False),  # reads the pictures
        ("select='lt(t,3)'", False),  # reads times
        ("select='st(0,n)*0+ld(0)'", False),  # stores a variable between frames
        ("select='not(mod(n,3))':outputs=2", False),  # a second output
        ("select=1", False),  # no frame number: nothing to place
    ],
)
def test_a_select_qualifies_when_it_reads_only_n(vf: str, by_number: bool) -> None:
    assert picks_by_number(parse_graph(vf)[0]) is by_number


@pytest.mark.parametrize(
    ("vf", "packed"),
    [("setpts=N/FRAME_RATE/TB", True), ("setpts=N/(FRAME_RATE*TB)", True), ("setpts=N/TB/FRAME_RATE", True),
     ("setpts=2*N/FRAME_RATE/TB", False), ("setpts=PTS-STARTPTS", False)],
)  # fmt: skip
def test_setpts_packs_only_one_frame_duration_apart(vf: str, packed: bool) -> None:
    assert packs(parse_graph(vf)[0]) is packed


def test_ffmpeg_says_which_frames_are_picked() -> None:
    mask = picked("select='not(mod(n,3))+eq(n,4)'", 10)
    assert list(mask) == [1, 0, 0, 1, 1, 0, 1, 0, 0, 1]
    assert unpack(pack(mask)) == mask


def test_windows_over_picks_reach_back_over_the_widest_gap() -> None:
    mask = bytes([1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 1])
    assert reach(mask, 2, 0) == (8, 0)  # from the pick at 8 back two picks to 0: the widest
    assert reach(mask, 0, 1) == (0, 5)


def test_a_chunk_spans_its_picks_half_a_frame_early() -> None:
    mask = bytes([1, 0, 1, 1, 0, 1])
    before, start, end = span(mask, 2, 5, Fraction(25))
    assert before == 1
    assert (start, end) == (0.5 / 25, 2.5 / 25)
