"""Sampling metrics over n samples per question, c of them correct.

- pass@k (unbiased, Chen et al. 2021): 1 - C(n-c, k) / C(n, k), the chance that k samples drawn
  without replacement from the n contain a correct one.
- mG-pass@k ("Are Your LLMs Capable of Stable Reasoning?", used by the RaML paper):
  (2/k) * sum_{i=ceil(k/2)+1..k} P(X >= i), X ~ Hypergeometric(n, c, k): how reliably at least
  i of k drawn samples are correct, averaged over the upper half of i.
- avg@n: c / n.
- maj@k: majority vote over the answers of k samples; a tie between answers gives the fraction of
  the tied answers that are correct (the expected score of a random tie-break).
Each function scores one question; `mean_metric` averages over questions.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence


def _check(n: int, c: int, k: int) -> None:
    if not (0 <= c <= n and 1 <= k <= n):
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")


def pass_at_k(n: int, c: int, k: int) -> float:
    _check(n, c, k)
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def prob_at_least(n: int, c: int, k: int, i: int) -> float:
    """P(X >= i) for X ~ Hypergeometric(population n, c successes, k draws)."""
    total = math.comb(n, k)
    return sum(math.comb(c, j) * math.comb(n - c, k - j) for j in range(max(i, 0), min(c, k) + 1)) / total


def mg_pass_at_k(n: int, c: int, k: int) -> float:
    _check(n, c, k)
    return 2.0 / k * sum(prob_at_least(n, c, k, i) for i in range(math.ceil(k / 2) + 1, k + 1))


def avg_at_n(n: int, c: int) -> float:
    _check(n, c, 1)
    return c / n


_SPACES = re.compile(r"\s+")


def normalize_answer(answer: str) -> str:
    """A key for majority voting: spacing, `\\left`/`\\right`, `$` and a trailing period removed."""
    answer = answer.replace("\\left", "").replace("\\right", "").replace("$", "")
    return _SPACES.sub("", answer).rstrip(".")


def maj_at_k(answers: Sequence[str | None], correct: Sequence[bool], k: int) -> float:
    """Majority vote over the first k samples' extracted answers (None: no answer, no vote)."""
    if not 1 <= k <= len(answers) or len(answers) != len(correct):
        raise ValueError(f"maj@k needs 1 <= k <= {len(answers)} samples with one verdict each")
    votes: Counter[str] = Counter()
    right: dict[str, bool] = {}
    for answer, ok in zip(answers[:k], correct[:k], strict=True):
        if answer is None:
            continue
        key = normalize_answer(answer)
        votes[key] += 1
        right[key] = right.get(key, False) or ok
    if not votes:
        return 0.0
    top = max(votes.values())
    tied = [key for key, count in votes.items() if count == top]
    return sum(right[key] for key in tied) / len(tied)


def mean_metric(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else float("nan")
