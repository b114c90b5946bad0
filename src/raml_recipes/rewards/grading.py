"""Grade a completion against a gold answer with math-verify: the rules, run in one process.

The default mode (`math_verify`) gives math-verify's own verdict,
`verify(parse(gold), parse(answer_region))` with math-verify's default extraction and comparison:
- the gold is given an anchor, `\\boxed{gold}`, unless it has math delimiters of its own (`$`, `\\(`,
  `\\[`, `\\boxed`); when the boxed form yields no expression, `$gold$` is tried. A gold that still
  yields no expression can only be compared verbatim, as math-verify does: a verbatim match is
  correct, anything else has no score (None, reason `unparseable_gold`), since it says nothing about
  the answer;
- `verify(gold, prediction)` is called in that order (math-verify is not symmetric);
- when the completion has a thought block, only the text after the last `</think>` is graded, so an
  intermediate `\\boxed` inside the thought does not count; a thought that never closes has no answer;
- the answer region is read as math-verify reads any text: several boxed answers in one formula
  are one tuple or set ("x = \\boxed{1} and \\boxed{2}" matches the gold "1, 2"), a "final answer is"
  phrase counts, and so on.

Two guards come first, and neither changes a verdict math-verify reaches within the deadline
(`tests/test_grading_agreement.py` checks both over generated pairs and the benchmarks' golds, with
the guards on and off): a whole-number gold against a region whose single box holds a whole number
is compared as integers, without sympy; an answer holding a number of more than MAX_ANSWER_DIGITS
digits is wrong without comparison (math-verify would run for minutes in C, past any deadline).

`lenient` mode adds equivalences graders of other projects accept and math-verify does not (see
`lenient.py`): it only turns verdicts from wrong to right, never the other way.

This module has no deadline of its own: `raml_recipes.rewards.pool` runs it in worker processes
that are killed when an item overruns, which is how callers should grade (`grade`, `grade_many`).
"""

from __future__ import annotations

import functools
import math
import re
import threading
from dataclasses import dataclass

from .boxed import last_boxed
from .lenient import lenient_match

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
_DELIMITED = re.compile(r"(?<!\\)\$|\\\(|\\\[|\\boxed")
# The integer guard: a plain whole number (digits, no separators or decimals), a region with one box.
_PLAIN_INTEGER = re.compile(r"-?\d+")
_FINAL_ANSWER = re.compile(r"final answer", re.IGNORECASE)

EXTRACTED_CHARS = 200  # enough to show what was read; junk answers stay short in logs
MAX_ANSWER_DIGITS = 10**7  # larger numbers are not compared (see is_astronomical)

REASONS = ("correct", "incorrect", "no_answer", "unparseable_gold", "timeout", "worker_crash")
# `math_verify`: math-verify's verdicts; `lenient`: those plus the equivalences of lenient.py.
MODES = ("math_verify", "lenient")
DEFAULT_MODE = "math_verify"


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


def _signal_timeouts_allowed() -> bool:
    # math-verify's own timeouts use SIGALRM, which only the main thread may set.
    return threading.current_thread() is threading.main_thread()


def gold_forms(gold: str) -> list[str]:
    """The texts a gold answer is parsed from, in order: as written when it has math delimiters of its
    own, else `\\boxed{gold}` (an anchor for extraction), then `$gold$`."""
    gold = str(gold).strip()
    if _DELIMITED.search(gold):
        return [gold]
    return [f"\\boxed{{{gold}}}", f"${gold}$"]


@functools.lru_cache(maxsize=65536)
def parse_gold(gold: str, signal_timeouts: bool = False) -> tuple[tuple, bool]:
    """A gold answer parsed (cached per process): (math-verify's items, whether any is an expression).

    math-verify falls back to the raw string when it cannot build an expression; a gold answer with
    nothing but that fallback (e.g. "\\frac{" or "???") has no expression: math-verify can then only
    compare it verbatim (see grade_region). The items are those of the first form with an expression,
    else of the first form.
    """
    from math_verify import parse

    if not str(gold).strip():
        return (), False
    first = None
    for text in gold_forms(gold):
        parsed = tuple(parse(text, parsing_timeout=5 if signal_timeouts else None))
        if any(not isinstance(item, str) for item in parsed):
            return parsed, True
        first = parsed if first is None else first
    return first, False


# Literal text without which a pattern of math-verify's default extraction cannot match (a pattern
# needs every condition that applies to it). Skipping patterns that cannot match leaves math-verify's
# result unchanged (its matches are the same) and makes long answer-less text, like junk, 4x cheaper.
_ANSWER_WORD = re.compile(r"answer", re.IGNORECASE)
_LATEX_SPAN = re.compile(r"\$|\\\[|\\\(|\[|\\frac")
_DELIMITER = re.compile(r"\$|\\\[|\\\(|\[")


def _can_match(pattern: str, text: str, has_answer: bool, has_latex: bool) -> bool:
    if ("(?i:answer)" in pattern or "(?i:final answer" in pattern) and not has_answer:
        return False
    if "\\\\boxed" in pattern and "\\boxed" not in text:
        return False
    return has_latex or "latexDisplayDollar" not in pattern


@functools.lru_cache(maxsize=1)
def _default_targets():
    from math_verify import ExprExtractionConfig, LatexExtractionConfig
    from math_verify.parser import get_extraction_regexes

    return get_extraction_regexes([LatexExtractionConfig(), ExprExtractionConfig()])


def _lone_box(text: str, has_answer: bool) -> str | None:
    """`\\boxed{X}` when math-verify's reading of `text` is that of the box alone, if the box reads.

    With one box, no "answer" word (no pattern of higher priority) and no math delimiter ($, \\[, \\(,
    [: no pattern of the box's own priority with a wider span), the only match of that priority is the
    plain box pattern, from which math-verify takes the box's content, whatever follows the box.
    """
    if has_answer or text.count("\\boxed{") != 1 or text.count("\\boxed") != 1 or _DELIMITER.search(text):
        return None
    content = last_boxed(text)
    return None if content is None else f"\\boxed{{{content}}}"


def parse_answer(text: str, signal_timeouts: bool = False) -> list:
    """`math_verify.parse(text)` with its default extraction, skipping only patterns that cannot match,
    and reading a lone box by itself when that gives the same result (a box that reads)."""
    from math_verify.parser import extract_target_from_pred
    from math_verify.utils import timeout

    has_answer, has_latex = bool(_ANSWER_WORD.search(text)), bool(_LATEX_SPAN.search(text))
    box = _lone_box(text, has_answer)
    if box is not None and box != text:
        read = parse_answer(box, signal_timeouts)
        if any(not isinstance(item, str) for item in read):
            return read
    targets = [
        ([(regex, priority) for regex, priority in patterns if _can_match(regex.pattern, text, has_answer, has_latex)],
         target)
        for patterns, target in _default_targets()
    ]  # fmt: skip
    try:
        return timeout(timeout_seconds=5 if signal_timeouts else None)(extract_target_from_pred)(
            text, targets, fallback_mode="first_match", extraction_mode="any_match"
        )
    except Exception:  # as math_verify.parse: an input it cannot read has no answer (timeouts included)
        return []


def grade_text(
    gold: str, completion: str, signal_timeouts: bool | None = None, mode: str = DEFAULT_MODE
) -> Verdict:
    """Grade in this process, with no hard deadline (see the module docstring).

    `signal_timeouts`: use math-verify's SIGALRM timeouts (main thread only; they cannot interrupt
    work in C). Default: on in the main thread, off elsewhere.
    """
    return grade_region(gold, answer_region(completion), signal_timeouts, mode)


def _integer_verdict(gold: str, region: str | None) -> Verdict | None:
    """Whole-number gold and boxed answer compared as integers, without sympy (None: not that case).

    Most math-RL golds are integers (the paper's GRPO data keeps only those), and math-verify would
    reach the same verdict through its LaTeX parser at many times the cost. Only where that is
    certain: plain integers on both sides (digits only, no separators), one box in the region
    (math-verify reads several as one set), and no "final answer" phrase (which it may read first).
    math-verify takes a box's content whatever follows it (`\\boxed{28}\\%` is 28), and so does this.
    """
    gold = str(gold).strip()
    if region is None or not _PLAIN_INTEGER.fullmatch(gold) or region.count("\\boxed") != 1:
        return None
    if _FINAL_ANSWER.search(region):
        return None
    boxed = last_boxed(region)
    if boxed is None or not _PLAIN_INTEGER.fullmatch(boxed.strip()):
        return None
    correct = int(boxed) == int(gold)
    return Verdict(correct, "correct" if correct else "incorrect", boxed.strip())


def grade_region(
    gold: str,
    region: str | None,
    signal_timeouts: bool | None = None,
    mode: str = DEFAULT_MODE,
    guards: bool = True,
) -> Verdict:
    """Grade the answer part of a completion (`answer_region`'s result; None: the thought never closed).

    `guards=False` turns off the integer and size guards and the pattern skipping of `parse_answer`
    (the agreement tests compare both ways).
    """
    from math_verify import parse, verify

    if mode not in MODES:
        raise ValueError(f"grading mode must be one of {', '.join(MODES)}, got {mode!r}")
    if guards:
        fast = _integer_verdict(str(gold), region)
        if fast is not None:  # two different integers are different in lenient mode too
            return fast
    if signal_timeouts is None:
        signal_timeouts = _signal_timeouts_allowed()
    gold_parsed, gold_has_expression = parse_gold(str(gold), signal_timeouts)
    if region is None or not region.strip():
        return Verdict(False, "no_answer") if gold_has_expression else Verdict(None, "unparseable_gold")
    prediction = parse_answer(region, signal_timeouts) if guards else parse(
        region, parsing_timeout=5 if signal_timeouts else None
    )
    # The text math-verify read the answer from (its string item), as written in the completion.
    extracted = str(prediction[-1])[:EXTRACTED_CHARS] if prediction else None
    if guards and any(is_astronomical(item) for item in prediction) and not any(
        is_astronomical(item) for item in gold_parsed
    ):
        return Verdict(False, "incorrect", extracted)
    correct = bool(prediction) and bool(
        verify(list(gold_parsed), prediction, timeout_seconds=5 if signal_timeouts else None)
    )
    if not gold_has_expression:
        # math-verify compared the raw strings: a verbatim match is its "correct"; anything else says
        # nothing about the answer, only that the gold is not math: no score.
        return Verdict(True, "correct", extracted) if correct else Verdict(None, "unparseable_gold")
    if not correct and mode == "lenient":
        matched = lenient_match(str(gold), gold_parsed, region, prediction)
        if matched is not None:
            return Verdict(True, "correct", matched[:EXTRACTED_CHARS])
    if not prediction:
        return Verdict(False, "no_answer")
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
