"""95 % intervals for the numbers the demo reports: accuracies, paired differences, trends.

- `wilson`: the Wilson score interval of a proportion (k right of n), sound at 0 and n, where the
  normal approximation gives intervals outside [0, 1] or of width 0;
- `mean_interval`: a mean over questions (an avg@n, a token count) with a bootstrap interval that
  resamples questions;
- `paired_difference`: the difference of two models on the same questions, with a bootstrap interval
  that resamples questions (keeping each question's pair together, so the interval reflects how often
  the models disagree, not two independent samples);
- `slope`: the least-squares slope of a series (a GRPO reward per step), with a bootstrap interval
  over its points.
Bootstraps are seeded: the same inputs give the same interval.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

Z95 = 1.959963984540054  # the standard normal quantile for a two-sided 95 % interval


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of successes / trials, as fractions."""
    if trials <= 0:
        raise ValueError(f"trials must be positive, got {trials}")
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must lie in 0..{trials}, got {successes}")
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    # At 0 and n the bound is exactly 0 or 1 (rounding would otherwise leave 0.9999999999999999)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


def _percentiles(values: list[float], level: float = 0.95) -> tuple[float, float]:
    values = sorted(values)
    tail = (1 - level) / 2
    low = values[int(math.floor(tail * (len(values) - 1)))]
    high = values[int(math.ceil((1 - tail) * (len(values) - 1)))]
    return low, high


def mean_interval(values: Sequence[float], resamples: int = 2000, seed: int = 0) -> dict:
    """The mean of per-question values (an accuracy over n samples each) with a bootstrap 95 % interval
    that resamples questions: samples of one question are not independent of each other."""
    if not values:
        raise ValueError("need at least one value")
    rng = random.Random(seed)
    n = len(values)
    draws = [sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples)]
    low, high = _percentiles(draws)
    return {"mean": sum(values) / n, "low": low, "high": high, "questions": n}


def paired_difference(
    first: Sequence[float], second: Sequence[float], resamples: int = 2000, seed: int = 0
) -> dict:
    """mean(second) - mean(first) over the same questions (verdicts, accuracies over samples or token
    counts per question), with a paired bootstrap 95 % interval."""
    if len(first) != len(second) or not first:
        raise ValueError(f"need two value lists of one non-zero length, got {len(first)} and {len(second)}")
    differences = [float(b) - float(a) for a, b in zip(first, second, strict=True)]
    summary = mean_interval(differences, resamples, seed)
    return {"difference": summary["mean"], "low": summary["low"], "high": summary["high"], "questions": len(differences)}


def _least_squares_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def slope(xs: Sequence[float], ys: Sequence[float], resamples: int = 2000, seed: int = 0) -> dict:
    """Least-squares slope of ys on xs with a bootstrap 95 % interval (points resampled with replacement)."""
    if len(xs) != len(ys) or len(xs) < 3:
        raise ValueError(f"need at least 3 points of (x, y), got {len(xs)} and {len(ys)}")
    rng = random.Random(seed)
    points = list(zip(xs, ys, strict=True))
    draws = []
    for _ in range(resamples):
        sample = [points[rng.randrange(len(points))] for _ in points]
        draws.append(_least_squares_slope([x for x, _ in sample], [y for _, y in sample]))
    low, high = _percentiles(draws)
    return {"slope": _least_squares_slope(xs, ys), "low": low, "high": high, "points": len(points)}


def verdict(interval: dict) -> str:
    """'above zero', 'below zero' or 'within the noise' for an interval dict."""
    if interval["low"] > 0:
        return "above zero"
    if interval["high"] < 0:
        return "below zero"
    return "within the noise"
