"""`lenient` grading: equivalences other math graders accept and math-verify does not.

Each family turns a wrong verdict into a right one only when its own test holds; none can make a
right verdict wrong. The families, with what stays wrong:

- units: a number with units or words after it (`\\boxed{12~\\text{cm}^2}`, `\\boxed{\\text{12 apples}}`),
  degrees against radians (`45^\\circ` for `\\frac{\\pi}{4}`). Stays wrong: more than one number
  (`12 \\text{ or } 13`), a bare `45` for `\\frac{\\pi}{4}`.
- times: clock times compared as minutes of the day, a.m./p.m. or 24-hour (`3:30 p.m.` for `15:30`); a
  time without a.m./p.m. matches either half of the day. Stays wrong: `3:30 a.m.` for `15:30`,
  `4:40` for `3:30` (which math-verify reads as equal ratios, and leniency does not undo).
- tolerance: a decimal of at least 3 significant digits that is the gold's value rounded to its own
  number of places (`0.3333` for `\\frac{1}{3}`, `1.414` for `\\sqrt{2}`). Stays wrong: `0.33` (two
  digits), `1.415` (not the rounding).
- identities: gold and answer whose difference sympy simplifies to 0 once `i` is the imaginary unit
  (`-1` for `e^{i\\pi}`, `2i` for `(1+i)^2`) or the variables are positive (`\\log_2 x + \\log_2 y`
  for `\\log_2(xy)`); math-verify reads `i` as a variable and assumes nothing about signs. Stays
  wrong: `x^2+1` for `(x+1)^2`, `2` for `(1+i)^2`, `\\log_2 x + \\log_2 y` for `\\log_2(x+y)`.

Used by `grading.grade_region(..., mode="lenient")`, in the pool's workers, under its deadline.
"""

from __future__ import annotations

import math
import re

from .boxed import last_boxed

_TEXT_COMMAND = re.compile(r"\\(?:text|mathrm|textbf|mbox|operatorname)\s*\{([^{}]*)\}")
_SPACING = re.compile(r"\\[,;:!]|~|\\quad|\\qquad|\\ ")
_DEGREES = re.compile(r"\^\s*\{?\\circ\}?|°|\\degree")
_NUMBER_WITH_UNITS = re.compile(
    r"\s*\\?\$?\s*(?P<number>-?\d[\d,]*(?:\.\d+)?|-?\.\d+)\s*"
    r"(?P<units>[A-Za-z°%][A-Za-z./\s°%-]*(?:\^\s*\{?[23]\}?)?[A-Za-z./\s]*)?\.?\s*"
)
_TIME = re.compile(
    r"\s*(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<meridiem>[ap])?\.?\s*(?(meridiem)m\.?)\s*",
    re.IGNORECASE,
)
_DECIMAL = re.compile(r"-?\d*\.(\d+)")


def _plain(text: str) -> str:
    """LaTeX text commands opened up and spacing commands dropped: `\\text{12 apples}` -> `12 apples`."""
    previous = None
    while previous != text:
        previous, text = text, _TEXT_COMMAND.sub(r" \1 ", text)
    return _SPACING.sub(" ", text).replace("\\$", "").replace("$", "").strip()


def _candidates(region: str, prediction: list) -> list[str]:
    """The answer texts to try: the last box's content, and the text math-verify matched."""
    found = [last_boxed(region)]
    found += [item for item in prediction if isinstance(item, str)]
    return list(dict.fromkeys(text for text in found if text and text.strip()))


def _number(expr) -> float | None:
    """A sympy expression's real value, when it has one and no free symbols."""
    try:
        if getattr(expr, "free_symbols", None) or not getattr(expr, "is_number", False):
            return None
        value = complex(expr.evalf(30))
    except (TypeError, ValueError, AttributeError):
        return None
    return value.real if abs(value.imag) < 1e-12 and math.isfinite(value.real) else None


def _units(gold_value: float | None, text: str) -> str | None:
    if gold_value is None:
        return None
    plain = _plain(text)
    degrees = bool(_DEGREES.search(plain))
    plain = _DEGREES.sub(" ", plain)
    match = _NUMBER_WITH_UNITS.fullmatch(plain)
    if match is None or (match["units"] is None and not degrees):
        return None
    value = float(match["number"].replace(",", ""))
    if math.isclose(value, gold_value, rel_tol=1e-9, abs_tol=1e-12):
        return f"{match['number']} (units: {(match['units'] or '').strip() or 'degrees'})"
    if degrees and math.isclose(math.radians(value), gold_value, rel_tol=1e-9, abs_tol=1e-12):
        return f"{match['number']} degrees = {gold_value:.6g} rad"
    return None


def _minutes(text: str) -> tuple[int, bool] | None:
    """Minutes of the day and whether a.m./p.m. fixed the half of the day; None if not a time."""
    match = _TIME.fullmatch(_plain(text))
    if match is None or (match["minute"] is None and match["meridiem"] is None):
        return None
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    if minute > 59 or hour > 24 or (match["meridiem"] and not 1 <= hour <= 12):
        return None
    if match["meridiem"]:
        hour = hour % 12 + (12 if match["meridiem"].lower() == "p" else 0)
        return hour * 60 + minute, True
    return (hour % 24) * 60 + minute, hour > 12  # "15:30" fixes the half of the day too


def _times(gold: str, text: str) -> str | None:
    gold_time, answer_time = _minutes(gold), _minutes(text)
    if gold_time is None or answer_time is None:
        return None
    (gold_minutes, gold_fixed), (answer_minutes, answer_fixed) = gold_time, answer_time
    same = gold_minutes == answer_minutes
    if not (gold_fixed and answer_fixed):  # one side leaves the half of the day open
        same = gold_minutes % 720 == answer_minutes % 720
    return f"{text.strip()} (time)" if same else None


def _tolerance(gold_value: float | None, text: str) -> str | None:
    if gold_value is None:
        return None
    match = _DECIMAL.fullmatch(_plain(text).rstrip("."))
    if match is None:
        return None
    places = len(match[1])
    digits = match[0].lstrip("-").replace(".", "").lstrip("0")
    if len(digits) < 3:
        return None
    if abs(float(match[0]) - gold_value) <= 0.5 * 10**-places + 1e-12:
        return f"{match[0]} (rounded to {places} places)"
    return None


def _identity(gold_expr, answer_expr) -> str | None:
    """gold - answer simplifies to 0 once `i` is read as the imaginary unit, or for positive variables
    (logarithm and power rules: log(xy) = log x + log y)."""
    import sympy

    if not (isinstance(gold_expr, sympy.Expr) and isinstance(answer_expr, sympy.Expr)):
        return None
    difference = gold_expr - answer_expr
    imaginary = {symbol: sympy.I for symbol in difference.free_symbols if symbol.name == "i"}
    for reading, expr in (("i as the imaginary unit", difference.subs(imaginary) if imaginary else None),
                          ("positive variables", sympy.posify(difference)[0] if difference.free_symbols else None)):  # fmt: skip
        if expr is None:
            continue
        try:
            expr = sympy.expand_log(sympy.powsimp(sympy.expand_power_exp(expr), force=True), force=True)
            if sympy.simplify(expr) == 0:
                return f"{answer_expr} (identity, {reading})"
        except Exception:  # sympy gives up on some forms: no identity found
            continue
    return None


def lenient_match(gold: str, gold_parsed, region: str, prediction: list) -> str | None:
    """A description of the answer when a lenient family accepts it, else None."""
    gold_exprs = [item for item in gold_parsed if not isinstance(item, str)]
    gold_value = _number(gold_exprs[0]) if gold_exprs else None
    for text in _candidates(region, prediction):
        for check in (
            lambda t: _units(gold_value, t),
            lambda t: _times(gold, t),
            lambda t: _tolerance(gold_value, t),
        ):
            found = check(text)
            if found is not None:
                return found
    answers = [item for item in prediction if not isinstance(item, str)]
    if gold_exprs and answers:
        return _identity(gold_exprs[0], answers[0])
    return None
