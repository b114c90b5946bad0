"""Split a thought into segments (paragraphs, lines or sentences) that compressors keep or drop.

Splitting happens only at whitespace, so a segment is always whole text (never a cut token) and
`join_segments` of all segments gives the thought back unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GRANULARITIES = ("paragraph", "line", "sentence")

_SPLITTERS = {
    "paragraph": re.compile(r"(\n[ \t]*\n\s*)"),
    "line": re.compile(r"(\n\s*)"),
    # A sentence ends at . ! ? followed by whitespace and a capital, a quote, a bracket or markup;
    # "3.5" and "e.g. x" stay whole.
    "sentence": re.compile(r"((?<=[.!?])[ \t]+(?=[A-Z\"'(\\$*])|\n\s*)"),
}
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:,\d{3})*(?:\.\d+)?")


@dataclass
class Segment:
    text: str
    separator: str  # the whitespace that followed it in the thought
    states_answer: bool = False  # set by `mark_answer_segments`

    @property
    def numbers(self) -> set[str]:
        return numbers_in(self.text)


def numerals(text: str) -> list[str]:
    """Numerals in `text` in order, unsigned, thousands separators removed ("-88,572" -> "88572")."""
    return [match.replace(",", "").lstrip("-") for match in _NUMBER.findall(text)]


def numbers_in(text: str) -> set[str]:
    return set(numerals(text))


def split_segments(thought: str, granularity: str = "paragraph") -> list[Segment]:
    if granularity not in _SPLITTERS:
        raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}, got {granularity!r}")
    pieces = _SPLITTERS[granularity].split(thought)
    texts, separators = pieces[0::2], pieces[1::2] + [""]
    segments: list[Segment] = []
    for text, separator in zip(texts, separators, strict=True):
        if text.strip():
            segments.append(Segment(text, separator))
        elif segments:  # whitespace-only piece: fold it into the previous separator
            segments[-1].separator += text + separator
    return segments


def join_segments(segments: list[Segment]) -> str:
    return "".join(segment.text + segment.separator for segment in segments).rstrip()
