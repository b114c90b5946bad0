"""The grader: correctness on real data, extraction rules, agreement with math-verify, bounded time."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time

import pytest
import torch
from math_verify import parse, verify

from raml_recipes.rewards import GradingPool, grade, grade_many, grade_many_async, grade_text
from raml_recipes.rewards import pool as pool_module

from .conftest import ROOT
from .math_verify_agreement_cases import CASES, DELIBERATE_DIFFERENCES
from .math_verify_suite import reference_verdict

# Inputs that make math-verify run for minutes with its timeouts off. The binomial keeps GMP busy
# in C, where no signal reaches; the power tower is the one the issue names.
BINOMIAL_HANG = "The answer is \\boxed{\\binom{10^{9}}{5 \\cdot 10^{8}}}"
POWER_TOWER = "$5^{5^{5^{5^{5}}}}$"


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def golds():
    """(source, gold) for every MATH-500 and GSM8K test question."""
    found = [
        (f"math500:{row['unique_id']}", row["answer"]) for row in read_jsonl(ROOT / "data/math500/test.jsonl")
    ]
    for index, row in enumerate(read_jsonl(ROOT / "data/gsm8k/test.jsonl")):
        found.append((f"gsm8k:{index}", row["answer"].rsplit("####", 1)[1].strip()))
    return found


# Gold answers of MATH-500 and GSM8K test that do not grade correct against themselves, with why.
# Measured: none of the 1,819 (math-verify 0.9.0). A regression adds to this list consciously.
KNOWN_SELF_GRADING_FAILURES: dict[str, str] = {}


def test_every_gold_answer_grades_correct_against_itself():
    items = golds()
    assert len(items) == 500 + 1319
    verdicts = grade_many([(gold, f"The answer is \\boxed{{{gold}}}.") for _, gold in items])
    failures = {source for (source, _), v in zip(items, verdicts, strict=True) if v.correct is not True}
    assert failures == set(KNOWN_SELF_GRADING_FAILURES)


def test_math500_golds_grade_correct_against_their_reference_solutions():
    rows = read_jsonl(ROOT / "data/math500/test.jsonl")
    verdicts = grade_many([(row["answer"], row["solution"]) for row in rows])
    assert [row["unique_id"] for row, v in zip(rows, verdicts, strict=True) if not v.correct] == []


def test_plausible_wrong_answers_grade_incorrect():
    pairs = []
    for _, gold in golds():
        if re.fullmatch(r"-?\d+", gold):
            pairs += [(gold, f"\\boxed{{{int(gold) + 1}}}"), (gold, f"The answer is {int(gold) * 10 + 3}.")]
        elif match := re.fullmatch(r"\\frac\{(\d+)\}\{(\d+)\}", gold):
            if match[1] != match[2]:
                pairs.append((gold, f"\\boxed{{\\frac{{{match[2]}}}{{{match[1]}}}}}"))
    pairs += [
        ("\\frac{1}{2}", "\\boxed{0.25}"),
        ("\\left( 3, \\frac{\\pi}{2} \\right)", "\\boxed{(3, \\pi)}"),
        ("[2, 5)", "\\boxed{[2, 5]}"),
        ("x = 2", "\\boxed{x = 3}"),
        ("2\\sqrt{2}", "\\boxed{\\sqrt{2}}"),
        ("\\text{Evelyn}", "\\boxed{\\text{Angela}}"),
    ]
    assert len(pairs) > 2000
    verdicts = grade_many(pairs)
    assert [pair for pair, v in zip(pairs, verdicts, strict=True) if v.correct is not False] == []


@pytest.mark.parametrize(
    ("gold", "completion", "correct", "reason"),
    [
        ("72", "<think>maybe \\boxed{5}</think> The answer is \\boxed{72}.", True, "correct"),
        ("72", "<think>maybe \\boxed{72}</think> The answer is \\boxed{5}.", False, "incorrect"),
        ("72", "<think>it is \\boxed{72}, let me check", False, "no_answer"),
        ("72", "<think>a</think>\n<think>b</think> \\boxed{72}", True, "correct"),  # the last </think> counts
        # Two boxes are one answer to math-verify, the set {71, 72}: neither is 72.
        ("72", "\\boxed{71} no wait \\boxed{72}", False, "incorrect"),
        ("1, -2", "The solutions are \\boxed{1} and \\boxed{-2}.", True, "correct"),
        ("72", "So the answer is 72.", True, "correct"),
        ("72", "<conclusion>The answer is \\boxed{72}</conclusion>", True, "correct"),
        # math-verify reads the last number of unanchored text, here not the tagged answer.
        ("72", "<answer>72</answer> checked 3 times", False, "incorrect"),
        ("10455", "has $10,200 + $255 = $10,455. Final Answer: The final answer is $10,455$. I hope it is correct.",
         True, "correct"),  # the "final answer is" phrase comes first
        ("1,000", "\\boxed{1000}", True, "correct"),
        ("1000", "\\boxed{1,000}", True, "correct"),
        ("\\frac{1}{2}", "<think>hmm</think>\\boxed{0.5}", True, "correct"),
        ("72", "", False, "no_answer"),
        ("72", "<think>long thought</think>", False, "no_answer"),
    ],
)
def test_extraction_rules(gold, completion, correct, reason):
    verdict = grade(gold, completion)
    assert (verdict.correct, verdict.reason) == (correct, reason)


def test_a_gold_without_expression_scores_none_is_counted_and_logged_once(caplog):
    """A gold that yields no expression (e.g. a broken "\\frac{") can only be compared verbatim, as
    math-verify does: a verbatim match is correct, anything else has no score."""
    pool = GradingPool(workers=1).start()
    try:
        with caplog.at_level(logging.WARNING, logger="raml_recipes.rewards.pool"):
            first = pool.grade_many(
                [("\\frac{", "\\boxed{1}"), ("\\frac{", "\\boxed{2}"), ("???", "\\boxed{1}"), ("", "x")]
            )
            again = pool.grade_many([("\\frac{", "\\boxed{3}")])
        assert [v.correct for v in first + again] == [None] * 5
        assert {v.reason for v in first + again} == {"unparseable_gold"}
        assert pool.counters.unparseable_gold == 5
        logged = [r.getMessage() for r in caplog.records if "yields no expression" in r.getMessage()]
        assert len(logged) == 3  # one per distinct gold, not one per completion or batch
        # The verbatim match math-verify makes between two unparsed strings (its own suite has one).
        verbatim = "$$x = \\frac{1}{2}, x = \\frac{-1 \\pm \\sqrt{13}}{4}$$"
        assert pool.grade_many([(verbatim, verbatim.replace("$$x", "$$\\boxed{x").replace("}{4}$$", "}{4}}$$"))])[0].correct
    finally:
        pool.close()


@pytest.mark.parametrize(("gold", "prediction"), CASES)
def test_agrees_with_math_verify(gold, prediction):
    expected = reference_verdict(gold, prediction)
    assert expected is not None
    assert grade_text(gold, prediction).correct == expected


@pytest.mark.parametrize(("gold", "prediction", "ours", "math_verify_says"), DELIBERATE_DIFFERENCES)
def test_where_the_answer_region_or_a_gold_without_expression_differs(gold, prediction, ours, math_verify_says):
    """math-verify on the whole completion; ours on the text after </think>, and None for a gold that
    is not math."""
    assert bool(verify(parse(f"\\boxed{{{gold}}}"), parse(prediction))) is math_verify_says
    assert grade_text(gold, prediction).correct is ours


def test_power_towers_are_wrong_without_computing_them():
    start = time.monotonic()
    for prediction in (POWER_TOWER, "\\boxed{9^{9^{9}}}", "\\boxed{3 \\cdot 9^{9^{9}} + 1}"):
        assert grade_text("7", prediction, signal_timeouts=False).correct is False
    assert time.monotonic() - start < 2
    assert grade_text("2^{100}", "\\boxed{2^{100}}").correct is True  # large but honest numbers still compare


@pytest.fixture
def fast_deadline_pool():
    pool = GradingPool(workers=2, deadline=2.0).start()
    yield pool
    pool.close()


def test_a_hanging_item_returns_within_the_deadline_and_the_batch_goes_on(fast_deadline_pool):
    pool = fast_deadline_pool
    start = time.monotonic()
    verdicts = pool.grade_many(
        [("7", BINOMIAL_HANG), ("7", "\\boxed{7}"), ("7", POWER_TOWER), ("7", "x" * 50_000)]
    )
    elapsed = time.monotonic() - start
    assert [(v.correct, v.reason) for v in verdicts] == [
        (False, "timeout"), (True, "correct"), (False, "incorrect"), (False, "no_answer")
    ]  # fmt: skip
    assert elapsed < pool.deadline + 1
    assert pool.counters.timeouts == 1 and pool.counters.worker_restarts == 1
    # The replacement worker grades the next items normally; the same hang is not retried.
    start = time.monotonic()
    assert [v.correct for v in pool.grade_many([("8", "\\boxed{8}"), ("7", BINOMIAL_HANG)])] == [True, False]
    assert time.monotonic() - start < 1.0
    assert pool.counters.slowest_item_s <= pool.deadline + 0.5


def test_grading_from_threads_and_async_code_uses_no_signals():
    results = {}

    def in_thread():
        results["thread"] = grade("4", "\\boxed{4}").correct

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()

    async def async_reward(completions, answer):  # the shape of an async TRL reward function
        verdicts = await grade_many_async(list(zip(answer, completions, strict=True)))
        return [float(v.correct) for v in verdicts]

    loop_thread_result = {}

    def run_event_loop():  # TRL runs async reward functions on an event loop in a daemon thread
        loop_thread_result["rewards"] = asyncio.run(async_reward(["\\boxed{4}", "\\boxed{5}"], ["4", "4"]))

    loop_thread = threading.Thread(target=run_event_loop, daemon=True)
    loop_thread.start()
    loop_thread.join()
    assert results == {"thread": True}
    assert loop_thread_result == {"rewards": [1.0, 0.0]}


class GradedItems(torch.utils.data.Dataset):
    PAIRS = [("4", "\\boxed{4}"), ("4", "\\boxed{5}"), ("1,000", "\\boxed{1000}"), ("7", "<think>\\boxed{7}")]

    def __len__(self):
        return len(self.PAIRS)

    def __getitem__(self, index):
        return int(bool(grade(*self.PAIRS[index]).correct))


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_grading_inside_dataloader_workers(context):
    grade("1", "\\boxed{1}")  # the parent's pool exists: a forked worker must start its own
    loader = torch.utils.data.DataLoader(
        GradedItems(), batch_size=None, num_workers=2, multiprocessing_context=context
    )
    assert list(loader) == [1, 0, 1, 0]


def test_a_pool_refuses_use_after_fork():
    pool = pool_module.get_pool()
    pool._pid = -1  # what a forked child sees
    try:
        with pytest.raises(RuntimeError, match="cannot be used after fork"):
            pool.grade_many([("1", "1")])
        assert pool_module.get_pool() is not pool  # the module-level pool is rebuilt instead
    finally:
        pool._pid = pool_module.os.getpid()
        pool.close()


def test_in_process_mode_grades_without_workers():
    pool = GradingPool(workers=0)
    assert [v.correct for v in pool.grade_many([("3", "\\boxed{3}"), ("3", "\\boxed{4}")])] == [True, False]
    assert pool._workers == []
