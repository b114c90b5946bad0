"""Where a text states the final answer, as the grader sees it.

A text states the answer when the grader, reading it as an answer, finds an expression equal to the
gold *and made of the gold's numerals*: math-verify also accepts a large expression that merely
evaluates to the gold (a binomial identity equal to -1/4027), which is a step, not the answer.

Only segments whose numerals include the gold's are sent to the grader (a long thought has
hundreds of segments), all at once, in the grading pool, each under its deadline.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..rewards import Verdict, grade_many
from .segments import Segment, numbers_in, split_segments


def could_state(answer: str, text: str) -> bool:
    """True when every numeral of the answer occurs in `text` (answers without numerals: always)."""
    return numbers_in(answer) <= numbers_in(text)


def is_stated(answer: str, verdict: Verdict) -> bool:
    return bool(verdict.correct) and numbers_in(verdict.extracted or "") <= numbers_in(answer)


def states_answer(texts: Sequence[str], answers: Sequence[str]) -> list[bool]:
    """For each (text, gold) pair: does the text state the answer? Graded together."""
    pairs = list(zip(answers, texts, strict=True))
    todo = [i for i, (answer, text) in enumerate(pairs) if could_state(answer, text)]
    verdicts = grade_many([pairs[i] for i in todo])
    stated = [False] * len(pairs)
    for i, verdict in zip(todo, verdicts, strict=True):
        stated[i] = is_stated(pairs[i][0], verdict)
    return stated


def mark_answer_segments(segment_lists: list[list[Segment]], answers: Sequence[str]) -> None:
    """Set `states_answer` on every segment of every list (one list and one gold answer per thought)."""
    flat = [
        (segment, answer)
        for segments, answer in zip(segment_lists, answers, strict=True)
        for segment in segments
    ]
    for (segment, _), stated in zip(
        flat, states_answer([s.text for s, _ in flat], [a for _, a in flat]), strict=True
    ):
        segment.states_answer = stated


CONCLUSION_PARAGRAPHS = 3  # "... is 5.8 cm." is often followed by "Yes, that seems correct."


def concludes_with_answer(thoughts: Sequence[str], answers: Sequence[str]) -> list[bool]:
    """Does each thought state its answer in one of its last CONCLUSION_PARAGRAPHS paragraphs?"""
    tails = [split_segments(thought, "paragraph")[-CONCLUSION_PARAGRAPHS:] for thought in thoughts]
    stated = iter(
        states_answer(
            [segment.text for tail in tails for segment in tail],
            [answer for tail, answer in zip(tails, answers, strict=True) for _ in tail],
        )
    )
    return [any([next(stated) for _ in tail]) for tail in tails]
