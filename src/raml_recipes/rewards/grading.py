"""Grade a completion against a gold answer with math-verify: the rules, run in one process.

The rules every stage relies on:
- the gold is parsed with an anchor, `\\boxed{gold}`, so extraction has something to hold on to; a
  gold that yields no expression is unparseable: its verdict is None ("no score"), never correct;
- `verify(gold, prediction)` is called in that order (math-verify is not symmetric);
- when the completion has a thought block, only the text after the last `</think>` is graded, so an
  intermediate `\\boxed` inside the thought does not count; a thought that never closes has no answer;
- in the graded part the last `\\boxed{}` wins; without one, the last `<answer>` / `<conclusion>`
  block is read, then "The answer is ..." phrasing and bare expressions (math-verify's extraction).

This module has no deadline of its own: `raml_recipes.rewards.pool` runs it in worker processes
that are killed when an item overruns, which is how callers should grade (`grade`, `grade_many`).
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
_TAG_BLOCK = re.compile(r"<(answer|conclusion)>(.*?)</\1>", re.DOTALL)

EXTRACTED_CHARS = 200  # enough to show what was read; junk answers stay short in logs

REASONS = ("correct", "incorrect", "no_answer", "unparseable_gold", "timeout", "worker_crash")


@dataclass(frozen=True)
class Verdict:
    """The outcome of grading one completion.

    `correct` is None when the gold answer cannot be parsed: such a sample has no score. `reason`
    is one of REASONS; `extracted` is the answer read from the completion, as text, when any.
    """

    correct: bool | None
    reason: str
    extracted: str | None = None


def answer_region(completion: str) -> str | None:
    """The part of `completion` that holds the final answer, or None when the thought never closed."""
    if THINK_CLOSE in completion:
        return completion.rsplit(THINK_CLOSE, 1)[1]
    if THINK_OPEN in completion:
        return None
    return completion


def _answer_text(region: str) -> str:
    # A \boxed anywhere in the region wins (last one); otherwise a tagged block narrows the search.
    if "\\boxed" in region:
        return region
    blocks = _TAG_BLOCK.findall(region)
    return blocks[-1][1] if blocks else region


@functools.lru_cache(maxsize=1)
def _extraction_configs():
    from math_verify import ExprExtractionConfig, LatexExtractionConfig

    gold = (LatexExtractionConfig(boxed_match_priority=0),)
    prediction = (LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig())
    return gold, prediction


def _signal_timeouts_allowed() -> bool:
    # math-verify's own timeouts use SIGALRM, which only the main thread may set.
    return threading.current_thread() is threading.main_thread()


@functools.lru_cache(maxsize=65536)
def parse_gold(gold: str, signal_timeouts: bool = False) -> tuple:
    """Parse a gold answer (cached per process); an empty tuple means unparseable.

    math-verify falls back to the raw string when it cannot build an expression; a gold answer
    with nothing but that fallback (e.g. "\\\\frac{" or "???") counts as unparseable.
    """
    from math_verify import parse

    gold = str(gold).strip()
    if not gold:
        return ()
    text = gold if "\\boxed" in gold else f"\\boxed{{{gold}}}"
    parsed = parse(
        text, extraction_config=_extraction_configs()[0], parsing_timeout=5 if signal_timeouts else None
    )
    return tuple(parsed) if any(not isinstance(item, str) for item in parsed) else ()


def grade_text(gold: str, completion: str, signal_timeouts: bool | None = None) -> Verdict:
    """Grade in this process, with no hard deadline (see the module docstring).

    `signal_timeouts`: use math-verify's SIGALRM timeouts (main thread only; they cannot interrupt
    work in C). Default: on in the main thread, off elsewhere.
    """
    return grade_region(gold, answer_region(completion), signal_timeouts)


def grade_region(gold: str, region: str | None, signal_timeouts: bool | None = None) -> Verdict:
    """Grade the answer part of a completion (`answer_region`'s result; None: the thought never closed)."""
    from math_verify import parse, verify

    if signal_timeouts is None:
        signal_timeouts = _signal_timeouts_allowed()
    gold_parsed = parse_gold(str(gold), signal_timeouts)
    if not gold_parsed:
        return Verdict(None, "unparseable_gold")
    if region is None or not region.strip():
        return Verdict(False, "no_answer")
    prediction = parse(
        _answer_text(region),
        extraction_config=_extraction_configs()[1],
        parsing_timeout=5 if signal_timeouts else None,
    )
    if not prediction:
        return Verdict(False, "no_answer")
    correct = bool(verify(list(gold_parsed), prediction, timeout_seconds=5 if signal_timeouts else None))
    return Verdict(correct, "correct" if correct else "incorrect", str(prediction[-1])[:EXTRACTED_CHARS])
