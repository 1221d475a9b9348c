"""The filter model over a --filter-complex graph: windows counted in time along each path."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest

from sprocket_cli.plan.complexgraph import GraphRefused, parse_complex
from sprocket_cli.plan.complexmodel import frames_for, model_graph

#: The longest frame interval of each input: 25 fps and 30 fps.
INTERVALS = [Fraction(1, 25), Fraction(1, 30)]


@pytest.mark.parametrize(
    ("text", "before", "after"),
    [
        ("[0:v]scale=iw/4:-2[p];[1:v][p]overlay", 0, 0),  # per-frame only: no roll
        ("[0:v]tmix=frames=3[t];[1:v][t]overlay", 2, 0),
        # A window that reads ahead counts before too: where it stops short of its input's end,
        # a chunk past there still needs the last frame it gives.
        ("[0:v]tmedian=radius=1[m];[m][1:v]hstack", 2, 2),
        ("[0:v]tmix=frames=3,tmedian=radius=1[t];[1:v][t]overlay", 4, 2),  # windows in a row add up
        # Windows on parallel branches: the longest path, not the sum.
        ("[0:v]split[a][b];[a]tmix=frames=5[x];[b]tmix=frames=3[y];[x][y]hstack[s];[s][1:v]overlay", 4, 0),
    ],
)
def test_windows_add_up_along_the_longest_path(text: str, before: int, after: int) -> None:
    rolls = model_graph(parse_complex(text)).roll_seconds(INTERVALS)
    assert rolls == (before * INTERVALS[0], after * INTERVALS[0])


def test_seconds_become_frames_of_the_first_input_at_its_shortest_interval() -> None:
    assert frames_for(Fraction(0), Fraction(1, 25)) == 0
    assert frames_for(Fraction(2, 25), Fraction(1, 25)) == 2
    assert frames_for(Fraction(2, 25), Fraction(1, 30)) == 3  # 2/25 s is 2.4 frames at 30 fps


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[0:v]tblend[t];[t][1:v]overlay", "'tblend' gives no frame for its input's first frame"),
        ("[0:v]yadif=mode=1[d];[d][1:v]overlay", "'yadif=mode=1' sends a frame per field"),
        # After a join of the second input's frames: not one input's one for one.
        ("[1:v]scale=-2:180[b];[0:v][b]hstack,hue=h=n", "'hue=h=n' is frame-number (the frames it"),
        ("[1:v][0:v]overlay=x=n:y=0", "'overlay=x=n:y=0' is frame-number (the frames it numbers"),
        ("[0:v]scale=64:-2[s];[1:v][s]overlay,hue=h=n", "'hue=h=n' is frame-number (the frames it"),
        ("[1:v]scale=320:180[b];[0:v][b]blend=all_expr=N", "(it numbers the frames it pairs from 2"),
        ("[1:v]select='not(mod(n,3))'[s];[0:v][s]overlay", "is frame-number (counts frames"),
        ("[1:v]setpts=N/25/TB[s];[0:v][s]overlay", "'setpts=N/25/TB' is"),
        ("[1:v]fade=in:0:30[f];[0:v][f]overlay", "'fade=in:0:30' is"),
        ("[0:v][1:v]hstack,hue=h=n*3", "'hue=h=n*3' is frame-number"),
        ("[0:v]fps=10[f];[f][1:v]hstack", "'fps=10' is rate"),
        ("[0:v]reverse[r];[r][1:v]hstack", "'reverse' is whole-stream"),
        # The per-frame filters' own checks still apply beside a window.
        (
            "[0:v]tmix=frames=3[t];[t][1:v]overlay=shortest=1",
            "shortest=1 changes the output where an input ends",
        ),
    ],
)
def test_what_does_not_split_is_refused_naming_the_filter(text: str, named: str) -> None:
    with pytest.raises(GraphRefused, match=re.escape(named)):
        model_graph(parse_complex(text))


@pytest.mark.parametrize(
    ("text", "numbered"),
    [
        ("[0:v]hue=h=n*3[h];[h][1:v]hstack", {(0, 0): 0}),
        ("[0:v]tmix=frames=3,hue=h=n*3[t];[1:v][t]overlay", {(0, 1): 0}),  # after a window
        ("[1:v]scale=64:-2[b];[0:v][b]overlay=x=n:y=0,hue=h=n", {(1, 0): 0, (1, 1): 0}),  # the main input's
        # The second input's own branch counts its frames, however it joins the first's.
        ("[1:v]hue=h=n*3,scale=iw/3:-2[p];[0:v][p]overlay", {(0, 0): 1}),
        ("[1:v]split[x][y];[y]hflip,hue=h=n[h];[x][h]hstack[s];[0:v][s]overlay", {(1, 1): 1}),
        ("[0:v]hue=h=n[a];[1:v]hue=s=n/100[b];[a][b]hstack", {(0, 0): 0, (1, 0): 1}),
    ],
)
def test_frame_numbers_of_one_inputs_frames_are_counted_per_chunk(
    text: str, numbered: dict[tuple[int, int], int]
) -> None:
    model = model_graph(parse_complex(text))
    assert model.numbered == numbered
    offsets = {step: (40, 7)[n] for step, n in model.numbered.items()}
    shifted = model.graph.renumbered(offsets).render({0: "a", 1: "b"})
    for n in (0, 1):
        assert shifted.count(f"(n+{(40, 7)[n]})") == list(numbered.values()).count(n)


#: Two inputs: 4 s at 25 fps and 5 s at 30000/1001 fps (ends; shortest and longest intervals).
ENDS = [Fraction(4), Fraction(5)]
RATES = [Fraction(1, 25), Fraction(1001, 30000)]


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("[1:v]scale=iw/3:-2[p];[0:v][p]overlay", True),  # the faster input outlasts the main
        ("[1:v]scale=iw/3:-2[s];[s]hflip[p];[0:v][p]overlay,hue=s=0", True),  # through a branch
        ("[0:v]scale=iw/3:-2[p];[1:v][p]overlay", False),  # the main one outlasts the other
        ("[1:v]scale=-2:180[b];[0:v][b]hstack", False),  # a stack keeps exact times
    ],
)
def test_a_join_whose_faster_input_outlasts_its_main_is_refused(text: str, refused: bool) -> None:
    model = model_graph(parse_complex(text))
    if refused:
        with pytest.raises(
            GraphRefused, match="another input outlasts its main input at a higher frame rate"
        ):
            model.check_tails(ENDS, RATES, RATES)
    else:
        model.check_tails(ENDS, RATES, RATES)
