"""Encoder options, containers and codec strings: what the names an editor types turn into."""

from __future__ import annotations

from pathlib import Path

import pytest

from sprocket_cli.errors import OptionError, OutputError
from sprocket_cli.media.codecs import encoder_options, resolve
from sprocket_cli.media.containers import MKV, MOV, MP4, WEBM, Container, audio_target, container_for
from sprocket_cli.media.fmp4 import codec_string


@pytest.mark.parametrize(
    ("codec", "want"),
    [
        ("x264", {"c:v": "libx264", "preset": "veryfast", "crf": "23"}),
        ("x265", {"c:v": "libx265", "tag:v": "hvc1", "x265-params": "info=0",
                  "preset": "veryfast", "crf": "28"}),
        ("av1", {"c:v": "libsvtav1", "preset": "10", "crf": "35"}),
        ("vp9", {"c:v": "libvpx-vp9", "b:v": "0", "row-mt": "1",
                 "deadline": "good", "cpu-used": "5", "crf": "31"}),
        ("prores", {"c:v": "prores_ks", "profile:v": "hq", "vendor": "apl0", "pix_fmt": "yuv422p10le"}),
        ("dnxhr", {"c:v": "dnxhd", "profile:v": "dnxhr_hq", "pix_fmt": "yuv422p"}),
    ],
)  # fmt: skip
def test_an_alias_gives_its_encoder_with_its_defaults(codec: str, want: dict[str, str]) -> None:
    assert encoder_options(codec) == want


def test_one_speed_name_maps_to_each_encoders_own() -> None:
    assert encoder_options("x265", preset="slow")["preset"] == "slow"
    assert encoder_options("av1", preset="slow")["preset"] == "4"
    assert encoder_options("av1", preset="12")["preset"] == "12"
    vp9 = encoder_options("vp9", preset="ultrafast")
    assert (vp9["deadline"], vp9["cpu-used"]) == ("realtime", "8")


def test_the_users_args_come_last_and_join_the_library_params() -> None:
    options = encoder_options("x265", crf=18, encoder_args="-x265-params aq-mode=3 -tune grain -crf 20")
    assert options["x265-params"] == "info=0:aq-mode=3"
    assert (options["tune"], options["crf"]) == ("grain", "20")


def test_an_encoder_outside_the_table_gets_only_what_was_asked() -> None:
    assert encoder_options("mpeg4") == {"c:v": "mpeg4"}
    assert encoder_options("mpeg4", crf=5, preset="x") == {"c:v": "mpeg4", "preset": "x", "crf": "5"}
    assert resolve("prores_ks").segment_format == "mov"
    assert resolve("libvpx-vp9").segment_format == "mp4"


@pytest.mark.parametrize(
    ("kwargs", "option", "needle"),
    [
        ({"codec": "prores", "crf": 20}, "crf", "ProRes quality is set by its profile"),
        ({"codec": "dnxhr", "preset": "fast"}, "preset", "DNxHR quality"),
        ({"codec": "x264", "crf": 52}, "crf", "0 to 51"),
        ({"codec": "av1", "crf": 64}, "crf", "0 to 63"),
        ({"codec": "av1", "preset": "14"}, "preset", "-2 to 13"),
        ({"codec": "libnothing"}, "codec", "x265 (libx265)"),
        ({"codec": "x264", "encoder_args": "-tune"}, "encoder_args", "pairs"),
        ({"codec": "x264", "encoder_args": "-vf hflip"}, "encoder_args", "-vf is set by the job"),
        ({"codec": "x264", "encoder_args": "-tune 'grain"}, "encoder_args", "quotation"),
    ],
)
def test_what_cannot_work_is_refused_naming_the_option(
    kwargs: dict[str, object], option: str, needle: str
) -> None:
    with pytest.raises(OptionError) as refused:
        encoder_options(**kwargs)  # type: ignore[arg-type]  # mixed values, as the CLI passes them
    assert refused.value.option == option
    assert needle in refused.value.problem


def test_the_suffix_names_the_container() -> None:
    assert [container_for(Path(f"a{s}")) for s in (".mp4", ".M4V", ".mov", ".mkv", ".webm")] == [
        MP4, MP4, MOV, MKV, WEBM
    ]  # fmt: skip
    with pytest.raises(OutputError, match=r"\.mkv or \.webm"):
        container_for(Path("a.avi"))


@pytest.mark.parametrize(
    ("container", "video", "source", "copied", "transcoded"),
    [
        (MP4, "h264", "aac", True, "aac"),
        (MP4, "h264", "pcm_s16le", False, "aac"),
        (MOV, "h264", "aac", True, "aac"),
        (MOV, "prores", "aac", False, "pcm_s16le"),
        (MOV, "dnxhd", "flac", False, "pcm_s24le"),
        (MOV, "prores", "pcm_s24le", True, "pcm_s24le"),
        (MKV, "prores", "aac", True, "aac"),
        (WEBM, "vp9", "aac", False, "libopus"),
        (WEBM, "av1", "opus", True, "libopus"),
    ],
)
def test_audio_is_copied_where_the_container_takes_it(
    container: Container, video: str, source: str, copied: bool, transcoded: str
) -> None:
    target = audio_target(container, video, source)
    assert (source in target.copies) == copied
    assert target.transcode[0] == transcoded
    said = target.describe(source, copied=copied)
    if copied:
        assert said == f"{source}, copied"
    else:
        assert said.startswith(f"{source} -> {transcoded} (")


@pytest.mark.parametrize(
    ("kind", "box", "want"),
    [
        ("avc1", {b"avcC": bytes([1, 0x64, 0x00, 0x1F, 0xFF])}, "avc1.64001f"),
        # Main 10, level 4.1, progressive source flags: Apple's HLS authoring example.
        ("hvc1", {b"hvcC": bytes([1, 0x02, 0x20, 0, 0, 0, 0xB0, 0, 0, 0, 0, 0, 123])}, "hvc1.2.4.L123.B0"),
        ("hev1", {b"hvcC": bytes([1, 0x21, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 153])}, "hev1.1.6.H153.90"),
        ("av01", {b"av1C": bytes([0x81, 0x08, 0x0C, 0])}, "av01.0.08M.08"),
        ("av01", {b"av1C": bytes([0x81, 0x2D, 0xC0, 0])}, "av01.1.13H.10"),
        ("vp09", {b"vpcC": bytes([1, 0, 0, 0, 2, 31, 0xA0, 1])}, "vp09.02.31.10"),
        ("apch", {}, "apch"),
    ],
)
def test_codec_strings_as_browsers_and_playlists_want_them(
    kind: str, box: dict[bytes, bytes], want: str
) -> None:
    assert codec_string(kind, box) == want
