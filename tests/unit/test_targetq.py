"""The crf search of --target-vmaf on synthetic VMAF curves, and the encode config's checks."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from sprocket_cli.errors import OptionError
from sprocket_cli.media.targetq import CLOSE_ENOUGH, Probe, Target, choose, search, transform
from sprocket_cli.stages.encode import EncodeConfig, check_target


def _target(vmaf: float, step: float = 0.25, start: float = 23.0) -> Target:
    return Target(vmaf, low=0, high=51, step=step, start=start, options_at=lambda crf: {"crf": f"{crf:g}"})


def _curve(slope: float, at_zero: float = 6.0) -> tuple[list[float], Callable[[float], float]]:
    """A VMAF curve linear in the transformed scale (as x264's nearly is), logging each probe."""
    asked: list[float] = []

    def measure(crf: float) -> float:
        asked.append(crf)
        return 100.0 * (1.0 - math.exp(-(at_zero + slope * crf)))

    return asked, measure


def _truth(slope: float, target: float, at_zero: float = 6.0) -> float:
    """The exact crf at which the curve meets ``target``."""
    return (transform(target) - at_zero) / slope


@pytest.mark.parametrize("slope", [-0.08, -0.12, -0.18, -0.25])
def test_search_lands_on_the_highest_crf_that_reaches_the_target(slope: float) -> None:
    asked, measure = _curve(slope)
    crf, probes = search(measure, _target(90.0))
    truth = _truth(slope, 90.0)
    # The highest quarter step at or below the exact crf (the target met, barely), or the one
    # just above it when a probe measured it within CLOSE_ENOUGH of the target.
    assert crf in (math.floor(truth * 4) / 4, math.floor(truth * 4) / 4 + 0.25)
    assert measure(crf) >= 90.0 - CLOSE_ENOUGH
    assert measure(crf + 0.25) < 90.0
    assert 2 <= len(probes) <= 4
    assert asked[0] == 23.0  # the encoder's default first


def test_flat_and_noisy_curves_get_different_crfs() -> None:
    _, flat = _curve(-0.1, 5.5)
    _, noisy = _curve(-0.25, 7.5)
    flat_crf, _ = search(flat, _target(90.0))
    noisy_crf, _ = search(noisy, _target(90.0))
    assert flat_crf - noisy_crf > 5


def test_a_target_beyond_the_range_stops_at_its_end() -> None:
    # Every crf is good enough: the search walks up to the range's end and stays there.
    _, easy = _curve(-0.01, 9.0)
    crf, probes = search(easy, _target(90.0))
    assert crf == 51
    assert all(p.vmaf >= 90 for p in probes)
    # No crf is good enough: the best quality the range has.
    _, hard = _curve(-0.05, 1.0)
    assert search(hard, _target(95.0))[0] == 0


def test_whole_steps_for_encoders_without_fractions() -> None:
    _, measure = _curve(-0.15)
    crf, _ = search(measure, _target(92.0, step=1.0, start=35.0))
    assert crf == math.floor(_truth(-0.15, 92.0))


def test_choose_keeps_a_measured_good_crf_where_vmaf_is_not_monotonic() -> None:
    # A lower crf measured worse than a higher one (VMAF wobbles on flat pictures): the
    # highest crf measured good wins, never one past a measured miss.
    probes = [Probe(20, 89.0), Probe(26, 91.0), Probe(30, 85.0)]
    crf = choose(probes, _target(90.0))
    assert 26 <= crf < 30


def test_the_search_never_probes_a_crf_twice() -> None:
    asked, measure = _curve(-0.2)
    search(measure, _target(90.0))
    assert len(asked) == len(set(asked))


@pytest.mark.parametrize(
    ("config", "says"),
    [
        ({"target_vmaf": 90, "crf": 20}, "not both"),
        ({"target_vmaf": 40}, "50 to 100"),
        ({"target_vmaf": 101}, "50 to 100"),
        ({"target_vmaf": 90, "codec": "prores"}, "does not go with prores_ks"),
    ],
)
def test_config_refuses_a_target_that_cannot_work(config: dict[str, object], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        EncodeConfig(**config)  # type: ignore[arg-type]


def test_config_target_has_the_encoders_scale() -> None:
    x264 = EncodeConfig(target_vmaf=93).target()
    assert x264 is not None
    assert (x264.low, x264.high, x264.step, x264.start) == (0, 51, 0.25, 23)
    assert x264.options_at(27.25)["crf"] == "27.25"
    av1 = EncodeConfig(codec="av1", target_vmaf=93).target()
    assert av1 is not None and (av1.high, av1.step) == (63, 1.0)
    assert EncodeConfig(crf=20).target() is None


def test_check_target_names_the_option() -> None:
    with pytest.raises(OptionError) as err:
        check_target("x264", 90, 18)
    assert err.value.option == "target_vmaf"


def test_a_staircase_curve_ends_on_a_measured_crf_near_the_target() -> None:
    # Still pictures: VMAF jumps two points between quarter crfs (x264's I-frame quantiser
    # flips). A line through the probes lands on the high side of the jump; the probe
    # measured next to the target is the better answer.
    def measure(crf: float) -> float:
        smooth = 100.0 * (1.0 - math.exp(-(5.5 - 0.1 * crf)))
        return smooth + (1.0 if crf < 32.7 else -1.0)

    crf, probes = search(measure, _target(90.0))
    assert abs(measure(crf) - 90.0) <= 1.5
    assert crf in [p.crf for p in probes]
