"""Grade a completion against a gold answer with math-verify: the rules, run in one process.

The rules every stage relies on:
- the gold is parsed with an anchor, `\\boxed{gold}`, so extraction has something to hold on to; a
  gold that yields no expression is unparseable: its verdict is None ("no score"), never correct;
- `verify(gold, prediction)` is called in that order (math-verify is not symmetric);
- when the completion has a thought block, only the text after the last `</think>` is graded, so an
  intermediate `\\boxed` inside the thought does not count; a thought that never closes has no answer;
- in the graded part the last `\\boxed{}` wins; without one, the last `<answer>` / `<conclusion>`
  block is read, then "The answer is ..." phrasing and bare expressions (math-verify's extraction)
  in the last UNANCHORED_TAIL_CHARS characters;
- an answer holding a number of more than MAX_ANSWER_DIGITS digits is wrong without comparison.

This module has no deadline of its own: `raml_recipes.rewards.pool` runs it in worker processes
that are killed when an item overruns, which is how callers should grade (`grade`, `grade_many`).
"""

from __future__ import annotations

import functools
import math
import re
import threading
from dataclasses import dataclass
from decimal import Decimal

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
_TAG_BLOCK = re.compile(r"<(answer|conclusion)>(.*?)</\1>", re.DOTALL)
_NUMERAL = re.compile(r"-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?")

EXTRACTED_CHARS = 200  # enough to show what was read; junk answers stay short in logs
UNANCHORED_TAIL_CHARS = 5000  # how much of an answer without \boxed or tags is searched (its end)
MAX_ANSWER_DIGITS = 10**7  # larger numbers are not compared (see is_astronomical)

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
    # The last \boxed{} in the region is the answer (math-verify alone would read every box of a
    # formula as one tuple); otherwise a tagged block narrows the search; otherwise the answer is
    # stated at the end, and searching only the tail bounds the cost of junk.
    boxed = last_boxed(region)
    if boxed is not None:
        return f"\\boxed{{{boxed}}}"
    blocks = _TAG_BLOCK.findall(region)
    return blocks[-1][1] if blocks else region[-UNANCHORED_TAIL_CHARS:]


def _log10_size(expr) -> float:
    """An upper estimate of log10|value| for the numeric parts of a sympy expression (inf: too big)."""
    import sympy

    if expr.is_Integer or expr.is_Rational:
        return max(math.log10(abs(int(expr.p))) if expr.p else 0.0, math.log10(abs(int(expr.q))))
    if expr.is_Number:
        return math.log10(abs(float(expr))) if expr and math.isfinite(float(expr)) else 0.0
    if isinstance(expr, sympy.Pow) and expr.base.is_number and expr.exp.is_number:
        exponent_size = _log10_size(expr.exp)
        if exponent_size > 300:
            return math.inf
        exponent = abs(complex(expr.exp.evalf(30)))
        return max(_log10_size(expr.base), 1.0) * exponent
    if isinstance(expr, sympy.factorial) and expr.args[0].is_number:
        n = abs(complex(expr.args[0].evalf(30))) if _log10_size(expr.args[0]) < 300 else math.inf
        return n * math.log10(n) if n > 1 else 0.0
    return sum(max(_log10_size(arg), 0.0) for arg in expr.args)


def is_astronomical(value) -> bool:
    """True for a parsed answer holding a number with more than MAX_ANSWER_DIGITS digits.

    Comparing such numbers (`5^{5^{5^{5^{5}}}}`, `9^{9^{9}}`) runs in GMP for minutes, where no
    signal reaches it, and can exhaust memory: no gold answer is that large, so they are wrong.
    """
    import sympy

    if not isinstance(value, sympy.Basic):
        return False
    try:
        return _log10_size(value) > MAX_ANSWER_DIGITS
    except (OverflowError, ValueError, TypeError):
        return True


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


def last_boxed(text: str) -> str | None:
    """The content of the last `\\boxed{...}` in `text` (braces balanced), or None."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, begin = 0, start + len("\\boxed{")
    for index in range(begin, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            if depth == 0:
                return text[begin:index]
            depth -= 1
    return None


def _integer(text: str) -> Decimal | None:
    """A plain numeral ("72", "-5", "1,000", "3.0") as a number, when it is a whole number."""
    text = text.strip().strip("$").strip()
    if not _NUMERAL.fullmatch(text):
        return None
    value = Decimal(text.replace(",", ""))
    return value if value == value.to_integral_value() else None


def _integer_verdict(gold: str, region: str | None) -> Verdict | None:
    """Whole-number gold and boxed answer compare as numbers, without sympy (None: not that case).

    Most math-RL golds are integers (the paper's GRPO data keeps only those), and math-verify would
    reach the same verdict through its LaTeX parser at many times the cost.
    """
    expected = _integer(gold)
    if expected is None or region is None:
        return None
    boxed = last_boxed(region)
    answer = None if boxed is None else _integer(boxed)
    if answer is None:
        return None
    return Verdict(
        answer == expected, "correct" if answer == expected else "incorrect", boxed.strip()[:EXTRACTED_CHARS]
    )


def grade_region(gold: str, region: str | None, signal_timeouts: bool | None = None) -> Verdict:
    """Grade the answer part of a completion (`answer_region`'s result; None: the thought never closed)."""
    from math_verify import parse, verify

    fast = _integer_verdict(str(gold), region)
    if fast is not None:
        return fast
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
    extracted = str(prediction[-1])[:EXTRACTED_CHARS]
    if any(is_astronomical(item) for item in prediction) and not any(
        is_astronomical(item) for item in gold_parsed
    ):
        return Verdict(False, "incorrect", extracted)
    correct = bool(verify(list(gold_parsed), prediction, timeout_seconds=5 if signal_timeouts else None))
    return Verdict(correct, "correct" if correct else "incorrect", extracted)


# "Answer: C" as OpenCompass's GPQA post-processor and simple-evals read it (case-insensitive), with
# optional $...$ or parentheses around the letter.
_CHOICE_LINE = re.compile(r"(?i)answer[ \t]*:[ \t]*\$?\(?([A-D])\)?\$?(?![A-Za-z])")
_CHOICE_BOX = re.compile(r"^\s*(?:\\text\{)?\s*\(?([A-D])\)?\s*\}?\s*$")


def grade_choice(gold: str, completion: str) -> Verdict:
    """A multiple-choice completion against a gold letter: the last "Answer: X" line of the answer
    region, else a `\\boxed{X}` holding one letter (the official system prompt asks for a box)."""
    region = answer_region(completion)
    if region is None:
        return Verdict(False, "no_answer")
    lines = _CHOICE_LINE.findall(region)
    letter = lines[-1].upper() if lines else None
    if letter is None and (boxed := last_boxed(region)) is not None:
        match = _CHOICE_BOX.match(boxed)
        letter = match[1] if match else None
    if letter is None:
        return Verdict(False, "no_answer")
    correct = letter == gold.strip().upper()
    return Verdict(correct, "correct" if correct else "incorrect", letter)
