"""Rollout files -> graded trajectory records, and the GSM8K converter."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from raml_recipes.data import DataError, load_trajectories
from raml_recipes.data.gsm8k import build_gsm8k_trajectories, gsm8k_record
from raml_recipes.data.io import iter_rows, read_rows, write_jsonl
from raml_recipes.data.rollouts import rollouts_to_trajectories
from raml_recipes.rewards import grade

from .conftest import GSM8K_TRAJECTORIES, R1_TRACES, ROOT


def test_real_r1_traces_keep_exactly_the_correct_ones():
    rows = read_rows(R1_TRACES)
    records, stats = rollouts_to_trajectories(iter_rows(R1_TRACES), source=str(R1_TRACES))
    assert stats.questions == 10 and stats.completions == 40
    assert stats.correct == sum(row["is_correct"] for row in rows) == 20
    kept = {text for record in records for text in record["trajectories"]}
    expected = {"<think>\n" + row["response"] for row in rows if row["is_correct"]}
    assert kept == expected  # the prompt opened the thought: the converter restores "<think>\n"
    assert all(record["level"].startswith("Level") for record in records)  # question-level fields survive
    assert not any(
        "is_correct" in record or "response" in record for record in records
    )  # per-completion ones do not


def test_grading_reads_the_answer_after_the_thought():
    rows = [
        (
            1,
            {
                "question": "2+2?",
                "gold": "4",
                "completions": [
                    "<think>2+2=4</think> The answer is \\boxed{4}.",  # correct
                    "<think>maybe \\boxed{4}</think> The answer is \\boxed{5}.",  # right answer only inside the thought
                    "<think>\\boxed{4} and I never finish",  # thought never closed: no answer
                    "The answer is 4.",  # no thought block, phrased answer
                ],
            },
        ),
    ]
    records, stats = rollouts_to_trajectories(rows, source="mem", keep_incorrect=True)
    assert records[0]["correct"] == [True, False, False, True]
    assert stats.correct == 2
    records, _ = rollouts_to_trajectories(rows, source="mem")
    assert records[0]["trajectories"] == [rows[0][1]["completions"][0], rows[0][1]["completions"][3]]


def test_unparseable_gold_and_all_wrong_questions_are_dropped_and_counted():
    rows = [
        (1, {"problem": "a?", "answer": "\\frac{", "responses": ["\\boxed{1}"]}),
        (2, {"problem": "b?", "answer": "3", "responses": ["\\boxed{2}"]}),
        (3, {"problem": "c?", "answer": "3", "responses": ["\\boxed{3}"]}),
    ]
    records, stats = rollouts_to_trajectories(rows, source="mem")
    assert [r["problem"] for r in records] == ["c?"]
    assert stats.questions_with_unparseable_gold == 1 and stats.questions_without_correct == 1


def test_one_row_per_completion_groups_by_question():
    rows = [
        (
            1,
            {"question_id": "x", "problem": "2+3?", "answer": "5", "completion": "\\boxed{5}", "model": "m1"},
        ),
        (
            2,
            {
                "question_id": "x",
                "problem": "2+3?",
                "answer": "5",
                "completion": "\\boxed{5.0}",
                "model": "m2",
            },
        ),
        (
            3,
            {
                "question_id": "y",
                "problem": "1+3?",
                "answer": "4",
                "completion": [{"role": "assistant", "content": "\\boxed{4}"}],
            },
        ),
    ]
    records, _ = rollouts_to_trajectories(rows, source="mem")
    assert [(r["id"], len(r["trajectories"])) for r in records] == [("x", 2), ("y", 1)]
    assert "model" not in records[0]  # differs between x's rows: a completion field
    with pytest.raises(DataError, match=r"mem, row 2, field 'answer': gold answer '6' differs from '5'"):
        rollouts_to_trajectories([rows[0], (2, {**rows[1][1], "answer": "6"})], source="mem")
    # Same id and gold, another problem text: two inputs merged under one id, refused naming both rows.
    with pytest.raises(DataError, match=r"mem, row 2, field 'problem': problem text differs from the one given "
                                        r"for the same question id 'x' in row 1"):  # fmt: skip
        rollouts_to_trajectories([rows[0], (2, {**rows[1][1], "problem": "Another question?"})], source="mem")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"answer": "1", "completions": ["x"]}, "field 'problem': missing"),
        ({"problem": "p", "completions": ["x"]}, "field 'answer': missing"),
        ({"problem": "p", "answer": "1"}, "no completions"),
        (
            {"problem": "p", "answer": "1", "completions": ["ok", 3]},
            "field 'completions[1]': expected the completion as text, got int",
        ),
        ({"problem": "p", "answer": "1", "completions": "x"}, "field 'completions': expected a list"),
    ],
)
def test_bad_rollout_rows_stop_the_script_and_nothing_is_written(tmp_path, row, message):
    source = tmp_path / "rollouts.jsonl"
    write_jsonl(source, [{"problem": "ok?", "answer": "1", "completions": ["\\boxed{1}"]}, row])
    output = tmp_path / "out.jsonl"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "data_prep" / "build_trajectories.py"),
            "--input",
            str(source),
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert f"{source}, row 2" in result.stderr and message in result.stderr
    assert not output.exists()


def test_build_trajectories_script_writes_a_loadable_dataset(tmp_path):
    output, stats = tmp_path / "out.jsonl", tmp_path / "stats.json"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "data_prep" / "build_trajectories.py"),
            "--input",
            str(R1_TRACES),
            "--output",
            str(output),
            "--stats",
            str(stats),
        ],
        check=True,
        capture_output=True,
    )
    assert len(load_trajectories(str(output))) == 10
    assert json.loads(stats.read_text())["correct"] == 20


def test_gsm8k_records_have_three_distinct_verified_trajectories():
    records = build_gsm8k_trajectories(ROOT / "data" / "gsm8k" / "train.jsonl", max_questions=50)
    for record in records:
        assert len(set(record["trajectories"])) == 3
        for text in record["trajectories"]:
            assert text.startswith("<think>\n") and "</think>" in text and "<<" not in text
            assert grade(record["answer"], text).correct is True


def test_shipped_gsm8k_trajectories_match_the_builder():
    shipped = read_rows(GSM8K_TRAJECTORIES)
    assert shipped == build_gsm8k_trajectories(
        ROOT / "data" / "gsm8k" / "train.jsonl", max_questions=len(shipped)
    )


def test_gsm8k_row_without_final_answer_is_named():
    with pytest.raises(
        DataError,
        match=r"g\.jsonl, row 4, field 'answer': expected a GSM8K solution ending in '#### <answer>'",
    ):
        gsm8k_record({"question": "q", "answer": "no final line"}, index=3, split="train", source="g.jsonl")


def test_stored_labels_select_the_rollouts_instead_of_grading():
    """The paper's rollout sets carry `labels`; its SFT script keeps the rollouts they mark, whatever a
    grader would say (here a label contradicts the text on purpose)."""
    rows = [
        (1, {"problem": "2+2?", "answer": "4", "generations": ["\\boxed{4}", "\\boxed{5}", "\\boxed{4}!"],
             "labels": [1, 1, 0]}),
        (2, {"problem": "3+3?", "answer": "6", "generations": ["\\boxed{6}"], "labels": [0]}),
    ]  # fmt: skip
    graded = []
    records, stats = rollouts_to_trajectories(
        rows, source="mem", labels_field="labels", grader=lambda pairs: graded.append(pairs) or []
    )
    assert graded == []  # the labels replace the grader
    assert [r["trajectories"] for r in records] == [["\\boxed{4}", "\\boxed{5}"]]
    assert "labels" not in records[0] and records[0]["correct"] == [True, True]
    assert stats.correct == 2 and stats.questions_without_correct == 1
    bad = [(1, {"problem": "2+2?", "answer": "4", "generations": ["a", "b"], "labels": [1]})]
    with pytest.raises(DataError, match=r"mem, row 1, field 'labels': expected a list of 2 labels \(0/1\)"):
        rollouts_to_trajectories(bad, source="mem", labels_field="labels")
