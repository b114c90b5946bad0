"""The demo report's intervals: known values, and the bugs each would hide (unpaired, swapped axes)."""

from __future__ import annotations

import pytest

from raml_recipes.evaluation.intervals import Z95, mean_interval, paired_difference, slope, verdict, wilson


def test_wilson_matches_closed_forms_and_a_published_value():
    # At 0 and n successes the Wilson bounds have closed forms: z^2 / (n + z^2) and n / (n + z^2).
    z2 = Z95 * Z95
    assert wilson(0, 10) == (0.0, pytest.approx(z2 / (10 + z2), abs=1e-12))
    assert wilson(10, 10) == (pytest.approx(10 / (10 + z2), abs=1e-12), 1.0)
    # 26 of 100: [0.1840, 0.3537] (the Wilson score interval; a normal approximation gives [0.174, 0.346])
    low, high = wilson(26, 100)
    assert low == pytest.approx(0.18405, abs=5e-5) and high == pytest.approx(0.35370, abs=5e-5)


def test_wilson_is_symmetric_and_narrows_with_more_trials():
    for successes, trials in ((3, 17), (40, 200), (1, 2)):
        low, high = wilson(successes, trials)
        mirror_low, mirror_high = wilson(trials - successes, trials)
        assert low == pytest.approx(1 - mirror_high) and high == pytest.approx(1 - mirror_low)
        assert low < successes / trials < high
    assert wilson(40, 200)[1] - wilson(40, 200)[0] < wilson(4, 20)[1] - wilson(4, 20)[0]


@pytest.mark.parametrize(("successes", "trials"), [(1, 0), (-1, 5), (6, 5)])
def test_wilson_refuses_impossible_counts(successes, trials):
    with pytest.raises(ValueError):
        wilson(successes, trials)


def test_mean_interval_is_seeded_and_close_to_the_normal_interval_of_a_proportion():
    values = [1.0] * 10 + [0.0] * 90
    first, again = mean_interval(values, seed=3), mean_interval(values, seed=3)
    assert first == again
    assert first["mean"] == pytest.approx(0.1)
    se = (0.1 * 0.9 / 100) ** 0.5  # the bootstrap of a mean approaches mean +- 1.96 se
    assert first["low"] == pytest.approx(0.1 - Z95 * se, abs=0.015)
    assert first["high"] == pytest.approx(0.1 + Z95 * se, abs=0.015)
    assert mean_interval([0.4] * 7) == pytest.approx({"mean": 0.4, "low": 0.4, "high": 0.4, "questions": 7})


def test_paired_difference_keeps_pairs_together():
    """Ten questions flipped from wrong to right and none the other way: a sure gain when paired. Two
    independent bootstraps of the two accuracies (0.5 and 0.6 on 100) would give about +-0.14: zero
    inside."""
    first = [1] * 50 + [0] * 50
    second = [1] * 60 + [0] * 40
    gain = paired_difference(first, second)
    assert gain["difference"] == pytest.approx(0.1) and gain["questions"] == 100
    assert 0 < gain["low"] < 0.1 < gain["high"] < 0.2
    assert verdict(gain) == "above zero"
    loss = paired_difference(second, first)  # the order is second minus first
    assert loss["difference"] == pytest.approx(-0.1) and verdict(loss) == "below zero"
    # The same accuracies with the gains and losses cancelling pair by pair: no difference at all.
    shuffled = [0] * 10 + [1] * 50 + [0] * 40
    assert verdict(paired_difference(first, shuffled)) == "within the noise"
    with pytest.raises(ValueError):
        paired_difference([1, 0], [1])


def test_slope_recovers_a_line_and_its_sign():
    xs = list(range(1, 17))
    exact = slope(xs, [2 * x + 1 for x in xs])
    assert exact["slope"] == pytest.approx(2.0)  # y on x, not x on y (which would give 0.5)
    assert exact["low"] == pytest.approx(2.0) and exact["high"] == pytest.approx(2.0)
    wobble = [0.3, -0.2, 0.1, -0.3, 0.2, 0.0, -0.1, 0.25, -0.25, 0.15, -0.15, 0.05, -0.05, 0.2, -0.2, 0.1]
    falling = slope(xs, [-0.1 * x + w for x, w in zip(xs, wobble, strict=True)])
    assert falling["slope"] == pytest.approx(-0.1, abs=0.02) and verdict(falling) == "below zero"
    flat = slope(xs, wobble)
    assert verdict(flat) == "within the noise" and flat["low"] < 0 < flat["high"]
    with pytest.raises(ValueError):
        slope([1, 2], [1, 2])


def test_verdict_needs_the_whole_interval_on_one_side():
    assert verdict({"low": 0.01, "high": 0.2}) == "above zero"
    assert verdict({"low": 0.0, "high": 0.2}) == "within the noise"
    assert verdict({"low": -0.3, "high": -0.001}) == "below zero"
