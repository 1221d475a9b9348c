"""``--open``, ``--player`` and ``sprocket serve`` from the command line."""

from __future__ import annotations

import json
import urllib.request
import webbrowser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sprocket_cli.cli import app

runner = CliRunner()


def test_open_serves_the_stream_and_opens_the_browser(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []

    def fake_open(url: str) -> bool:
        # The user's browser stands in for a client: fetch what it would load first.
        with urllib.request.urlopen(url + "stream/master.m3u8", timeout=10) as resp:
            assert resp.read().startswith(b"#EXTM3U")
        opened.append(url)
        return True

    monkeypatch.setattr(webbrowser, "open", fake_open)
    out = tmp_path / "out.mp4"
    result = runner.invoke(
        app,
        ["filter", str(clip), "--vf", "hue=s=0", "-o", str(out), "--open", "--serve-for", "0",
         "--job-dir", str(tmp_path / "jobs")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(opened) == 1 and opened[0].startswith("http://127.0.0.1:")
    assert out.exists()


def test_a_player_not_installed_falls_back_to_ffplay_then_the_browser(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url: opened.append(url) is None)
    monkeypatch.setenv("PATH", str(tmp_path))  # no mpv, no ffplay anywhere
    out = tmp_path / "out.mp4"
    args = ["filter", str(clip), "--vf", "hue=s=0", "-o", str(out), "--open", "--serve-for", "0",
            "--job-dir", str(tmp_path / "jobs")]  # fmt: skip
    result = runner.invoke(app, [*args, "--player", "mpv"])
    assert result.exit_code == 0, result.output
    assert "note: mpv is not installed: opening the browser instead" in result.stderr
    assert "stream: http://127.0.0.1:" in result.stderr  # the URL, whatever opens it
    assert len(opened) == 1 and out.exists()
    # An ffplay on PATH is the first fallback.
    ffplay = tmp_path / "ffplay"
    ffplay.write_text("#!/bin/sh\nexit 0\n")
    ffplay.chmod(0o755)
    result = runner.invoke(app, [*args, "--player", "vlc", "--overwrite"])
    assert result.exit_code == 0, result.output
    assert "note: vlc is not installed: playing in ffplay" in result.stderr
    assert len(opened) == 1  # not the browser this time


def test_an_unknown_player_is_refused(clip: Path) -> None:
    result = runner.invoke(app, ["filter", str(clip), "--vf", "hue=s=0", "--open", "--player", "winamp"])
    assert result.exit_code == 2 and "--player must be one of mpv, ffplay, vlc" in result.output


def test_player_without_open_is_refused(clip: Path) -> None:
    result = runner.invoke(app, ["filter", str(clip), "--vf", "hue=s=0", "--player", "mpv"])
    assert result.exit_code == 2 and "--open" in result.output


def test_serve_a_finished_job(clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = tmp_path / "jobs"
    result = runner.invoke(
        app,
        ["filter", str(clip), "--vf", "hue=s=0", "-o", str(tmp_path / "o.mp4"), "--json",
         "--job-dir", str(jobs)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    job_id = json.loads(result.output.splitlines()[0])["job_id"]
    fetched: list[bytes] = []

    def fake_open(url: str) -> bool:
        with urllib.request.urlopen(url + "stream/stream.m3u8", timeout=10) as resp:
            fetched.append(resp.read())
        return True

    monkeypatch.setattr(webbrowser, "open", fake_open)
    result = runner.invoke(app, ["serve", job_id, "--job-dir", str(jobs), "--serve-for", "0"])
    assert result.exit_code == 0, result.output
    assert fetched and fetched[0].rstrip().endswith(b"#EXT-X-ENDLIST")


def test_serve_unknown_job(tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve", "20990101-000000-beef", "--job-dir", str(tmp_path)])
    assert result.exit_code == 2 and "no such job" in result.output
