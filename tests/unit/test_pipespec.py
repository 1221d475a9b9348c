"""Pipespec validation: every kind of problem is reported with its location, all at once."""

from __future__ import annotations

import textwrap
from typing import Any, ClassVar

import pytest

import builtin_pipelines
from sprocket_cli.errors import PipespecError
from sprocket_cli.pipeline.pipespec import Pipespec, parse
from sprocket_cli.stages.base import Stage, StageConfig
from sprocket_cli.stages.decode import Decode
from sprocket_cli.stages.encode import Encode, EncodeConfig
from sprocket_cli.stages.filter import Filter

SOURCE = "test.json"


class MyStageConfig(StageConfig):
    strength: int = 1


class MyStage(Stage[MyStageConfig]):
    """A user stage loaded by ``module:Class`` from a pipespec."""

    NAME: ClassVar[str] = "my_stage"
    DESCRIPTION: ClassVar[str] = "test stage"
    INPUTS: ClassVar[tuple[str, ...]] = ("frames",)
    OUTPUTS: ClassVar[tuple[str, ...]] = ("frames",)
    Config: ClassVar[type[StageConfig]] = MyStageConfig

    def contribute(self, config: MyStageConfig, command: Any, chunk: Any) -> None:
        pass


class NotAStage:
    """Referenced by ``module:Class`` to check that non-Stage classes are refused."""


def spec(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"


def problems(text: str, **kwargs: Any) -> list[str]:
    """The problems ``parse`` reports for ``text`` (it must raise)."""
    with pytest.raises(PipespecError) as info:
        parse(text, source=SOURCE, **kwargs)
    assert info.value.source == SOURCE
    assert str(info.value).startswith(f"{SOURCE}: {len(info.value.problems)} problem")
    return info.value.problems


def line_of(text: str, snippet: str, occurrence: int = 0) -> int:
    """1-based line of the ``occurrence``-th line of ``text`` containing ``snippet``."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if snippet in line]
    return hits[occurrence]


def only(found: list[str], *needles: str) -> str:
    """The single problem containing every needle."""
    matching = [p for p in found if all(n in p for n in needles)]
    assert len(matching) == 1, f"expected one problem with {needles}, got {found}"
    return matching[0]


ENC = '"name": "enc"'
FILTER_TEXT = builtin_pipelines.path("filter").read_text(encoding="utf-8")

VALID = spec(
    """
    {
      "nodes": [
        {"name": "dec", "stage": "decode"},
        {"name": "gray", "stage": "filter", "config": {"vf": "hue=s=0"}},
        {"name": "enc", "stage": "encode", "config": {"crf": 30}}
      ],
      "streams": [
        {"src": "input_0:chunks", "dst": "dec:chunks"},
        {"src": "dec:frames", "dst": "gray:frames"},
        {"src": "gray:frames", "dst": "enc:frames"},
        {"src": "enc:chunks", "dst": "output_0:chunks"}
      ]
    }
    """
)


def test_valid_spec_parses_into_frozen_objects() -> None:
    result = parse(VALID, source=SOURCE, name="mine")
    assert isinstance(result, Pipespec)
    assert result.name == "mine"
    assert [n.name for n in result.nodes] == ["dec", "gray", "enc"]
    assert [n.stage for n in result.nodes] == [Decode, Filter, Encode]
    assert result.node("enc").config == EncodeConfig(crf=30)
    assert result.inputs == ("input_0",)
    assert result.outputs == ("output_0",)
    assert [(s.index, str(s.src), str(s.dst)) for s in result.streams] == [
        (0, "input_0:chunks", "dec:chunks"),
        (1, "dec:frames", "gray:frames"),
        (2, "gray:frames", "enc:frames"),
        (3, "enc:chunks", "output_0:chunks"),
    ]


# --- one test per kind of problem ---------------------------------------------------------


def test_invalid_json_reports_line_and_column() -> None:
    text = '{\n  "nodes": [\n    {"name": "dec", "stage": "decode"},,\n  ]\n}\n'
    found = problems(text)
    assert len(found) == 1
    # The second comma on line 3 is at column 40.
    assert found[0].startswith("pipespec (line 3, column 40): invalid JSON")


def test_unknown_stage_lists_installed_stages() -> None:
    text = VALID.replace('"stage": "filter"', '"stage": "blur"')
    problem = only(problems(text), "unknown stage 'blur'")
    assert problem.startswith(f"node 'gray' (line {line_of(text, 'blur')}, column ")
    installed = problem.partition("installed: ")[2].split(", ")
    assert installed == sorted(installed) and {"decode", "filter", "encode", "blend"} <= set(installed)


def test_unknown_output_port_on_src_side() -> None:
    text = VALID.replace('"src": "dec:frames"', '"src": "dec:video"')
    problem = only(problems(text), "no output port 'video'")
    assert problem.startswith(f"stream 1 (line {line_of(text, 'dec:video')}, column ")
    assert "node 'dec' (stage 'decode')" in problem
    assert "its output ports: frames" in problem


def test_unknown_input_port_on_dst_side() -> None:
    text = VALID.replace('"dst": "enc:frames"', '"dst": "enc:pictures"')
    problem = only(problems(text), "no input port 'pictures'")
    assert problem.startswith(f"stream 2 (line {line_of(text, 'enc:pictures')}, column ")
    assert "node 'enc' (stage 'encode')" in problem
    assert "its input ports: frames" in problem


def test_stream_to_unknown_node() -> None:
    text = VALID.replace('"dst": "enc:frames"', '"dst": "nobody:frames"')
    problem = only(problems(text), "unknown node 'nobody'")
    assert problem.startswith(f"stream 2 (line {line_of(text, 'nobody:frames')}, column ")


def test_type_mismatch_between_ports() -> None:
    # Compressed chunks straight into the filter's frames port.
    text = VALID.replace('"src": "dec:frames"', '"src": "input_0:chunks"')
    problem = only(problems(text), "type mismatch")
    line = line_of(text, "input_0:chunks", occurrence=1)
    assert problem.startswith(f"stream 1 (line {line}, column ")
    assert "input_0:chunks carries 'chunks'" in problem
    assert "gray:frames takes 'frames'" in problem


def test_cycle_is_reported_with_its_nodes() -> None:
    text = spec(
        """
        {
          "nodes": [
            {"name": "dec", "stage": "decode"},
            {"name": "enc", "stage": "encode"},
            {"name": "f1", "stage": "filter", "config": {"vf": "hue=s=0"}},
            {"name": "f2", "stage": "filter", "config": {"vf": "vflip"}}
          ],
          "streams": [
            {"src": "input_0:chunks", "dst": "dec:chunks"},
            {"src": "dec:frames", "dst": "enc:frames"},
            {"src": "enc:chunks", "dst": "output_0:chunks"},
            {"src": "f1:frames", "dst": "f2:frames"},
            {"src": "f2:frames", "dst": "f1:frames"}
          ]
        }
        """
    )
    found = problems(text)
    assert len(found) == 1
    assert found[0] in ("pipespec: cycle: f1 -> f2 -> f1", "pipespec: cycle: f2 -> f1 -> f2")


def test_self_loop_is_a_cycle() -> None:
    text = spec(
        """
        {
          "nodes": [
            {"name": "dec", "stage": "decode"},
            {"name": "loop", "stage": "filter", "config": {"vf": "vflip"}},
            {"name": "enc", "stage": "encode"}
          ],
          "streams": [
            {"src": "input_0:chunks", "dst": "dec:chunks"},
            {"src": "dec:frames", "dst": "enc:frames"},
            {"src": "loop:frames", "dst": "loop:frames"},
            {"src": "enc:chunks", "dst": "output_0:chunks"}
          ]
        }
        """
    )
    assert problems(text) == ["pipespec: cycle: loop -> loop"]


def test_unconnected_input_port() -> None:
    text = spec(
        """
        {
          "nodes": [
            {"name": "dec", "stage": "decode"},
            {"name": "lonely", "stage": "filter", "config": {"vf": "vflip"}},
            {"name": "enc", "stage": "encode"}
          ],
          "streams": [
            {"src": "input_0:chunks", "dst": "dec:chunks"},
            {"src": "dec:frames", "dst": "enc:frames"},
            {"src": "enc:chunks", "dst": "output_0:chunks"}
          ]
        }
        """
    )
    found = problems(text)
    assert found == [
        f"node 'lonely' (line {line_of(text, 'lonely')}, column 6): input port 'frames' is not connected"
    ]


def test_duplicate_node_name_is_reported() -> None:
    text = VALID.replace('"name": "enc"', '"name": "gray"')
    problem = only(problems(text), "duplicate node name")
    assert problem.startswith("node 'gray' (line ")


def test_duplicate_node_name_points_at_the_duplicate() -> None:
    text = VALID.replace('"name": "enc"', '"name": "gray"')
    problem = only(problems(text), "duplicate node name")
    duplicate_line = line_of(text, '"name": "gray"', occurrence=1)
    assert problem.startswith(f"node 'gray' (line {duplicate_line}, column ")


@pytest.mark.parametrize(
    ("node_config", "needles"),
    [
        pytest.param(
            '{"name": "gray", "stage": "filter"}',
            ("config vf: Field required", "(stage 'filter')"),
            id="filter-without-vf",
        ),
        pytest.param(
            '{"name": "gray", "stage": "filter", "config": {"vf": ""}}',
            ("config vf: String should have at least 1 character",),
            id="filter-empty-vf",
        ),
        pytest.param(
            '{"name": "gray", "stage": "encode", "config": {"crf": 99}}',
            ("config crf: Value error, 99: libx264 takes 0 to 51", "(stage 'encode')"),
            id="encode-crf-99",
        ),
        pytest.param(
            '{"name": "gray", "stage": "encode", "config": {"preset": "turbo"}}',
            ("config preset:", "(stage 'encode')"),
            id="encode-bad-preset",
        ),
        pytest.param(
            '{"name": "gray", "stage": "filter", "config": {"vf": "vflip", "colour": 1}}',
            ("config colour: Extra inputs are not permitted",),
            id="unknown-config-key",
        ),
        pytest.param(
            '{"name": "gray", "stage": "filter", "config": ["vflip"]}',
            ('"config" must be an object',),
            id="config-not-object",
        ),
    ],
)
def test_bad_config_for_a_stage(node_config: str, needles: tuple[str, ...]) -> None:
    old = '{"name": "gray", "stage": "filter", "config": {"vf": "hue=s=0"}}'
    assert old in VALID
    text = VALID.replace(old, node_config)
    problem = only(problems(text), *needles)
    assert problem.startswith(f"node 'gray' (line {line_of(text, 'gray')}, column ")


def test_unknown_node_key() -> None:
    text = VALID.replace('"stage": "decode"', '"stage": "decode", "colour": "red"')
    problem = only(problems(text), "unknown key 'colour'")
    assert problem.startswith(f"node 'dec' (line {line_of(text, 'colour')}, column ")


def test_fuse_must_be_boolean() -> None:
    text = VALID.replace('"stage": "decode"', '"stage": "decode", "fuse": "no"')
    problem = only(problems(text), '"fuse" must be true or false')
    assert problem.startswith("node 'dec' (line ")


def test_unknown_delivery_function() -> None:
    text = VALID.replace('"stage": "decode"', '"stage": "decode", "delivery_function": "zip"')
    problem = only(problems(text), "unknown delivery function 'zip'")
    assert problem.startswith(f"node 'dec' (line {line_of(text, 'zip')}, column ")
    installed = problem.partition("installed: ")[2].split(", ")
    assert installed == sorted(installed) and {"one_to_one", "pair", "scenes"} <= set(installed)


@pytest.mark.parametrize("reserved", ["input_0", "output_1"])
def test_reserved_node_name(reserved: str) -> None:
    text = VALID.replace('"name": "gray"', f'"name": "{reserved}"')
    problem = only(problems(text), "is reserved for run-time inputs and outputs")
    assert problem.startswith(f"node '{reserved}' (line {line_of(text, reserved)}, column ")


def test_node_name_starting_with_input_is_usable_or_rejected_as_reserved() -> None:
    text = VALID.replace('"gray', '"input_video')
    try:
        result = parse(text, source=SOURCE)
    except PipespecError as exc:
        assert any("reserved" in p for p in exc.problems), exc.problems
    else:
        assert result.node("input_video").stage is Filter


def test_no_output_endpoint() -> None:
    text = VALID.replace('    {"src": "enc:chunks", "dst": "output_0:chunks"}\n', "")
    text = text.replace('"dst": "enc:frames"},', '"dst": "enc:frames"}')
    assert "output_0" not in text
    found = problems(text)
    assert found == ["pipespec: no stream reaches an output_N endpoint, so nothing would be written"]


def test_port_fed_by_two_streams() -> None:
    text = VALID.replace(
        '{"src": "gray:frames", "dst": "enc:frames"},',
        '{"src": "gray:frames", "dst": "enc:frames"},\n    {"src": "dec:frames", "dst": "enc:frames"},',
    )
    found = problems(text)
    assert found == [
        f"node 'enc' (line {line_of(text, ENC)}, column 6): "
        "input port 'frames' is fed by several streams (2, 3)"
    ]


def test_endpoint_on_the_wrong_side() -> None:
    text = VALID.replace('"src": "input_0:chunks"', '"src": "output_0:chunks"')
    problem = only(problems(text), "'output_0' cannot be a source")
    assert problem.startswith("stream 0 (line ")


def test_malformed_stream_and_endpoint() -> None:
    text = VALID.replace('"src": "dec:frames"', '"src": "dec-frames"')
    problem = only(problems(text), 'src must be "node:port"')
    assert problem.startswith(f"stream 1 (line {line_of(text, 'dec-frames')}, column ")


def test_top_level_shape_problems() -> None:
    found = problems('{"nodes": [], "streams": {}, "extra": 1}')
    assert any("unknown key 'extra'" in p for p in found)
    assert any('"nodes" must be a non-empty list' in p for p in found)
    assert any('"streams" must be a non-empty list' in p for p in found)
    assert problems("[1, 2]") == ["pipespec: must be a JSON object with nodes and streams"]
