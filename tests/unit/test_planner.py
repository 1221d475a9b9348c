"""Planner: which nodes of a validated pipespec fuse into one task per chunk."""

from __future__ import annotations

import json
from typing import Any

import pytest

import builtin_pipelines
from sprocket_cli.pipeline.pipespec import Endpoint, Pipespec, parse
from sprocket_cli.plan.fusion import plan


def filter_spec(**node_changes: dict[str, Any]) -> Pipespec:
    """The built-in filter pipeline with ``node_changes[name]`` merged into that node's JSON."""
    raw = json.loads(builtin_pipelines.path("filter").read_text(encoding="utf-8"))
    for node in raw["nodes"]:
        node.update(node_changes.get(node["name"], {}))
    return parse(json.dumps(raw, indent=2), source="filter.json", name="filter")


def test_builtin_filter_fuses_into_one_group() -> None:
    physical = plan(builtin_pipelines.load("filter"))
    assert [g.name for g in physical.groups] == ["decode+filter+encode"]
    (group,) = physical.groups
    assert [n.name for n in group.nodes] == ["decode", "filter", "encode"]
    assert group.inputs == (("chunks", Endpoint("input_0", "chunks")),)
    assert group.ports == ("chunks",)
    assert group.outputs == (Endpoint("output_0", "chunks"),)
    assert group.output_type == "chunks"
    assert group.delivery_function == "one_to_one"
    assert physical.fused
    assert physical.group_of("decode") is group


def test_fuse_false_on_filter_gives_three_groups_in_topological_order() -> None:
    physical = plan(filter_spec(filter={"fuse": False}))
    assert [g.name for g in physical.groups] == ["decode", "filter", "encode"]
    assert not physical.fused
    decode, filt, encode = physical.groups
    assert [len(g.nodes) for g in physical.groups] == [1, 1, 1]

    assert decode.inputs == (("chunks", Endpoint("input_0", "chunks")),)
    assert decode.outputs == (Endpoint("filter", "frames"),)
    assert decode.output_type == "frames"

    assert filt.inputs == (("frames", Endpoint("decode", "frames")),)
    assert filt.outputs == (Endpoint("encode", "frames"),)
    assert filt.output_type == "frames"

    assert encode.inputs == (("frames", Endpoint("filter", "frames")),)
    assert encode.outputs == (Endpoint("output_0", "chunks"),)
    assert encode.output_type == "chunks"

    for name, group in [("decode", decode), ("filter", filt), ("encode", encode)]:
        assert physical.group_of(name) is group


@pytest.mark.parametrize(
    ("unfused", "groups"),
    [
        ("decode", ["decode", "filter+encode"]),
        ("encode", ["decode+filter", "encode"]),
    ],
)
def test_fuse_false_at_either_end_splits_only_there(unfused: str, groups: list[str]) -> None:
    physical = plan(filter_spec(**{unfused: {"fuse": False}}))
    assert [g.name for g in physical.groups] == groups
    assert physical.groups[0].inputs == (("chunks", Endpoint("input_0", "chunks")),)
    assert physical.groups[0].outputs == (Endpoint(groups[1].split("+")[0], "frames"),)
    assert physical.groups[-1].outputs == (Endpoint("output_0", "chunks"),)


def test_groups_are_topological_whatever_the_node_order_in_the_file() -> None:
    raw = json.loads(builtin_pipelines.path("filter").read_text(encoding="utf-8"))
    raw["nodes"].reverse()
    raw["nodes"][1]["fuse"] = False  # the filter node
    physical = plan(parse(json.dumps(raw, indent=2), source="reversed.json"))
    assert [g.name for g in physical.groups] == ["decode", "filter", "encode"]

    fused = json.loads(builtin_pipelines.path("filter").read_text(encoding="utf-8"))
    fused["nodes"].reverse()
    physical = plan(parse(json.dumps(fused, indent=2), source="reversed.json"))
    assert [g.name for g in physical.groups] == ["decode+filter+encode"]


def test_fan_out_stops_fusion_at_the_branching_node() -> None:
    text = """
    {
      "nodes": [
        {"name": "dec", "stage": "decode"},
        {"name": "gray", "stage": "filter", "config": {"vf": "hue=s=0"}},
        {"name": "enc_gray", "stage": "encode"},
        {"name": "enc_plain", "stage": "encode"}
      ],
      "streams": [
        {"src": "input_0:chunks", "dst": "dec:chunks"},
        {"src": "dec:frames", "dst": "gray:frames"},
        {"src": "dec:frames", "dst": "enc_plain:frames"},
        {"src": "gray:frames", "dst": "enc_gray:frames"},
        {"src": "enc_gray:chunks", "dst": "output_0:chunks"},
        {"src": "enc_plain:chunks", "dst": "output_1:chunks"}
      ]
    }
    """
    physical = plan(parse(text, source="fanout.json"))
    names = [g.name for g in physical.groups]
    assert sorted(names) == ["dec", "enc_plain", "gray+enc_gray"]
    assert names[0] == "dec"
    dec = physical.group_of("dec")
    assert dec.outputs == (Endpoint("gray", "frames"), Endpoint("enc_plain", "frames"))
    assert physical.group_of("gray").outputs == (Endpoint("output_0", "chunks"),)
    assert physical.group_of("gray").inputs == (("frames", Endpoint("dec", "frames")),)
    assert physical.group_of("enc_plain").outputs == (Endpoint("output_1", "chunks"),)
