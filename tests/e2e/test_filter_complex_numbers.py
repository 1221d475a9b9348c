"""Frame numbers (``n``) inside a ``--filter-complex`` graph against plain ``ffmpeg -filter_complex``.

Where a filter counts one input's frames one for one (on that input's own branch; for the
first input also an overlay whose main input they are, and after that overlay), each chunk
counts from its first decoded frame's number in that input. The inputs are those of the
windowed-filter tests: one at 30000/1001 fps with a keyframe every 2.5 s, so that 1 s chunks
(of it, or of the other cut on its spans) decode from a keyframe well before; the other at
25 fps and a second longer, so that an overlay on the first goes on past its end. Both sides
encode losslessly: same frame count, same times, every frame bit-identical.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_filter_complex import assert_plain_ffmpegs_frames, assert_refused_in_one_line
from tests.e2e.test_filter_complex_windows import ntsc, pal

__all__ = ["ntsc", "pal"]  # the clips, as fixtures of this module too


@pytest.mark.parametrize(
    "graph",
    [
        # The first input's own branch, as an inset on the second's frames.
        "[0:v]hue=h=n*7,scale=iw/3:-2[p];[1:v][p]overlay=W-w-8:8",
        # After a windowed filter: the chunks' pre-roll counts too.
        "[0:v]tmix=frames=3,geq=lum='mod(lum(X,Y)+N*5,256)':cb='cb(X,Y)':cr='cr(X,Y)'[g];[1:v][g]overlay=8:8",
        # The overlay's own n counts its main input's frames: the first's, then (past its end,
        # where the second's frames time the output) none more.
        "[1:v]scale=160:90[b];[0:v][b]overlay=x='mod(n*3,160)':y=8",
        # After the overlay: its frames, past the main input's end the repeats too.
        "[1:v]scale=160:90[b];[0:v][b]overlay=8:8,hue=h=n*5",
    ],
)
def test_first_inputs_frame_numbers_give_plain_ffmpegs_frames(
    ntsc: Path, pal: Path, tmp_path: Path, graph: str
) -> None:
    assert_plain_ffmpegs_frames([ntsc, pal], graph, tmp_path)


@pytest.mark.parametrize(
    ("order", "graph"),
    [
        # The second input's own branch, as an inset on the first's frames: its chunks are cut
        # on the first's spans, and count from their own first frame in the second input.
        ("ab", "[1:v]hue=h=n*3,scale=iw/3:-2[p];[0:v][p]overlay"),
        ("ba", "[1:v]hue=h=n*3,scale=iw/3:-2[p];[0:v][p]overlay"),  # 30000/1001 fps, sparse keys
        (
            "ba",
            "[1:v]geq=lum='mod(lum(X,Y)+N*5,256)':cb='cb(X,Y)':cr='cr(X,Y)',scale=iw/2:-2[g];[0:v][g]overlay=8:8",
        ),
        # After a window on that branch (its chunks start earlier), and both inputs counted.
        ("ab", r"[1:v]tmix=frames=3,hue=h=n*5,scale=iw/2:-2[t];[0:v]hue=s=mod(n\,9)/4[m];[m][t]overlay=8:8"),
    ],
)
def test_other_inputs_frame_numbers_give_plain_ffmpegs_frames(
    ntsc: Path, pal: Path, tmp_path: Path, order: str, graph: str
) -> None:
    assert_plain_ffmpegs_frames([{"a": ntsc, "b": pal}[name] for name in order], graph, tmp_path)


def test_one_inputs_graph_counts_its_frames_as_a_vf_graph(ntsc: Path, tmp_path: Path) -> None:
    assert_plain_ffmpegs_frames([ntsc], "[0:v]split[a][b];[b]hue=h=n*3[c];[a][c]hstack", tmp_path)


@pytest.mark.parametrize(
    ("graph", "message"),
    [
        # An overlay on the second input's frames, and after it: not shown to count as a whole run.
        ("[1:v][0:v]overlay=x=n:y=0", "'overlay=x=n:y=0' is frame-number (the frames it numbers are not"),
        ("[0:v]scale=64:-2[s];[1:v][s]overlay,hue=h=n", "'hue=h=n' is frame-number (the frames it numbers"),
        # A stack gives a frame at each input's times: its count depends on both.
        ("[1:v]scale=-2:180[b];[0:v][b]hstack,hue=h=n", "'hue=h=n' is frame-number (the frames it numbers"),
        ("[1:v]scale=320:180[b];[0:v][b]blend=all_expr=N", "'blend=all_expr=N' is frame-number (it numbers"),
        ("[0:v][1:v]overlay=x=n:shortest=1", "'overlay=x=n:shortest=1': shortest=1 changes the output"),
        ("[0:v]select='not(mod(n,3))'[s];[s][1:v]overlay", "is frame-number (counts frames"),
        ("[1:v]select='not(mod(n,3))'[s];[0:v][s]overlay", "is frame-number (counts frames"),
        ("[1:v]setpts=N/25/TB[s];[0:v][s]overlay", "'setpts=N/25/TB' is"),
        ("[1:v]fade=in:0:30[f];[0:v][f]overlay", "'fade=in:0:30' is"),
    ],
)
def test_other_frame_numbers_are_refused_in_one_line(
    ntsc: Path, pal: Path, tmp_path: Path, graph: str, message: str
) -> None:
    assert_refused_in_one_line([ntsc, pal], graph, message, tmp_path)
