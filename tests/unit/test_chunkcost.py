"""The chunks' cost in bytes: the measured figures read at a job's chunk lengths."""

from __future__ import annotations

import pytest

from sprocket_cli.media.chunkcost import MEASURED, ChunkCost, at_length, estimate

X265 = MEASURED["libx265"]


def test_x264_two_second_chunks_give_the_measured_figure() -> None:
    cost = estimate("libx264", "h264", [(2.0, 50)] * 5)
    assert cost.percent == pytest.approx(-0.09)
    assert cost.line() == ("~-0.1 % bytes at equal quality vs one whole-file encode (libx264, 2.0 s chunks)")


def test_a_costly_length_points_at_longer_chunks() -> None:
    line = estimate("libx265", "hevc", [(2.0, 50)] * 5).line()
    assert line == (
        "~+1.3 % bytes at equal quality vs one whole-file encode "
        "(libx265, 2.0 s chunks; longer chunks cost less: --chunk-seconds)"
    )


def test_between_measured_lengths_on_keyframes_per_second() -> None:
    # 3 s lies two thirds of the way from 2 s to 4 s in keyframes per second (1/2 -> 1/4).
    assert at_length(X265, 3.0) == pytest.approx(1.28 + (2 / 3) * (0.66 - 1.28))
    # Past the longest, the cost falls with the keyframes: 12 s chunks have half 6 s's.
    assert at_length(X265, 12.0) == pytest.approx(0.11)


def test_a_job_of_mixed_lengths_is_weighed_by_frames() -> None:
    # A short first chunk, then longer ones: each chunk's figure counts by its frames.
    cost = estimate("libx265", "hevc", [(1.0, 25), (2.0, 50), (4.0, 100)])
    assert cost.percent == pytest.approx((25 * 2.44 + 50 * 1.28 + 100 * 0.66) / 175)
    assert cost.seconds == pytest.approx(7 / 3)


def test_chunks_shorter_than_measured_are_said_to_be_extrapolated() -> None:
    cost = estimate("libx265", "hevc", [(0.5, 12)] * 4)
    assert cost.percent == pytest.approx(2 * 2.44)  # twice the keyframes of 1 s chunks
    assert "extrapolated below the 1 s measured" in cost.line()


@pytest.mark.parametrize(("encoder", "codec"), [("prores_ks", "prores"), ("dnxhd", "dnxhd")])
def test_an_intra_codec_costs_nothing(encoder: str, codec: str) -> None:
    cost = estimate(encoder, codec, [(2.0, 50)] * 5)
    assert cost.percent == 0.0 and cost.intra
    assert cost.line().startswith(f"0 % bytes: {encoder} codes every frame on its own")


def test_an_encoder_without_figures_says_not_measured() -> None:
    cost = estimate("libaom-av1", "av1", [(2.0, 50)] * 5)
    assert cost.percent is None
    assert cost.line() == (
        "bytes at equal quality vs one whole-file encode not measured (libaom-av1, 2.0 s chunks)"
    )


def test_one_chunk_is_the_whole_file_encode() -> None:
    cost = estimate("libx265", "hevc", [(10.0, 250)])
    assert cost.percent == 0.0 and cost.line().startswith("0 % bytes: one chunk")


def test_the_event_form_reads_back() -> None:
    cost = estimate("libvpx-vp9", "vp9", [(2.0, 50), (6.0, 150)])
    assert ChunkCost.from_dict(cost.to_dict()) == cost
