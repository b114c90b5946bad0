"""GRPO prompt sets: normalisation, integer filter, decontamination, generated arithmetic, chat rows."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from raml_recipes.data.benchmarks import load_benchmark
from raml_recipes.data.grpo_prompts import (
    arithmetic_problems,
    build_prompt_set,
    is_integer_answer,
    load_prompt_source,
    normalise_problem,
    to_grpo_rows,
)
from raml_recipes.data.io import read_rows, write_jsonl
from raml_recipes.errors import DataError
from raml_recipes.rewards import grade_text

from .conftest import ROOT


def test_normalisation_ignores_markup_and_spacing_but_keeps_operators():
    assert normalise_problem(r"Find $\left( x^2 \right)$ if  $x=3$.") == normalise_problem(
        "find (x^2) if x = 3"
    )
    assert normalise_problem("What is 14 + 2?") != normalise_problem("What is 14 - 2?")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [("42", True), ("-7", True), ("1,000", True), ("$12$", True), ("3.5", False), ("\\frac{1}{2}", False),
     ("x+1", False), ("", False)],
)  # fmt: skip
def test_integer_answer_filter(answer, expected):
    assert is_integer_answer(answer) is expected


def test_arithmetic_problems_are_reproducible_distinct_and_correct():
    rows = arithmetic_problems(64, seed=3)
    assert rows == arithmetic_problems(64, seed=3) and rows != arithmetic_problems(64, seed=4)
    assert len({row["problem"] for row in rows}) == 64
    for row in rows:
        assert is_integer_answer(row["answer"])
        # The gold grades correct against itself boxed: the reward can score these prompts.
        assert grade_text(f"\\boxed{{{row['answer']}}}", row["answer"]).correct


def test_decontamination_removes_evaluation_problems_and_counts_every_drop(tmp_path):
    math500 = read_rows(ROOT / "data" / "math500" / "test.jsonl")
    leaked = {"problem": "  " + math500[0]["problem"].upper() + " ", "answer": math500[0]["answer"]}
    rows = [
        {"problem": "What is 2 + 3?", "answer": "5"},
        {"problem": "what is 2+3 ?", "answer": "5"},  # a duplicate once normalised
        {"problem": "Half of 3?", "answer": "1.5"},
        {"problem": "No gold here", "answer": ""},
        leaked,
    ]
    source = write_jsonl(tmp_path / "mine.jsonl", rows)
    kept, report = build_prompt_set([str(source)], integer_answers_only=True, decontaminate=["math500"])
    assert [row["problem"] for row in kept] == ["What is 2 + 3?"]
    found = report.as_dict()
    assert {key: found[key] for key in ("read", "dropped", "kept")} == {
        "read": {str(source): 5},
        "dropped": {"duplicate": 1, "not an integer answer": 1, "no gold answer": 1, "in math500": 1},
        "kept": 1,
    }
    # The leaked row is named with the evaluation question and the run of tokens it shares.
    (match,) = found["matches"]
    assert match["benchmark_question"] == load_benchmark("math500", 1)[0]["id"] and len(match["ngram"].split()) == 8


def test_build_script_writes_the_prompt_file_and_a_report(tmp_path):
    output = tmp_path / "prompts.jsonl"
    result = subprocess.run(
        [sys.executable, "data_prep/build_grpo_prompts.py", "--source", "arithmetic:40:1", "gsm8k_train",
         "--integer_answers", "--max_prompts", "30", "--seed", "0", "--output", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["kept"] == 30 and report["read"] == {"arithmetic:40:1": 40, "gsm8k_train": 1000}
    assert "gsm8k" in report["decontaminated_against"]
    rows = read_rows(output)
    assert len(rows) == 30 and {row["source"] for row in rows} <= {"arithmetic", "gsm8k_train"}
    assert set(rows[0]) == {"id", "problem", "answer", "source"}


def test_bad_sources_are_named():
    with pytest.raises(DataError, match="expected arithmetic:COUNT"):
        load_prompt_source("arithmetic:many")
    with pytest.raises(DataError, match="no such file"):
        load_prompt_source("missing/prompts.jsonl")


def test_prompt_rows_become_chat_prompts_and_malformed_rows_are_located(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [{"id": "a", "problem": "1+1?", "answer": "2"}])
    rows = to_grpo_rows(str(path), system_prompt="Think.", prompt_template="Q: {problem}")
    assert rows == [
        {
            "prompt": [{"role": "system", "content": "Think."}, {"role": "user", "content": "Q: 1+1?"}],
            "answer": "2",
            "id": "a",
        }
    ]
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"problem": "1+1?", "answer": "2"}, {"problem": "2+2?"}])
    with pytest.raises(DataError, match=r"bad.jsonl, row 2, field 'answer': expected a non-empty string"):
        to_grpo_rows(str(bad), system_prompt=None, prompt_template="{problem}")
