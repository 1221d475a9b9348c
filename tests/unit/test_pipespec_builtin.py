"""Pipespec validation, continued: several problems at once, the built-in pipeline, a user's own
stage by ``module:Class``, and ``--set`` overrides (the helpers and the user stage live in
test_pipespec)."""

from __future__ import annotations

import pytest

import builtin_pipelines
from sprocket_cli.pipeline.pipespec import Endpoint, parse
from sprocket_cli.stages.decode import Decode
from sprocket_cli.stages.encode import Encode, EncodeConfig
from sprocket_cli.stages.filter import Filter, FilterConfig
from tests.unit.test_pipespec import (
    ENC,
    FILTER_TEXT,
    SOURCE,
    VALID,
    MyStage,
    MyStageConfig,
    line_of,
    only,
    problems,
    spec,
)

# --- several problems at once --------------------------------------------------------------


def test_several_problems_are_all_reported() -> None:
    text = spec(
        """
        {
          "nodes": [
            {"name": "dec", "stage": "decode", "delivery_function": "zip"},
            {"name": "bad", "stage": "blur"},
            {"name": "gray", "stage": "filter"},
            {"name": "enc", "stage": "encode", "config": {"crf": 99}},
            {"name": "input_0", "stage": "decode"},
            {"name": "dec", "stage": "decode"},
            {"name": "ok", "stage": "filter", "config": {"vf": "vflip"}},
            {"name": "out", "stage": "encode"}
          ],
          "streams": [
            {"src": "input_0:chunks", "dst": "dec:chunks"},
            {"src": "dec:video", "dst": "ok:frames"},
            {"src": "input_0:chunks", "dst": "out:frames"}
          ]
        }
        """
    )
    found = problems(text)
    expected = [
        ("node 'dec'", "unknown delivery function 'zip'"),
        ("node 'bad'", "unknown stage 'blur'"),
        ("node 'gray'", "config vf: Field required"),
        ("node 'enc'", "config crf"),
        ("node 'input_0'", "reserved"),
        ("node 'dec'", "duplicate node name"),
        ("stream 1", "no output port 'video'"),
        ("stream 2", "type mismatch"),
        ("node 'gray'", "input port 'frames' is not connected"),
        ("node 'enc'", "input port 'frames' is not connected"),
        ("node 'ok'", "input port 'frames' is not connected"),
        ("node 'out'", "input port 'frames' is not connected"),
        ("pipespec", "no stream reaches an output_N endpoint"),
    ]
    for where, what in expected:
        only(found, where, what)
    assert len(found) == len(expected), found


# --- the built-in pipeline, user stages, overrides -----------------------------------------


def test_builtin_filter_pipeline_validates() -> None:
    result = parse(FILTER_TEXT, source="filter.json")
    assert result.name == "filter"
    assert [(n.name, n.stage) for n in result.nodes] == [
        ("decode", Decode),
        ("filter", Filter),
        ("encode", Encode),
    ]
    assert result.node("filter").config == FilterConfig(vf="hue=s=0")
    assert result.node("encode").config == EncodeConfig()
    assert all(n.fuse and n.delivery_function == "one_to_one" for n in result.nodes)
    assert result.inputs == ("input_0",)
    assert result.outputs == ("output_0",)
    assert result.streams[0].src == Endpoint("input_0", "chunks")
    assert result.streams[-1].dst == Endpoint("output_0", "chunks")
    assert builtin_pipelines.load("filter") == result


def test_module_class_stage_name_loads_a_user_stage() -> None:
    text = VALID.replace(
        '"stage": "filter", "config": {"vf": "hue=s=0"}',
        '"stage": "tests.unit.test_pipespec:MyStage", "config": {"strength": 3}',
    )
    result = parse(text, source=SOURCE)
    node = result.node("gray")
    assert node.stage is MyStage
    assert node.config == MyStageConfig(strength=3)


def test_module_class_stage_config_is_validated() -> None:
    text = VALID.replace(
        '"stage": "filter", "config": {"vf": "hue=s=0"}',
        '"stage": "tests.unit.test_pipespec:MyStage", "config": {"strength": "lots"}',
    )
    problem = only(problems(text), "config strength:")
    assert "(stage 'my_stage')" in problem
    assert problem.startswith("node 'gray' (line ")


@pytest.mark.parametrize(
    ("target", "needle"),
    [
        ("tests.unit.test_pipespec:NotAStage", "is not a Stage"),
        ("tests.unit.test_pipespec:Missing", "cannot be loaded"),
        ("tests.unit.no_such_module:MyStage", "cannot be loaded"),
    ],
)
def test_module_class_stage_that_cannot_be_used(target: str, needle: str) -> None:
    text = VALID.replace('"stage": "filter", "config": {"vf": "hue=s=0"}', f'"stage": "{target}"')
    problem = only(problems(text), needle)
    assert problem.startswith("node 'gray' (line ")
    assert target in problem


def test_overrides_set_config_values() -> None:
    overrides = {"filter": {"vf": "scale=320:-2"}, "encode": {"crf": 30}}
    result = parse(FILTER_TEXT, source="filter.json", overrides=overrides)
    assert result.node("filter").config == FilterConfig(vf="scale=320:-2")
    # Keys the override does not name keep the file's values.
    assert result.node("encode").config == EncodeConfig(crf=30)
    assert builtin_pipelines.load("filter", overrides) == result


def test_override_for_unknown_node_is_reported() -> None:
    found = problems(FILTER_TEXT, overrides={"blur": {"radius": 3}})
    assert found == ["--set blur: no node of that name in the pipeline"]


def test_bad_override_value_is_reported_at_the_node() -> None:
    found = problems(VALID, overrides={"enc": {"crf": 99}})
    problem = only(found, "config crf: Value error, 99: libx264 takes 0 to 51")
    assert problem.startswith(f"node 'enc' (line {line_of(VALID, ENC)}, column ")


def test_node_location_ignores_the_pipeline_name() -> None:
    found = problems(FILTER_TEXT, overrides={"filter": {"vf": ""}})
    problem = only(found, "config vf")
    node_line = line_of(FILTER_TEXT, '"stage": "filter"')
    assert problem.startswith(f"node 'filter' (line {node_line}, column ")
