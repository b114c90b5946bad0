"""The demo task: questions with the right answers, trajectories the grader accepts, disjoint splits."""

from __future__ import annotations

import json
import random
import re

import pytest

from raml_recipes.data.arithmetic import KINDS, arithmetic_problems, demo_split, draw_problem, trajectories
from raml_recipes.rewards.grading import grade_text

from .conftest import ROOT


def _value(problem: str) -> int:
    """The answer computed from the question's own text (not from the generator's numbers)."""
    if problem.startswith("Tom has"):
        a, c, b = map(int, re.findall(r"\d+", problem))  # a apples, c bags, b apples each
        return a + b * c
    expression = problem.removeprefix("What is ").removesuffix("?").replace("times", "*")
    return eval(expression, {"__builtins__": {}})  # noqa: S307 -- digits and + - * only


@pytest.mark.parametrize("kind", KINDS)
def test_answers_are_those_of_the_question_text(kind):
    rng = random.Random(kind)
    for _ in range(200):
        row = draw_problem(rng, (kind,), max_operand=9)
        assert row["kind"] == kind and int(row["answer"]) == _value(row["problem"]), row
        assert all(1 <= n <= 9 for n in row["numbers"][:2])


def test_every_rendering_is_distinct_closes_its_thought_and_grades_correct():
    for row in arithmetic_problems(60, seed=5):
        texts = trajectories(row)
        assert len(texts) == 3 == len(set(texts))
        plain, worded, checked = texts
        assert len(plain) < len(checked) and "Let me check" in checked and "Let me check" not in plain
        for text in texts:
            assert text.startswith("<think>\n") and text.count("</think>") == 1
            assert grade_text(row["answer"], text).correct, text
            assert not grade_text(str(int(row["answer"]) + 1), text).correct


def test_the_summarizer_rules_cut_the_check_and_keep_the_other_renderings_whole():
    """The demo's compression has something to do: the checked rendering loses its check (and becomes the
    plain one), verified; the plain and worded ones are already minimal and stay as they are."""
    from raml_recipes.summarize.compress import answer_follows, compress_with_rules

    rules = ["stop_at_answer", "drop_verification", "collapse_branches"]  # the demo's summarize recipe
    for row in arithmetic_problems(40, seed=2, kinds=("add_mul", "items", "add"), max_operand=9):
        plain, worded, checked = trajectories(row)
        compressed = compress_with_rules([plain, worded, checked], [row["answer"]] * 3, rules, "line")
        assert [c.text for c in compressed] == [plain, worded, plain], row
        assert answer_follows([c.thought for c in compressed], [row["answer"]] * 3) == [True] * 3


def test_demo_split_is_disjoint_and_held_out_questions_do_not_depend_on_the_training_size():
    task = {"kinds": ("add_mul", "items"), "max_operand": 9, "seed": 0}
    train, heldout, pilot = demo_split(96, 200, pilot=100, **task)
    problems = [{row["problem"] for row in part} for part in (train, heldout, pilot)]
    assert [len(part) for part in problems] == [96, 200, 100]
    assert not (problems[0] & problems[1]) and not (problems[0] & problems[2]) and not (problems[1] & problems[2])
    assert all(row["kind"] in task["kinds"] for part in (train, heldout, pilot) for row in part)
    assert all(row["correct"] == [True] * len(row["trajectories"]) for row in train)
    bigger_train, same_heldout, same_pilot = demo_split(150, 200, pilot=100, **task)
    assert same_heldout == heldout and same_pilot == pilot and bigger_train[:96] == train
    other_seed = demo_split(96, 200, pilot=100, **{**task, "seed": 1})[1]
    assert other_seed != heldout


def test_unknown_kinds_are_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="add, sub, mul, add_mul, items"):
        arithmetic_problems(3, kinds=("add", "div"))


def test_the_shipped_grpo_prompt_file_is_the_generator_s_default_output():
    """data/grpo/arithmetic.jsonl was written by the generator; its draws must not change under it."""
    shipped = [json.loads(line) for line in (ROOT / "data" / "grpo" / "arithmetic.jsonl").open()]
    generated = arithmetic_problems(len(shipped), seed=0)
    assert [{k: row[k] for k in ("id", "problem", "answer", "source")} for row in generated] == shipped
