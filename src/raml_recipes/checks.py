"""Value checks every stage's config runs at parse time: counts, rates and budgets a user can get wrong.

One meaning across stages: a count is a positive integer, and `null` (None), where a field allows it,
means "all" or "the default"; 0 and negative values are refused in one line that names the field, the
value and what to write instead, before any model or data loads.
"""

from __future__ import annotations

import math


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_counts(config, *names: str, none_means: str = "all") -> None:
    """Each named field must be a positive integer, or None where the field allows it (meaning
    `none_means`)."""
    for name in names:
        value = getattr(config, name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer (or null: {none_means}), got {value!r}")


def check_positive(config, *names: str) -> None:
    """Each named field must be a number > 0 (None allowed: the default)."""
    for name in names:
        value = getattr(config, name)
        if value is not None and not (_number(value) and value > 0):
            raise ValueError(f"{name} must be a number greater than 0, got {value!r}")


def check_sampling(config, temperature: str = "temperature", top_p: str = "top_p") -> None:
    """temperature >= 0 (0: greedy) and top_p in (0, 1]."""
    value = getattr(config, temperature)
    if not (_number(value) and value >= 0):
        raise ValueError(f"{temperature} must be >= 0 (0: greedy), got {value!r}")
    value = getattr(config, top_p)
    if not (_number(value) and 0 < value <= 1):
        raise ValueError(f"{top_p} must lie in (0, 1] (1: off), got {value!r}")
