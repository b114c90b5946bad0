"""Default grading gives math-verify's verdicts: its own test suite, and the guards shown not to change
a verdict; `lenient` adds equivalences family by family, each with a counter-case that stays wrong."""

from __future__ import annotations

import json
import random
import re

import pytest

from raml_recipes.rewards import grade_many, grade_text
from raml_recipes.rewards.functions import AccuracyReward, RamlReward
from raml_recipes.rewards.grading import grade_region

from .conftest import ROOT
from .math_verify_suite import harness_verdict, load_cases, reference_verdict

SUITE = load_cases()

# Cases of math-verify's suite whose harness sets an option other than math-verify's defaults, which
# the default mode (math-verify's defaults) does not take. For each, raw math-verify with its defaults
# gives the same verdict as ours, not the harness's: the difference is the option, checked below.
HARNESS_OPTIONS = {
    "test_all.py::test_number_extraction[6]": "gold read by the expression extractor alone: '1,22' is a decimal "
    "there, and a LaTeX reading of the gold (the default) makes it a pair",
    "test_all.py::test_latex_notation[5]": "prediction read by the LaTeX extractor alone; the default also reads "
    "plain numbers, which finds the 9",
    "test_all.py::test_latex_notation[6]": "as above",
    "test_all.py::test_complex_math_expressions[7]": "float_rounding=2 (the default compares 6 places)",
    "test_all.py::test_complex_math_expressions[13]": "float_rounding=2",
    "test_all.py::test_set_rel_assymetry[2]": "allow_set_relation_comp=True",
    "test_strict.py::test_strict_variable_comparison[1]": "strict=False",
}


def test_the_suite_is_read_from_math_verifys_own_tests():
    assert len(SUITE) >= 250
    files = {case.file for case in SUITE}
    assert {"test_all.py", "test_numina_cases.py", "test_open_thoughts.py", "test_boxed.py"} <= files
    # math-verify passes its own cases with the options each test gives its harness.
    assert [case.id for case in SUITE if harness_verdict(case) != case.expected] == []


@pytest.mark.parametrize("case", SUITE, ids=lambda case: case.id)
def test_default_mode_passes_what_math_verify_passes(case):
    ours = grade_text(case.gold, case.pred, signal_timeouts=True)
    reference = reference_verdict(case.gold, case.pred)
    if reference is not None:
        assert ours.correct == reference  # the default mode is raw math-verify, everywhere
    if case.id in HARNESS_OPTIONS:
        assert reference is not None and reference != case.expected and ours.correct != case.expected
    else:
        assert ours.correct == case.expected, ours


def _integer_golds() -> list[str]:
    rows = [json.loads(line) for line in (ROOT / "data/math500/test.jsonl").read_text().splitlines()]
    found = [row["answer"] for row in rows if re.fullmatch(r"-?\d+", row["answer"])]
    rows = [json.loads(line) for line in (ROOT / "data/gsm8k/test.jsonl").read_text().splitlines()]
    found += [row["answer"].rsplit("####", 1)[1].strip() for row in rows[:300]]
    return sorted({gold for gold in found if re.fullmatch(r"-?\d+", gold)}) + ["0", "-5", "7"]


REGIONS = [
    "The answer is \\boxed{{{a}}}.", "\\boxed{{{a}}}", "$\\boxed{{{a}}}$", "\\[\\boxed{{{a}}}\\]", "$x = \\boxed{{{a}}}$",
    "<conclusion>\nSo it is {b}.\nThe answer is \\boxed{{{a}}}\n</conclusion>", "\\boxed{{{a}}}%", "\\boxed{{{a}}}\\%",
    "\\boxed{{{a}}} apples", "\\boxed{{ {a} }}", "\\boxed{{{a}}} and \\boxed{{{b}}}", "The final answer is \\boxed{{{a}}}.",
    "Final Answer: The final answer is ${b}$. I hope it is correct. \\boxed{{{a}}}", "\\boxed{{0{a}}}",
    "\\boxed{{{a},000}}", "\\boxed{{-{a}}}", "\\boxed{{{a}.0}}", "so {b} then\n\n**Final Answer**\n\\boxed{{{a}}}",
    "Answer: {b}. \\boxed{{{a}}}", "\\boxed{{{a}}}.</answer>", "\\( \\boxed{{{a}}} \\)",
]  # fmt: skip


def test_the_guards_never_change_a_verdict():
    """The integer guard and the size guard against math-verify itself (guards off), over every
    integer gold of the shipped benchmarks in many answer layouts, right and wrong."""
    rng = random.Random(0)
    golds = _integer_golds()
    pairs = []
    for gold in golds:
        for template in REGIONS:
            answer = gold if rng.random() < 0.5 else str(int(gold) + rng.choice([-1, 1, 10]))
            pairs.append((gold, template.format(a=answer.lstrip("-") if "-{a}" in template else answer,
                                                b=rng.randint(1, 99))))  # fmt: skip
    pairs += [("7", "\\boxed{5^{5^{5}}}"), ("3125", "\\boxed{5^{5}}"), ("10", "\\boxed{10^{1}}")]
    assert len(pairs) > 4000
    guarded = [grade_region(g, r, signal_timeouts=True) for g, r in pairs]
    plain = [grade_region(g, r, signal_timeouts=True, guards=False) for g, r in pairs]
    changed = [
        (p, a.correct, b.correct)
        for p, a, b in zip(pairs, guarded, plain, strict=True)
        if a.correct != b.correct
    ]
    assert changed == []
    # The guard did the work in most of them (otherwise this would test nothing).
    fast = sum(v.extracted is not None and re.fullmatch(r"-?\d+", v.extracted) is not None for v in guarded)
    assert fast > len(pairs) // 4


@pytest.mark.parametrize(
    ("gold", "answer", "lenient"),
    [
        # units and words after a number
        ("12", "\\boxed{12~\\text{cm}^2}", True),
        ("12", "\\boxed{\\text{12 apples}}", True),
        ("12", "\\boxed{12 \\text{ or } 13}", False),
        ("12", "\\boxed{\\text{12 apples and 3 pears}}", False),
        ("\\frac{\\pi}{4}", "\\boxed{45^\\circ}", True),
        ("\\frac{\\pi}{4}", "\\boxed{45}", False),
        # times
        ("15:30", "\\boxed{3:30\\text{ PM}}", True),
        ("15:30", "\\boxed{\\text{3:30 p.m.}}", True),
        ("9:00", "\\boxed{9 \\text{ a.m.}}", True),
        ("3:30", "\\boxed{3:30 PM}", True),
        ("15:30", "\\boxed{3:30 a.m.}", False),
        ("12:00", "\\boxed{1:00}", False),
        # numeric tolerance against closed forms
        ("\\frac{1}{3}", "\\boxed{0.3333}", True),
        ("\\sqrt{2}", "\\boxed{1.414}", True),
        ("\\pi", "The answer is 3.1416.", True),
        ("\\frac{1}{3}", "\\boxed{0.33}", False),
        ("\\sqrt{2}", "\\boxed{1.415}", False),
        ("\\frac{1}{3}", "\\boxed{0.3334}", False),
        # identities sympy can decide
        ("e^{i\\pi}", "\\boxed{-1}", True),
        ("(1+i)^2", "\\boxed{2i}", True),
        ("\\log_2 (xy)", "\\boxed{\\log_2 x + \\log_2 y}", True),
        ("e^{i\\pi}", "\\boxed{1}", False),
        ("(1+i)^2", "\\boxed{2}", False),
        ("\\log_2 (x+y)", "\\boxed{\\log_2 x + \\log_2 y}", False),
        ("(x+1)^2", "\\boxed{x^2+1}", False),
    ],
)
def test_lenient_families_and_their_counter_cases(gold, answer, lenient):
    strict = grade_text(gold, answer, signal_timeouts=True)
    loose = grade_text(gold, answer, signal_timeouts=True, mode="lenient")
    assert strict.correct is False  # each case is one math-verify rejects
    assert loose.correct is lenient


def test_lenient_never_turns_a_right_answer_wrong():
    pairs = [(g, t.format(a=g, b=3)) for g in _integer_golds()[:60] for t in REGIONS[:12]]
    pairs += [(case.gold, case.pred) for case in SUITE]
    strict = grade_many(pairs)
    loose = grade_many(pairs, mode="lenient")
    assert [p for p, s, lo in zip(pairs, strict, loose, strict=True) if s.correct and not lo.correct] == []
    assert sum(bool(lo.correct) for lo in loose) >= sum(bool(s.correct) for s in strict)


def test_lenient_is_chosen_per_reward_and_per_evaluation(tmp_path):
    kwargs = {"answer": ["\\frac{1}{3}", "\\frac{1}{3}"]}
    completions = ["\\boxed{0.3333}", "\\boxed{0.5}"]
    assert AccuracyReward()(["p", "p"], completions, **kwargs) == [0.0, 0.0]
    assert AccuracyReward(grading="lenient")(["p", "p"], completions, **kwargs) == [1.0, 0.0]
    assert RamlReward(grading="lenient").grading == "lenient"
    with pytest.raises(ValueError, match="grading must be one of math_verify, lenient, got 'loose'"):
        AccuracyReward(grading="loose")
    from raml_recipes.evaluation.config import EvaluationConfig

    config = EvaluationConfig(model_name_or_path="m", output_dir=str(tmp_path), grading="lenient")
    assert config.fingerprint()["grading"] == "lenient"  # recorded with the run's settings
    with pytest.raises(ValueError, match="grading must be one of"):
        EvaluationConfig(model_name_or_path="m", output_dir=str(tmp_path), grading="exact")


def test_the_size_guard_fires_only_where_math_verify_cannot_decide_in_time():
    """A 370-million-digit answer: the guard says wrong at once; math-verify itself is still computing
    when the 5 s deadline has passed twice over (so no verdict of its within the deadline changes)."""
    import subprocess
    import sys

    region = "\\boxed{9^{9^{9}}}"
    assert grade_region("7", region, signal_timeouts=False).correct is False
    code = (
        "from raml_recipes.rewards.grading import grade_region\n"
        f"print(grade_region('7', {region!r}, signal_timeouts=False, guards=False))"
    )
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=10)


def test_skipping_patterns_that_cannot_match_leaves_math_verifys_reading_unchanged():
    """`parse_answer` skips extraction patterns whose required text is absent; over junk, benchmark
    answers, math-verify's own suite and text with every kind of anchor, it reads what parse reads."""
    import importlib.util
    import logging

    from math_verify import parse

    from raml_recipes.rewards.grading import answer_region, parse_answer

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    spec = importlib.util.spec_from_file_location("grading_benchmark", ROOT / "benchmarks" / "grading.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    texts = [answer_region(c) for _, _, c in benchmark.build_completions(400, seed=5) if "5^{5^" not in c]
    texts += [case.pred for case in SUITE]
    texts += [t.format(a=7, b=3) for t in REGIONS]
    texts += [
        "so x = [1, 2] here", "the value \\(3\\) and 4", "\\[ 5 \\] then 6", "ANSWER: 9 then 8", "Answer $ 9 $",
        "\\frac{1}{2} or 0.7", "no anchors at all 12 + 3 = 15 and then 16", "The final answer is 7. I hope it is correct.",
        # a lone box read by itself, and what must stop that: braces after it, delimiters, the answer word
        "so \\boxed{5} and {x}", "so \\boxed{5} then 7", "\\boxed{\\frac{1}{2}} or 3", "\\boxed{5}$ 6", "\\boxed{5} [7]",
        "Answer \\boxed{5} 7", "\\boxed{x^{2}} 9", "\\boxed{} 4", "\\boxed{?} 4", "\\boxed{5 and 6} 7", "3 \\boxed{5} \\boxed{6}",
    ]  # fmt: skip
    texts = [t for t in texts if t is not None]
    assert len(texts) > 600
    different = [t[:80] for t in texts if repr(parse_answer(t, True)) != repr(parse(t))]
    assert different == []
