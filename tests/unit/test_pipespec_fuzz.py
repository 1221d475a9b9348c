"""Property: whatever JSON it is given, the validator returns a plan or located errors."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import builtin_pipelines
from sprocket_cli.errors import PipespecError
from sprocket_cli.pipeline.pipespec import Pipespec, parse
from sprocket_cli.plan.fusion import plan

NAMES = st.sampled_from(["decode", "filter", "encode", "input_0", "output_0", "x", "", "blend", "a:b"])
PORTS = st.sampled_from(["chunks", "frames", "frames_0", "frames_1", "scene_list", "nope", ""])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 99), st.text(max_size=8))
CONFIG = st.dictionaries(st.sampled_from(["vf", "crf", "preset", "bogus"]), SCALARS, max_size=3)

NODE = st.fixed_dictionaries(
    {"name": st.one_of(NAMES, SCALARS), "stage": st.one_of(NAMES, SCALARS)},
    optional={
        "config": st.one_of(CONFIG, SCALARS),
        "delivery_function": st.one_of(st.just("one_to_one"), SCALARS),
        "fuse": SCALARS,
    },
)
ENDPOINT = st.one_of(st.builds(lambda n, p: f"{n}:{p}", NAMES, PORTS), SCALARS)
STREAM = st.one_of(st.fixed_dictionaries({"src": ENDPOINT, "dst": ENDPOINT}), SCALARS)
SPEC = st.one_of(
    st.fixed_dictionaries(
        {
            "nodes": st.one_of(st.lists(st.one_of(NODE, SCALARS), max_size=5), SCALARS),
            "streams": st.one_of(st.lists(STREAM, max_size=6), SCALARS),
        },
    ),
    SCALARS,
    st.lists(SCALARS, max_size=3),
)


def check(text: str) -> None:
    try:
        spec = parse(text, source="fuzz")
    except PipespecError as exc:
        assert exc.problems
        for problem in exc.problems:
            where, sep, what = problem.partition(": ")
            assert sep and where and what, problem  # every problem says where it is
        return
    assert isinstance(spec, Pipespec)
    plan(spec)  # a valid spec always plans


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(SPEC)
def test_random_specs_never_crash_the_validator(raw: Any) -> None:
    check(json.dumps(raw))


FILTER = json.loads(builtin_pipelines.path("filter").read_text())


def _mutate(spec: dict[str, Any], where: int, key: str, value: Any) -> dict[str, Any]:
    mutated = json.loads(json.dumps(spec))
    items = mutated["nodes"] + mutated["streams"]
    items[where % len(items)][key] = value
    return mutated


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 20), st.sampled_from(["name", "stage", "src", "dst", "config", "fuse"]), SCALARS)
def test_mutated_filter_spec_never_crashes_the_validator(where: int, key: str, value: Any) -> None:
    check(json.dumps(_mutate(FILTER, where, key, value)))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 400), st.integers(1, 5))
def test_truncated_json_reports_line_and_column(cut: int, _: int) -> None:
    text = builtin_pipelines.path("filter").read_text()[:cut]
    try:
        parse(text, source="cut")
    except PipespecError as exc:
        assert exc.problems[0].startswith("pipespec")
