"""pass@k, mG-pass@k, avg@n and maj@k against their definitions."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import pytest

from raml_recipes.evaluation.metrics import avg_at_n, maj_at_k, mg_pass_at_k, pass_at_k


def brute_force(n: int, c: int, k: int):
    """Enumerate every k-subset of n samples (the first c correct): P(any correct), P(>= i correct)."""
    subsets = list(itertools.combinations(range(n), k))
    hits = [sum(index < c for index in subset) for subset in subsets]
    any_correct = Fraction(sum(h > 0 for h in hits), len(subsets))
    at_least = {i: Fraction(sum(h >= i for h in hits), len(subsets)) for i in range(k + 1)}
    return any_correct, at_least


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_pass_at_k_and_mg_pass_at_k_match_enumeration(n):
    for c in range(n + 1):
        for k in range(1, n + 1):
            any_correct, at_least = brute_force(n, c, k)
            assert pass_at_k(n, c, k) == pytest.approx(float(any_correct), abs=1e-12)
            expected = Fraction(2, k) * sum(at_least[i] for i in range(math.ceil(k / 2) + 1, k + 1))
            assert mg_pass_at_k(n, c, k) == pytest.approx(float(expected), abs=1e-12)


def test_known_values():
    assert pass_at_k(16, 0, 8) == 0.0 and pass_at_k(16, 16, 8) == 1.0
    assert pass_at_k(2, 1, 1) == 0.5 and avg_at_n(4, 1) == 0.25
    # mG-pass@k rewards consistency: with k=4 it needs at least 3 of 4 drawn samples right.
    assert mg_pass_at_k(4, 4, 4) == 1.0 and mg_pass_at_k(4, 2, 4) == 0.0
    assert mg_pass_at_k(8, 4, 4) < pass_at_k(8, 4, 4)
    with pytest.raises(ValueError, match="1 <= k <= n"):
        pass_at_k(4, 2, 5)


@pytest.mark.parametrize(
    ("answers", "correct", "k", "expected"),
    [
        (["7", "7", "3"], [True, True, False], 3, 1.0),  # clear majority, right
        (["3", "3", "7"], [False, False, True], 3, 0.0),  # clear majority, wrong
        (["7", "3"], [True, False], 2, 0.5),  # a tie between one right and one wrong answer: half credit
        (["7", "3", "4"], [True, False, False], 3, 1 / 3),  # three-way tie
        (["7", "3", "3", "7"], [True, False, False, True], 4, 0.5),
        (["7", "3", "3", "7"], [True, False, False, True], 3, 0.0),  # only the first k samples vote
        (
            [r"\frac{1}{2}", r"\frac{1}{ 2} ", "3"],
            [True, True, False],
            3,
            1.0,
        ),  # spacing does not split a vote
        ([None, None, "3"], [False, False, False], 3, 0.0),  # no answer: no vote
        ([None, None], [False, False], 2, 0.0),
        (["$5$", "5.", "6"], [True, True, False], 3, 1.0),  # normalised: "$5$" and "5." are one answer
    ],
)
def test_maj_at_k(answers, correct, k, expected):
    assert maj_at_k(answers, correct, k) == pytest.approx(expected)
