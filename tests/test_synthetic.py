"""The synthetic arithmetic task: distinct, structurally different, verified trajectories; clean splits."""

from __future__ import annotations

import dataclasses
import json
import random
import re
import subprocess
import sys
from collections import Counter

import pytest

from raml_recipes.data.loaders import load_trajectories
from raml_recipes.data.synthetic import (
    STRUCTURES,
    build_split,
    generate_questions,
    make_question,
    topological_orders,
    verify_trajectory,
)
from raml_recipes.rewards.grading import grade_text

from .conftest import ROOT

TRAJECTORIES = 8
# Parsed here rather than with the module's own `step_values`, so the tests check the renderer
# against an independent reading of the text.
EQUATION = re.compile(r"(\d+) ([-+×÷]) (\d+) = (\d+)")
OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "×": lambda a, b: a * b}
DERIVED = {("tickets", "B"), ("travel", "d")}  # computed from the drawn numbers, may exceed max_operand


@pytest.fixture(scope="module")
def split():
    return build_split(240, 48, seed=0, trajectories=TRAJECTORIES)


def thought_equations(text: str) -> list[tuple[int, str, int, int]]:
    assert text.startswith("<think>\n") and text.count("</think>") == 1
    thought = text[len("<think>\n") :].split("\n</think>", 1)[0]
    equations = []
    for line in thought.splitlines():
        found = EQUATION.findall(line)
        assert len(found) == 1, f"step line without exactly one equation: {line!r}"
        left, op, right, result = found[0]
        equations.append((int(left), op, int(right), int(result)))
    return equations


def computed_values(text: str) -> tuple[int, ...]:
    return tuple(result for *_, result in thought_equations(text))


def test_every_question_has_the_requested_number_of_distinct_trajectories(split):
    train, heldout, stats = split
    for record in train + heldout:
        assert len(record["trajectories"]) == TRAJECTORIES
        assert len(set(record["trajectories"])) == TRAJECTORIES
        assert record["correct"] == [True] * TRAJECTORIES
        assert len(record["methods"]) == TRAJECTORIES
    assert stats["train"]["distinct_trajectories_per_question"] == {"min": TRAJECTORIES, "mean": TRAJECTORIES}
    assert stats["verification"]["short_questions"] == 0


def test_trajectories_differ_in_what_they_compute_not_only_in_wording(split):
    train, heldout, _ = split
    records = train + heldout
    orders = [len({computed_values(text) for text in record["trajectories"]}) for record in records]
    operations = [
        len({tuple(op for _, op, _, _ in thought_equations(text)) for text in record["trajectories"]})
        for record in records
    ]
    # Wording alone would give one sequence of intermediate results per question.
    assert sum(n >= 2 for n in orders) >= 0.95 * len(records)
    assert sum(orders) / len(orders) >= 3
    # Different decompositions, not only reordered steps: the operations used differ too.
    assert sum(n >= 2 for n in operations) >= 0.6 * len(records)
    assert sum(len(set(record["methods"])) >= 2 for record in records) == len(records)


def test_the_variety_check_fails_on_wording_only_variants():
    # One chain-shaped method (a single topological order): only the phrasings can vary.
    shopping = STRUCTURES["shopping"]
    chain = {"discount_per_item": shopping.methods["discount_per_item"]}
    assert len(topological_orders(chain["discount_per_item"])) == 1
    wording_only = dataclasses.replace(shopping, methods=chain)
    record = make_question(
        wording_only, {"n": 4, "p": 12, "d": 3, "s": 5}, random.Random(0), trajectories=8, question_id="q"
    )
    assert len(set(record["trajectories"])) == 8
    assert len({computed_values(text) for text in record["trajectories"]}) == 1


def test_every_trajectory_is_graded_correct_and_its_arithmetic_checks_out(split):
    train, heldout, stats = split
    for record in train + heldout:
        answer = record["answer"]
        assert answer.isdigit() and str(int(answer)) == answer  # a non-negative integer, canonical text
        for text in record["trajectories"]:
            verdict = grade_text(answer, text)
            assert verdict.correct is True and verdict.reason == "correct", (text, verdict)
            assert text.endswith("</think>\n\nThe answer is \\boxed{" + answer + "}.")
            equations = thought_equations(text)
            for left, op, right, result in equations:
                if op == "÷":
                    assert right and left % right == 0 and left // right == result, text
                else:
                    assert OPS[op](left, right) == result >= 0, text
            assert equations[-1][3] == int(answer)
            assert len(equations) >= 3
    assert stats["verification"]["grade_failures"] == stats["verification"]["arithmetic_failures"] == 0
    assert stats["verification"]["checked"] >= (len(train) + len(heldout)) * TRAJECTORIES


def test_a_wrong_answer_or_step_fails_verification(split):
    record = split[0][0]
    answer, text = record["answer"], record["trajectories"][0]
    assert verify_trajectory(answer, text) is None
    wrong_answer = text.replace("\\boxed{" + answer + "}", "\\boxed{" + answer + "1}")
    assert grade_text(answer, wrong_answer).correct is False
    assert verify_trajectory(answer, wrong_answer) == "grade"
    result = thought_equations(text)[0][3]
    wrong_step = text.replace(f"= {result}.", f"= {result + 1}.", 1).replace(
        f"= {result} ", f"= {result + 1} ", 1
    )
    assert wrong_step != text
    assert verify_trajectory(answer, wrong_step) == "arithmetic"
    no_equation = text.replace("<think>\n", "<think>\nLet me think.\n", 1)
    assert verify_trajectory(answer, no_equation) == "arithmetic"


def test_splits_share_no_numbers_or_problem_texts_and_cover_the_structures(split):
    train, heldout, stats = split

    def keys(records):
        return [(r["structure"], tuple(r["numbers"])) for r in records]

    assert len(set(keys(train))) == len(train) and len(set(keys(heldout))) == len(heldout)
    assert not set(keys(train)) & set(keys(heldout))
    assert not {r["problem"] for r in train} & {r["problem"] for r in heldout}
    assert not {r["key"] for r in train} & {r["key"] for r in heldout}
    assert stats["overlap"] == {"keys": 0, "problems": 0}
    assert len(Counter(r["structure"] for r in train)) == len(STRUCTURES) >= 6
    assert len(Counter(r["structure"] for r in heldout)) == len(STRUCTURES)
    for record in train + heldout:
        structure = STRUCTURES[record["structure"]]
        assert len(record["numbers"]) == len(structure.params)
        for param, value in zip(structure.params, record["numbers"], strict=True):
            assert str(value) in record["problem"]
            if (structure.name, param) not in DERIVED:
                assert 1 <= value <= 30, (record["key"], param)


def test_exclude_keys_keeps_a_small_key_space_disjoint():
    # 60 possible `ages` questions at max_operand=6: unrelated draws would collide.
    common = {"seed": 0, "trajectories": 2, "max_operand": 6, "structures": ["ages"]}
    train = generate_questions(30, **common)
    train_keys = {r["key"] for r in train}
    unguarded = generate_questions(20, split="heldout", **common)
    assert {r["key"] for r in unguarded} & train_keys  # so the guarded check below can fail
    heldout = generate_questions(20, split="heldout", exclude_keys=train_keys, **common)
    assert not {r["key"] for r in heldout} & train_keys
    with pytest.raises(ValueError, match="no new 'ages' question"):
        generate_questions(61, **common)


def test_same_seed_same_output_other_seed_different(split):
    again = build_split(240, 48, seed=0, trajectories=TRAJECTORIES)
    assert json.dumps(again, sort_keys=True) == json.dumps(split, sort_keys=True)
    other = build_split(240, 48, seed=1, trajectories=TRAJECTORIES)
    assert [r["problem"] for r in other[0]] != [r["problem"] for r in split[0]]
    assert [r["trajectories"] for r in other[1]] != [r["trajectories"] for r in split[1]]
    # Question i depends only on (seed, split, i) and earlier keys: a smaller count is a prefix.
    assert generate_questions(16, seed=0, trajectories=TRAJECTORIES) == split[0][:16]


def test_structure_tables_are_consistent():
    for structure in STRUCTURES.values():
        assert len(structure.methods) >= 2, structure.name
        for name, steps in structure.methods.items():
            roles = [step.role for step in steps]
            assert len(set(roles)) == len(roles), (structure.name, name)
            used = {operand for step in steps for operand in (step.left, step.right)}
            # Every step but the last feeds a later one, so every order ends with the answer.
            assert set(roles[:-1]) <= used and roles[-1] not in used, (structure.name, name)
            for step in steps:
                for operand in (step.left, step.right):
                    assert isinstance(operand, int) or operand in structure.params or operand in roles
                phrasings = structure.phrases[step.role]
                assert len(set(phrasings)) >= 3 and all(p.count("{eq}") == 1 for p in phrasings)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="max_operand"):
        generate_questions(1, seed=0, max_operand=3)
    with pytest.raises(ValueError, match="unknown structures"):
        generate_questions(1, seed=0, structures=["nope"])


def test_data_prep_script_writes_loadable_splits(tmp_path):
    command = [
        sys.executable, str(ROOT / "data_prep" / "synthetic_arithmetic.py"), "--train_questions", "24",
        "--heldout_questions", "8", "--trajectories", "8", "--seed", "3", "--output_dir", str(tmp_path),
    ]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "wrote 24 train / 8 held-out questions" in result.stdout
    assert {p.name for p in tmp_path.iterdir()} == {"train.jsonl", "heldout.jsonl", "stats.json"}
    train = load_trajectories(str(tmp_path / "train.jsonl"))
    heldout = load_trajectories(str(tmp_path / "heldout.jsonl"))
    assert len(train) == 24 and len(heldout) == 8
    assert all(len(set(texts)) == 8 for texts in train["trajectories"])
    assert set(train["structure"]) == set(STRUCTURES)
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["train"]["questions"] == 24 and stats["heldout"]["trajectories"] == 64
    assert stats["train"]["distinct_trajectories_per_question"]["min"] == 8
    assert stats["verification"]["grade_failures"] == stats["verification"]["arithmetic_failures"] == 0
    assert stats["verification"]["checked"] == 32 * 8
