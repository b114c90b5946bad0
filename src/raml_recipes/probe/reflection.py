"""Reflection tokens: how much the answer NLL moves at words such as "Wait" or "Alternatively".

With L_i the probe's answer NLL after i thought tokens, the relative change of an ordinary token is
|L_i - L_{i-1}| / L_{i-1}; the paper (Fig. 6) finds the change far above that average at reflection
words. Two definitions of "the change at a word":

- `paper` (the default): the official notebook's (open-compass/RaML, src/pseudo_gradient_descent.ipynb,
  the reflection-token cell). A word is found by token ids: its own tokenization without a leading
  space (`tokenizer.encode(word)`), matched id by id, case-sensitive, each spelling listed separately
  (PAPER_REFLECTION_WORDS). Its change spans the word and one token more: |L_{i+n+1} - L_i| / L_i for a
  word of n tokens starting at thought token i (0-based; L_i is the NLL before it). The average skips
  positions where L_{i-1} is 0, and, as the notebook does, the curve's last len(marker + answer) points
  are dropped before either is computed.
- `text`: this project's earlier reading: a word is found in the decoded text (case-insensitive, whole
  words, "hold on" across spaces, with or without a leading space), and its change is that of its first
  token, |L_{i+1} - L_i| / L_i.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..prompts import PAPER_REFLECTION_WORDS

REFLECTION_WORDS = ("wait", "alternatively", "hold on", "retry", "recheck", "however")
DEFINITIONS = ("paper", "text")


def default_words(definition: str) -> tuple[str, ...]:
    return PAPER_REFLECTION_WORDS if definition == "paper" else REFLECTION_WORDS


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
    """The `text` definition: mean relative change at each reflection word vs at all tokens, over
    (nll curve, thought token texts) pairs."""
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
    return _summary(every, at_word)


def paper_reflection_stats(
    curves: Sequence[tuple[Sequence[float], Sequence[int], int]], word_ids: dict[str, Sequence[int]]
) -> dict:
    """The official notebook's statistics over (nll over prefixes 0..T, thought token ids, tail) triples.

    `word_ids` maps each word to its token ids (`tokenizer.encode(word, add_special_tokens=False)`);
    `tail` is the number of curve points the notebook drops at the end (len(marker + answer tokens)).
    """
    every: list[float] = []
    at_word: dict[str, list[float]] = {word: [] for word in word_ids}
    for nll, ids, tail in curves:
        if len(nll) != len(ids) + 1:
            raise ValueError(f"{len(ids)} tokens need an NLL curve of {len(ids) + 1} points, got {len(nll)}")
        # The notebook's list: (last token of prefix j, L_j) for j = 0..T, prefix 0 ending at <think>.
        points = list(zip([None, *ids], nll, strict=True))
        points = points[: len(points) - tail] if tail else points
        for i in range(1, len(points)):
            before = points[i - 1][1]
            if before == 0:
                continue
            every.append(abs(points[i][1] - before) / before)
            for word, target in word_ids.items():
                n = len(target)
                if n and i + n < len(points) and [t for t, _ in points[i : i + n]] == list(target):
                    at_word[word].append(abs(points[i + n][1] - before) / before)
    return _summary(every, at_word)


def _summary(every: list[float], at_word: dict[str, list[float]]) -> dict:
    mean_all = sum(every) / len(every) if every else float("nan")
    rows = {
        word: {"count": len(values), "mean_relative_change": sum(values) / len(values) if values else None}
        for word, values in at_word.items()
    }
    for row in rows.values():
        ratio = row["mean_relative_change"]
        row["ratio_to_average"] = ratio / mean_all if ratio is not None and mean_all else None
    return {"tokens": len(every), "average_relative_change": mean_all, "words": rows}
