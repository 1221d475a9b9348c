"""``--map`` and ``--map-metadata`` read as ffmpeg reads ``-map`` and ``-map_metadata``, over the
streams a probe reports (no file needed: the picks depend on the stream lists alone)."""

from __future__ import annotations

import pytest

from sprocket_cli.errors import OptionError
from sprocket_cli.media.probe import AttachmentInfo, AudioInfo, SubtitleInfo, Tracks
from sprocket_cli.media.trackmap import metadata_choice, pick, split_metadata

STYLED = Tracks(
    "styled.mkv",
    (AudioInfo(0, "aac", 48000, 2, 2.0, "jpn"),),
    (SubtitleInfo(0, "ass", "eng"),),
    (AttachmentInfo(0, "DejaVuSans.ttf", "font/ttf"), AttachmentInfo(1, "cover.jpg", "image/jpeg")),
)


def kinds(maps: list[str]) -> list[tuple[int, str, int]]:
    return [(p.input, p.kind, p.number) for p in pick(maps, [STYLED])]


def test_the_default_leaves_attachments_out_as_ffmpegs_stream_selection() -> None:
    assert kinds([]) == [(0, "a", 0), (0, "s", 0)]
    assert kinds(["-0:s"]) == [(0, "a", 0)]


def test_map_0_takes_the_attachments_too_and_0_t_only_them() -> None:
    assert kinds(["0"]) == [(0, "a", 0), (0, "s", 0), (0, "t", 0), (0, "t", 1)]
    assert kinds(["0:t"]) == [(0, "t", 0), (0, "t", 1)]
    assert kinds(["0", "-0:t:1"]) == [(0, "a", 0), (0, "s", 0), (0, "t", 0)]
    assert kinds(["0:t:m:mimetype:font/ttf"]) == [(0, "t", 0)]


def test_a_source_without_attachments_says_so() -> None:
    bare = Tracks("clip.mp4", (), ())
    with pytest.raises(
        OptionError, match=r"matches no stream: clip\.mp4 has 0 audio, 0 subtitle and 0 attachment"
    ):
        pick(["0:t"], [bare])
    assert pick(["0:t?"], [bare]) == ()


def test_data_streams_stay_refused() -> None:
    with pytest.raises(OptionError, match="data streams are not kept"):
        pick(["0:d"], [STYLED])


@pytest.mark.parametrize(
    ("value", "inputs", "choice"), [(-1, 1, "0:s map_metadata=-1"), (1, 2, "0:s map_metadata=1")]
)
def test_map_metadata_rides_with_the_maps_and_comes_back(value: int, inputs: int, choice: str) -> None:
    assert f"0:s {metadata_choice(value, inputs)}" == choice
    assert split_metadata(choice) == ("0:s", value)


def test_without_map_metadata_the_choice_is_as_it_was() -> None:
    assert split_metadata("0:a:1 -0:s") == ("0:a:1 -0:s", None)
    assert split_metadata("map_metadata=0") == ("a", 0)  # no map: every track, as without one


@pytest.mark.parametrize("value", [-2, 1])
def test_map_metadata_names_an_input_that_is_there(value: int) -> None:
    with pytest.raises(OptionError, match="takes -1 \\(no tags\\) or an input's number, 0 to 0"):
        metadata_choice(value, 1)
