"""Rule-based compressors: no model, each one a function from segments to the segments it keeps.

They read two things a segment carries: its text (cue phrases, numerals) and `states_answer`
(whether it states the final answer, as the grader sees it; set once by `mark_answer_segments`).
Each can be run alone or composed (`compose`), in the order given. None drops the last segment:
the thought's conclusion, where it states the answer, always stays.

- `stop_at_answer`: cut the thought right after the segment that first reaches the answer, when a
  later segment checks it (states it again): the check and everything after it go. An answer that
  is stated once is not known to be checked: no cut.
- `drop_verification`: drop a "let me double-check / verify ..." block that only re-derives what
  was already stated (every numeral in it appeared before it) and finds no error.
- `collapse_branches`: drop a "Wait," / "Alternatively," / "Hmm," branch (up to the next such cue)
  that finds no error and leaves nothing that later text relies on: no value it introduces is used
  after it. That covers a branch that returns to the value that stood before it, a dead end, and an
  abandoned computation. A branch that first states the answer is kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from .segments import Segment

Compressor = Callable[[list[Segment]], list[Segment]]

_MARKUP = re.compile(r"^[\s*_#>-]+")
VERIFICATION_CUE = re.compile(
    r"\b(?:let(?:'s| me| us)|i(?:'ll| will| should| can| need to)?)\s+(?:just\s+|quickly\s+|also\s+)?"
    r"(?:double[- ]?check|re-?check|check|verify|re-?verify|confirm|make sure|cross-?check|sanity[- ]check)"
    r"|\b(?:to|just to)\s+(?:double[- ]?check|verify|confirm|be (?:sure|safe|thorough))"
    r"|\bdouble[- ]?check",
    re.IGNORECASE,
)
BRANCH_CUE = re.compile(
    r"^(?:but\s+)?(?:wait|alternatively|hmm+|hold on|actually|on second thought|another (?:way|approach)"
    r"|let me (?:think|try|approach|consider) (?:again|another|a different|this differently|it differently))\b",
    re.IGNORECASE,
)
_ERROR_WORD = re.compile(
    r"\b(mistakes?|wrong|incorrect|errors?|miscalculat\w*|discrepanc\w*|contradict\w*)\b", re.I
)
_NEGATION = re.compile(r"\b(no|not|nothing|never|without|any|\w+n't)\s+(?:[\w']+\s+){0,4}$", re.IGNORECASE)
BRANCH_WINDOW = 40  # segments a branch may span; a longer stretch without a new cue is left alone


def starts_with(cue: re.Pattern, segment: Segment) -> bool:
    return bool(cue.match(_MARKUP.sub("", segment.text)))


def finds_error(text: str) -> bool:
    """An error word not negated a few words before it, in the same clause ("I made a mistake", not
    "no mistake" or "I don't think I made an error"; "No, I made a mistake" is an error)."""
    return any(not _NEGATION.search(text[: match.start()]) for match in _ERROR_WORD.finditer(text))


def _significant(numbers: set[str]) -> set[str]:
    """Numerals worth tracking: single digits occur everywhere and say nothing."""
    return {n for n in numbers if len(n.replace(".", "")) > 1}


def stop_at_answer(segments: list[Segment]) -> list[Segment]:
    stating = [i for i, segment in enumerate(segments) if segment.states_answer]
    if len(stating) < 2:
        return segments
    return segments[: stating[0] + 1]


def drop_verification(segments: list[Segment]) -> list[Segment]:
    kept: list[Segment] = []
    known: set[str] = set()
    i = 0
    while i < len(segments):
        segment = segments[i]
        if (
            kept
            and i < len(segments) - 1
            and VERIFICATION_CUE.search(segment.text)
            and segment.numbers <= known | _small(segment)
        ):
            end = i + 1  # the block runs while it only restates known numerals
            while (
                end < len(segments) - 1
                and not starts_with(BRANCH_CUE, segments[end])
                and not VERIFICATION_CUE.search(segments[end].text)
                and segments[end].numbers <= known | _small(segments[end])
            ):
                end += 1
            block = segments[i:end]
            if not any(finds_error(s.text) for s in block) and not _ends_open(block):
                i = end
                continue
        kept.append(segment)
        known |= segment.numbers
        i += 1
    return kept


def _small(segment: Segment) -> set[str]:
    return segment.numbers - _significant(segment.numbers)


def _ends_open(block: list[Segment]) -> bool:
    """A block that ends on a question or a colon announces work that follows: not a closed check."""
    return block[-1].text.rstrip().endswith(("?", ":"))


def collapse_branches(segments: list[Segment]) -> list[Segment]:
    kept: list[Segment] = []
    i = 0
    while i < len(segments):
        segment = segments[i]
        if kept and i < len(segments) - 1 and starts_with(BRANCH_CUE, segment):
            end = _branch_end(segments, i)
            block = segments[i:end]
            later = set().union(*(s.numbers for s in segments[end:]))
            before = set().union(*(s.numbers for s in kept))
            new = _significant(set().union(*(s.numbers for s in block))) - before
            answered = any(s.states_answer for s in kept) or not any(s.states_answer for s in block)
            if answered and not any(finds_error(s.text) for s in block) and not (new & later):
                i = end
                continue
        kept.append(segment)
        i += 1
    return kept


def _branch_end(segments: list[Segment], start: int) -> int:
    end = start + 1
    while (
        end < len(segments) - 1  # the conclusion is never part of a branch
        and end - start < BRANCH_WINDOW
        and not starts_with(BRANCH_CUE, segments[end])
    ):
        end += 1
    return end


RULES: dict[str, Compressor] = {
    "stop_at_answer": stop_at_answer,
    "drop_verification": drop_verification,
    "collapse_branches": collapse_branches,
}


def compose(names: Sequence[str]) -> Compressor:
    """The named compressors applied in order."""
    unknown = [name for name in names if name not in RULES]
    if unknown or not names:
        raise ValueError(f"unknown rule(s) {unknown or names}; known: {', '.join(RULES)}")

    def compressor(segments: list[Segment]) -> list[Segment]:
        for name in names:
            segments = RULES[name](segments)
        return segments

    return compressor
