"""Grade a completion against a gold answer with math-verify.

The rules every stage relies on:
- the gold is parsed with an anchor, `\\boxed{gold}`, so extraction has something to hold on to;
- `verify(gold, prediction)` is called in that order (math-verify is not symmetric);
- when the completion has a thought block, only the text after the last `</think>` is graded, so an
  intermediate `\\boxed` inside the thought does not count; a thought that never closes has no answer;
- in the graded part the last `\\boxed{}` wins; without one, "The answer is ..." and `<answer>` /
  `<conclusion>` blocks are read.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

THINK_CLOSE = "</think>"
_TAG_BLOCK = re.compile(r"<(answer|conclusion)>(.*?)</\1>", re.DOTALL)


@dataclass(frozen=True)
class Verdict:
    """The outcome of grading one completion.

    `correct` is None when the gold answer cannot be parsed: such a sample has no score, never 1.
    """

    correct: bool | None
    reason: str  # "correct", "incorrect", "no_answer", "unparseable_gold"

    def __bool__(self) -> bool:  # a verdict reads as "is this correct?" in conditions
        return bool(self.correct)


def answer_region(completion: str) -> str | None:
    """The part of `completion` that holds the final answer, or None when the thought never closed."""
    if THINK_CLOSE in completion:
        return completion.rsplit(THINK_CLOSE, 1)[1]
    if "<think>" in completion:
        return None
    return completion


def _answer_text(region: str) -> str:
    # A tagged block narrows the search; the whole region remains the fallback.
    blocks = _TAG_BLOCK.findall(region)
    return blocks[-1][1] if blocks else region


@functools.lru_cache(maxsize=1)
def _extraction_configs():
    from math_verify import ExprExtractionConfig, LatexExtractionConfig

    gold = (LatexExtractionConfig(boxed_match_priority=0),)
    prediction = (LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig())
    return gold, prediction


@functools.lru_cache(maxsize=65536)
def parse_gold(gold: str):
    """Parse a gold answer (cached per process); an empty result means unparseable.

    math-verify falls back to the raw string when it cannot build an expression; a gold answer
    with nothing but that fallback (e.g. "\\frac{" or "???") counts as unparseable.
    """
    from math_verify import parse

    gold = str(gold).strip()
    if not gold:
        return ()
    text = gold if "\\boxed" in gold else f"\\boxed{{{gold}}}"
    parsed = parse(text, extraction_config=_extraction_configs()[0])
    return tuple(parsed) if any(not isinstance(item, str) for item in parsed) else ()


def grade(gold: str, completion: str) -> Verdict:
    """Grade `completion` against `gold`; see the module docstring for the rules."""
    from math_verify import parse, verify

    gold_parsed = parse_gold(gold)
    if not gold_parsed:
        return Verdict(None, "unparseable_gold")
    region = answer_region(completion)
    if region is None or not region.strip():
        return Verdict(False, "no_answer")
    prediction = parse(_answer_text(region), extraction_config=_extraction_configs()[1])
    if not prediction:
        return Verdict(False, "no_answer")
    correct = bool(verify(list(gold_parsed), prediction))
    return Verdict(correct, "correct" if correct else "incorrect")
