"""The original Sprocket's pipespecs (excamera/pipeline, ``pipespec/*.pipe``) validate and plan here.

Each spec below is written in the original's format: its stage names (``grayscale``,
``encode_to_dash``, ``parallelize_link``, ...), port names (``video_link``,
``chunked_link``, ``frame``, ``frame_list``), delivery functions (``pair_delivery_func``,
``serialized_frame_delivery_func``) and config keys (``video_filter``, ``scale``,
``framesperchunk``, ``transform``), with the shapes of its files of the same names.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

import builtin_pipelines
from sprocket_cli.cli import app
from sprocket_cli.errors import PipespecError
from sprocket_cli.pipeline.pipespec import Pipespec, parse, to_dict
from sprocket_cli.plan.fusion import plan
from sprocket_cli.stages.encode import Encode
from sprocket_cli.stages.filter import Filter, FilterConfig


def pipe(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"


def problems(text: str) -> list[str]:
    with pytest.raises(PipespecError) as info:
        parse(text, source="original.pipe")
    return info.value.problems


def line_of(text: str, snippet: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if snippet in line)


def vfs(spec: Pipespec) -> dict[str, str]:
    return {n.name: n.config.vf for n in spec.nodes if isinstance(n.config, FilterConfig)}


GRAYSCALE = pipe(
    """
    {
      "nodes":[
        {"name": "decode", "stage": "decode", "config": {}},
        {"name": "grayscale", "stage": "grayscale", "config": {}},
        {"name": "encode", "stage": "encode_to_dash", "config": {}}
      ],
      "streams":
      [
        {"src": "input_0:chunks", "dst": "decode:chunks"},
        {"src": "decode:frames", "dst": "grayscale:frames"},
        {"src": "grayscale:frames", "dst": "encode:frames"},
        {"src": "encode:chunks", "dst": "output_0:chunks"}
      ]
    }
    """
)

VIDEO_FILTER = GRAYSCALE.replace("grayscale", "video_filter").replace(
    '"stage": "video_filter", "config": {}',
    '"stage": "video_filter", "config": {"video_filter": "fftfilt=dc_Y=128:weight_Y=squish(1-(Y+X)/100)"}',
)

SCALE = pipe(
    """
    {
      "nodes":[
        {"name": "parlink", "stage": "parallelize_link", "config": {"framesperchunk": "{fps}"}},
        {"name": "decode", "stage": "decode_from_chunked_link", "config": {}},
        {"name": "scale", "stage": "scale", "config": {"scale": 1}},
        {"name": "encode", "stage": "encode_frame_list",
         "delivery_function": "serialized_frame_delivery_func", "config": {}}
      ],
      "streams":
      [
        {"src": "input_0:video_link", "dst": "parlink:video_link"},
        {"src": "parlink:chunked_link", "dst": "decode:chunked_link"},
        {"src": "decode:frames", "dst": "scale:frames"},
        {"src": "scale:frame", "dst": "encode:frame_list"},
        {"src": "encode:chunks", "dst": "output_0:chunks"}
      ]
    }
    """
)

MULTI_STAGE = pipe(
    """
    {
      "nodes":[
        {"name": "decode", "stage": "decode", "config": {}},
        {"name": "grayscale", "stage": "grayscale", "config": {}},
        {"name": "rotate", "stage": "rotate", "config": {}},
        {"name": "pixscale", "stage": "pixscale", "config": {}},
        {"name": "encode", "stage": "encode_to_dash", "config": {}}
      ],
      "streams":
      [
        {"src": "input_0:chunks", "dst": "decode:chunks"},
        {"src": "decode:frames", "dst": "grayscale:frames"},
        {"src": "grayscale:frames", "dst": "rotate:frames"},
        {"src": "rotate:frames", "dst": "pixscale:frames"},
        {"src": "pixscale:frames", "dst": "encode:frames"},
        {"src": "encode:chunks", "dst": "output_0:chunks"}
      ]
    }
    """
)

BLEND = pipe(
    """
    {
      "nodes":[
        {"name": "decode_0", "stage": "decode"},
        {"name": "decode_1", "stage": "decode"},
        {"name": "blend", "stage": "blend", "delivery_function": "pair_delivery_func"},
        {"name": "encode", "stage": "encode_to_dash"}
      ],
      "streams":
      [
        {"src": "input_0:chunks", "dst": "decode_0:chunks"},
        {"src": "input_1:chunks", "dst": "decode_1:chunks"},
        {"src": "decode_0:frames", "dst": "blend:frames_0"},
        {"src": "decode_1:frames", "dst": "blend:frames_1"},
        {"src": "blend:frames", "dst": "encode:frames"},
        {"src": "encode:chunks", "dst": "output_0:chunks"}
      ]
    }
    """
)

SINGLESTAGE_TRANSFORM = pipe(
    """
    {
      "nodes":[
        {"name": "transform", "stage": "C_C_stealwork_transform", "config": {
          "transform": "-vf convolution='0 1 0 1 -4 1 0 1 0:0 1 0 1 -4 1 0 1 0'", "stealwork": false}}
      ],
      "streams":
      [
        {"src": "input_0:chunks", "dst": "transform:chunks"},
        {"src": "transform:chunks", "dst": "output_0:chunks"}
      ]
    }
    """
)

DDOS = pipe(
    """
    {
      "nodes":[
      {
        "name": "parlink",
          "stage": "parallelize_link",
          "config": {
            "framesperchunk": "{fps}/4",
            "chunklimit": 1000,
          },
          "lambda_function": "lambda_test_JS2aw5Hx"
      },
      {
        "name": "ddos",
        "stage": "ddos",
        "config": {"duration": 10, "nworkers": 4, "nsockets": 4, "outdir": "/tmp/out"}
      }
      ],
      "streams":
        [
        {"src": "input_0:video_link", "dst": "parlink:video_link"},
        {"src": "parlink:chunked_link", "dst": "ddos:chunked_link"},
        {"src": "ddos:chunked_link", "dst": "output_0:chunked_link"}
        ]
    }
    """
)

DDOS_AS_JSON = DDOS.replace('"chunklimit": 1000,', '"chunklimit": 1000')


# --- the original's pipelines validate and plan --------------------------------------------


def test_grayscale_is_a_filter_between_decode_and_encode() -> None:
    spec = parse(GRAYSCALE, source="grayscale.pipe", name="grayscale")
    assert [(n.name, n.stage) for n in spec.nodes][1:] == [("grayscale", Filter), ("encode", Encode)]
    assert vfs(spec) == {"grayscale": "hue=s=0"}
    assert [g.name for g in plan(spec).groups] == ["decode+grayscale+encode"]


def test_video_filter_takes_its_filter_string_from_the_config() -> None:
    spec = parse(VIDEO_FILTER, source="video_filter.pipe")
    assert vfs(spec) == {"video_filter": "fftfilt=dc_Y=128:weight_Y=squish(1-(Y+X)/100)"}
    assert [g.name for g in plan(spec).groups] == ["decode+video_filter+encode"]


def test_scale_dissolves_the_link_stage_and_reads_the_original_ports_and_delivery() -> None:
    spec = parse(SCALE, source="scale.pipe")
    assert [n.name for n in spec.nodes] == ["decode", "scale", "encode"]  # parlink: the job chunks
    assert [(str(s.src), str(s.dst)) for s in spec.streams] == [
        ("input_0:chunks", "decode:chunks"),
        ("decode:frames", "scale:frames"),
        ("scale:frames", "encode:frames"),
        ("encode:chunks", "output_0:chunks"),
    ]
    assert [s.index for s in spec.streams] == [1, 2, 3, 4]  # indices in the file, for messages
    assert vfs(spec) == {"scale": "null"} and spec.node("encode").delivery_function == "one_to_one"
    assert [g.name for g in plan(spec).groups] == ["decode+scale+encode"]


def test_scale_is_the_original_s_time_scale() -> None:
    # It repeated each frame `scale` times at the same rate: slower by that factor.
    spec = parse(SCALE.replace('"scale": 1', '"scale": 2'), source="scale.pipe")
    assert vfs(spec) == {"scale": "setpts=2*PTS,fps=source_fps"}
    found = problems(SCALE.replace('"scale": 1', '"scale": "fast"'))
    assert len(found) == 1 and found[0].startswith("node 'scale' (line ")
    assert "stage 'scale': config scale: must be a number" in found[0]


def test_multi_stage_chains_the_original_s_filters() -> None:
    spec = parse(MULTI_STAGE, source="multi_stage.pipe")
    assert vfs(spec) == {
        "grayscale": "hue=s=0",
        "rotate": "transpose=2,transpose=2",
        "pixscale": "scale=800:800:flags=neighbor",
    }
    assert [g.name for g in plan(spec).groups] == ["decode+grayscale+rotate+pixscale+encode"]


def test_blend_pairs_two_inputs_with_the_pair_delivery() -> None:
    spec = parse(BLEND, source="blend.pipe")
    assert spec.inputs == ("input_0", "input_1")
    assert spec.node("blend").delivery_function == "pair"
    assert [g.name for g in plan(spec).groups] == ["decode_0+decode_1+blend+encode"]


def test_single_stage_transform_becomes_decode_filter_encode() -> None:
    spec = parse(SINGLESTAGE_TRANSFORM, source="singlestage_transform.pipe")
    assert [(n.name, n.stage.NAME) for n in spec.nodes] == [
        ("transform_decode", "decode"),
        ("transform", "filter"),
        ("transform_encode", "encode"),
    ]
    assert vfs(spec) == {"transform": "convolution=0 1 0 1 -4 1 0 1 0:0 1 0 1 -4 1 0 1 0"}
    assert [g.name for g in plan(spec).groups] == ["transform_decode+transform+transform_encode"]


def test_a_translated_spec_is_recorded_in_this_project_s_names() -> None:
    # A job's record is re-read on resume: it must need no alias.
    spec = parse(SCALE, source="scale.pipe")
    again = parse(json.dumps(to_dict(spec)), source="job.json")
    assert to_dict(again) == to_dict(spec)
    assert {n["stage"] for n in to_dict(spec)["nodes"]} == {"decode", "filter", "encode"}


@pytest.mark.parametrize("name", builtin_pipelines.names())
def test_this_project_s_own_names_are_unchanged(name: str) -> None:
    raw = json.loads(builtin_pipelines.path(name).read_text(encoding="utf-8"))
    spec = builtin_pipelines.load(name)
    assert [(n["name"], n["stage"]) for n in raw["nodes"]] == [(n.name, n.stage.NAME) for n in spec.nodes]
    delivery = [n.get("delivery_function", "one_to_one") for n in raw["nodes"]]
    assert delivery == [n.delivery_function for n in spec.nodes]
    assert [(s["src"], s["dst"]) for s in raw["streams"]] == [(str(s.src), str(s.dst)) for s in spec.streams]


# --- the first real cause, in one line naming the node --------------------------------------


@pytest.mark.parametrize(
    ("stage", "typo", "node"),
    [
        ("grayscale", "grayscal", "grayscale"),
        ("encode_to_dash", "encode_to_dsh", "encode"),
        ("grayscale", "filtr", "grayscale"),  # this project's own names are suggested too
    ],
)
def test_unknown_stage_names_the_node_and_the_closest_stage(stage: str, typo: str, node: str) -> None:
    text = GRAYSCALE.replace(f'"stage": "{stage}"', f'"stage": "{typo}"')
    found = problems(text)
    # Only the cause: not also "no stream reaches an output" or an unconnected encode.
    assert len(found) == 1, found
    assert found[0].startswith(f"node '{node}' (line {line_of(text, typo)}, column ")
    meant = {"filtr": "filter"}.get(typo, stage)
    assert f"unknown stage '{typo}'; did you mean '{meant}'" in found[0]


def test_unknown_delivery_function_suggests_the_original_s_name() -> None:
    text = BLEND.replace("pair_delivery_func", "pair_delivery_fnc")
    (problem,) = problems(text)
    assert problem.startswith(f"node 'blend' (line {line_of(text, 'pair_delivery_fnc')}, column ")
    assert "did you mean 'pair_delivery_func'" in problem


def test_invalid_json_gives_line_and_column_and_names_the_trailing_comma() -> None:
    (problem,) = problems(DDOS)  # the original's ddos.pipe is not valid JSON
    lines = DDOS.splitlines()
    comma = line_of(DDOS, '"chunklimit": 1000,')
    # The decoder stops at the brace after the comma; the comma is what to delete.
    brace_column = lines[comma].index("}") + 1
    assert problem.startswith(f"pipespec (line {comma + 1}, column {brace_column}): invalid JSON: ")
    comma_column = lines[comma - 1].index("1000,") + len("1000,")
    assert f"a trailing comma at line {comma}, column {comma_column}" in problem


def test_ddos_is_refused_in_one_line_naming_the_node() -> None:
    found = problems(DDOS_AS_JSON)
    # The link stage dissolves (its Lambda "lambda_function" changes nothing here), and
    # nothing downstream of ddos is blamed.
    assert len(found) == 1, found
    line = line_of(DDOS_AS_JSON, '"name": "ddos"')
    assert found[0].startswith(f"node 'ddos' (line {line}, column ")
    assert "stage 'ddos'" in found[0] and "no meaning here" in found[0] and "\n" not in found[0]


@pytest.mark.parametrize(("stage", "config"), [("rpc_bench", "{}"), ("cmd", '{"cmd": "sleep 5"}')])
def test_benchmark_stages_are_refused_in_one_line(stage: str, config: str) -> None:
    text = pipe(
        f"""
        {{
          "nodes":[{{"name": "{stage}", "stage": "{stage}", "config": {config}}}],
          "streams":
          [
            {{"src": "input_0:chunks", "dst": "{stage}:chunks"}},
            {{"src": "{stage}:chunks", "dst": "output_0:chunks"}}
          ]
        }}
        """
    )
    (problem,) = problems(text)
    assert problem.startswith(f"node '{stage}' (line 2, column ") and f"stage '{stage}'" in problem


def test_a_pipeline_of_null_stages_has_nothing_to_run() -> None:
    text = SCALE.replace('"stage": "decode_from_chunked_link"', '"stage": "null"')
    text = text.replace('"stage": "scale", "config": {"scale": 1}', '"stage": "null", "config": {}')
    text = text.replace('"stage": "encode_frame_list"', '"stage": "null"')
    (problem,) = problems(text)
    assert problem.startswith("node 'decode' (line ") and "only passes its input on" in problem


def test_config_keys_the_original_stage_never_read_are_refused() -> None:
    text = GRAYSCALE.replace('"stage": "grayscale", "config": {}', '"stage": "grayscale", "config": {"s": 0}')
    (problem,) = problems(text)
    assert problem.startswith("node 'grayscale' (line ") and "unknown config key 's'" in problem


def test_sprocket_validate_accepts_a_pipe_file(tmp_path: Path) -> None:
    spec = tmp_path / "multi_stage.pipe"
    spec.write_text(MULTI_STAGE, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(spec)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "tasks per chunk: decode+grayscale+rotate+pixscale+encode" in result.output


MERGE_FILTER = pipe(
    """
    {
      "nodes":[
        {"name": "decode_0", "stage": "decode"},
        {"name": "decode_1", "stage": "decode"},
        {"name": "hstack", "stage": "merge_filter", "delivery_function": "pair_delivery_func",
         "config": {"filter_complex": "[1:v][0:v]hstack"}},
        {"name": "encode", "stage": "encode_to_dash"}
      ],
      "streams":
      [
        {"src": "input_0:chunks", "dst": "decode_0:chunks"},
        {"src": "input_1:chunks", "dst": "decode_1:chunks"},
        {"src": "decode_0:frames", "dst": "hstack:frames_0"},
        {"src": "decode_1:frames", "dst": "hstack:frames_1"},
        {"src": "hstack:frames", "dst": "encode:frames"},
        {"src": "encode:chunks", "dst": "output_0:chunks"}
      ]
    }
    """
)


def test_merge_filter_is_a_filter_complex_over_its_two_frame_streams() -> None:
    spec = parse(MERGE_FILTER, source="merge.pipe")
    node = spec.node("hstack")
    assert node.stage().NAME == "filter_complex"
    assert node.config.graph == "[1:v][0:v]hstack"  # type: ignore[attr-defined]


def test_the_original_s_serialized_delivery_on_its_encoders_stays_chunk_by_chunk() -> None:
    # It only regrouped frames into the encoder's chunks: no one-worker run for scale.pipe.
    assert parse(SCALE, source="scale.pipe").node("encode").delivery_function == "one_to_one"
    ordered = '"stage": "grayscale", "delivery_function": "serialized_frame_delivery_func"'
    text = GRAYSCALE.replace('"stage": "grayscale", "config": {}', ordered)
    (problem,) = problems(text)
    assert problem.startswith("node 'grayscale' (line ") and "SERIALIZED = True" in problem
