"""Reflection tokens: how much the answer NLL moves at words such as "Wait" or "Alternatively".

With L_i the probe's answer NLL after i thought tokens, the relative change caused by token i is
|L_i - L_{i-1}| / L_{i-1}. The paper (Fig. 6) finds it far above average at reflection words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

REFLECTION_WORDS = ("wait", "alternatively", "hold on", "retry", "recheck", "however")


def relative_changes(nll: Sequence[float]) -> list[float]:
    """|L_i - L_{i-1}| / L_{i-1} for i = 1..T (one per thought token); NLL over prefixes 0..T."""
    return [abs(nll[i] - nll[i - 1]) / max(nll[i - 1], 1e-8) for i in range(1, len(nll))]


def reflection_positions(
    tokens: Sequence[str], words: Sequence[str] = REFLECTION_WORDS
) -> dict[str, list[int]]:
    """Indices of the tokens that start each reflection word (case-insensitive, whole words)."""
    text, starts, offset = "", [], 0
    for token in tokens:
        starts.append(offset)
        text += token
        offset += len(token)
    found: dict[str, list[int]] = {word: [] for word in words}
    for word in words:
        body = r"\s+".join(re.escape(part) for part in word.split())  # "hold on" also across line breaks
        pattern = re.compile(rf"(?<![A-Za-z]){body}(?![A-Za-z])", re.IGNORECASE)
        for match in pattern.finditer(text):
            # The token that holds the word's first letter (a token may begin with a space).
            index = max(i for i, start in enumerate(starts) if start <= match.start())
            found[word].append(index)
    return found


def reflection_stats(
    curves: Sequence[tuple[Sequence[float], Sequence[str]]], words: Sequence[str] = REFLECTION_WORDS
) -> dict:
    """Mean relative change at each reflection word vs at all tokens, over (nll curve, thought tokens) pairs."""
    every: list[float] = []
    at_word: dict[str, list[float]] = {word: [] for word in words}
    for nll, tokens in curves:
        changes = relative_changes(nll)
        if len(changes) != len(tokens):
            raise ValueError(
                f"{len(tokens)} tokens need an NLL curve of {len(tokens) + 1} points, got {len(nll)}"
            )
        every.extend(changes)
        for word, positions in reflection_positions(tokens, words).items():
            at_word[word].extend(changes[i] for i in positions)
    mean_all = sum(every) / len(every) if every else float("nan")
    rows = {
        word: {"count": len(values), "mean_relative_change": sum(values) / len(values) if values else None}
        for word, values in at_word.items()
    }
    for row in rows.values():
        ratio = row["mean_relative_change"]
        row["ratio_to_average"] = ratio / mean_all if ratio is not None and mean_all else None
    return {"tokens": len(every), "average_relative_change": mean_all, "words": rows}
