"""``sprocket pipelines --all``: a user coming from the original Sprocket finds what each of its
stage names reads as here, and which it refuses."""

from __future__ import annotations

from typer.testing import CliRunner

from sprocket_cli.cli import app
from sprocket_cli.pipeline.aliases import REFUSED, STAGES, originals

runner = CliRunner()


def _rows(output: str) -> dict[str, str]:
    """First word of each line -> the line (wide enough that no row wraps)."""
    return {line.split()[0]: line for line in output.splitlines() if line.strip()}


def test_all_lists_the_stages_with_the_originals_names() -> None:
    plain = runner.invoke(app, ["pipelines"], env={"COLUMNS": "400"})
    every = runner.invoke(app, ["pipelines", "--all"], env={"COLUMNS": "400"})
    assert plain.exit_code == 0 and every.exit_code == 0, every.output
    assert "grayscale" not in plain.output  # stages only with --all
    rows = _rows(every.output)
    assert "filter" in rows and "scene_change" in rows  # a pipeline and a stage
    assert {"grayscale", "video_filter", "scale"} <= set(rows["filter"].replace(",", " ").split())
    assert "encode_to_dash" in rows["encode"] and "scenechange" in rows["scene_change"]
    assert {"ddos", "rpc_bench", "cmd"} <= set(rows["(refused)"].replace(",", " ").split())


def test_every_original_stage_name_is_listed_with_what_it_reads_as() -> None:
    listed = originals()
    assert sorted(n for names in listed.values() for n in names) == sorted([*STAGES, *REFUSED])
    assert "merge_filter" in listed["filter_complex"] and "grayscale" in listed["filter"]
    assert "ddos" in listed["refused"] and "null" in listed[""]
