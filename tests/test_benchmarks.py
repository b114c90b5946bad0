"""The paper's Hub-only benchmarks (LiveMathBench hard, GPQA-Diamond) on rows this project writes,
multiple-choice grading, and the one-line errors for a bad benchmark name or a row without a gold.

No row of either data set is shipped: both are gated on the Hub, and GPQA's authors ask that its
questions not be published. The rows below are made up in the data sets' own schemas; `load_dataset`
is replaced by a function returning them (the Hub's network is what cannot exist here).
"""

from __future__ import annotations

import datasets
import pytest

from raml_recipes.data import DataError
from raml_recipes.data.benchmarks import gpqa_items, hub_dataset_of, livemathbench_items, load_benchmark
from raml_recipes.evaluation import runner
from raml_recipes.prompts import GPQA_USER_PROMPT, LIVEMATHBENCH_PROMPTS
from raml_recipes.rewards import grade_choice

LMB = {
    "v202412_hard_en": [
        {"question": "Find $x$ if $2^x = 1024$.", "answer": "10", "question_type": "problem-solving"},
        {
            "question": "Compute $\\frac{1}{2}+\\frac{1}{3}$.",
            "answer": "$\\frac{5}{6}$",
            "question_type": "problem-solving",
        },
    ],
    "v202412_hard_cn": [{"question": "求 $3^4$ 的值。", "answer": "81", "question_type": "问答"}],
}


def gpqa_row(n: int) -> dict:
    return {"Record ID": f"rec{n}", "Question": f"Made-up question {n}?", "Correct Answer": f"right {n}",
            "Incorrect Answer 1": f"wrong {n}.1", "Incorrect Answer 2": f"wrong {n}.2",
            "Incorrect Answer 3": f"wrong {n}.3"}  # fmt: skip


@pytest.fixture
def hub(monkeypatch):
    calls = []

    def load_dataset(name, config=None, split=None):
        calls.append((name, config, split))
        rows = {
            "opencompass/LiveMathBench": LMB,
            "Idavidrein/gpqa": {"gpqa_diamond": [gpqa_row(n) for n in range(5)]},
        }
        return datasets.Dataset.from_list(rows[name][config])

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return calls


def test_livemathbench_hard_reads_both_languages_and_wraps_the_question(hub):
    items = load_benchmark("livemathbench_hard")
    assert hub == [("opencompass/LiveMathBench", "v202412_hard_cn", "test"),
                   ("opencompass/LiveMathBench", "v202412_hard_en", "test")]  # fmt: skip
    assert [item["id"] for item in items] == [
        "livemathbench-hard-cn-0", "livemathbench-hard-en-0", "livemathbench-hard-en-1",
    ]  # fmt: skip
    # OpenCompass's English prompt (cot=True), its own wording included; the question verbatim inside.
    assert items[1]["problem"] == (
        "Here is a math question, please reasoning step by step, and put your answer in \\boxed{}.\n"
        "Find $x$ if $2^x = 1024$.\n"
    )
    assert items[0]["problem"] == LIVEMATHBENCH_PROMPTS["cn"].replace("{question}", "求 $3^4$ 的值。")
    assert items[2]["answers"] == ["\\frac{5}{6}"] and "grader" not in items[2]
    assert hub_dataset_of("livemathbench_hard") == "opencompass/LiveMathBench"


def test_gpqa_options_follow_opencompass_rotation_and_the_gold_is_a_letter(hub):
    items = load_benchmark("gpqa_diamond")
    assert hub == [("Idavidrein/gpqa", "gpqa_diamond", "train")]
    # OpenCompass numbers questions from 1 and shows pattern [n % 4] of ABCD, BCDA, CDAB, DABC, where
    # A..D stand for [correct, incorrect 1, 2, 3]: the correct option lands on D, C, B, A, D, ...
    assert [item["answers"] for item in items] == [["D"], ["C"], ["B"], ["A"], ["D"]]
    first = items[0]["problem"]
    assert first == (
        GPQA_USER_PROMPT.replace("{question}", "Made-up question 0?")
        .replace("{a}", "wrong 0.1")
        .replace("{b}", "wrong 0.2")
        .replace("{c}", "wrong 0.3")
        .replace("{d}", "right 0")
    )
    assert first.startswith("Answer the following multiple choice question. The last line of your response")
    assert "\n\nA) wrong 0.1\nB) wrong 0.2\nC) wrong 0.3\nD) right 0" in first
    assert items[3]["problem"].endswith("A) right 3\nB) wrong 3.1\nC) wrong 3.2\nD) wrong 3.3")
    assert all(item["grader"] == "choice" for item in items) and items[0]["id"] == "rec0"


@pytest.mark.parametrize(
    ("completion", "correct", "letter"),
    [
        ("Reasoning...\nAnswer: C", True, "C"),
        ("answer: (c)", True, "C"),  # case-insensitive, parentheses
        ("Answer: $C$", True, "C"),
        ("<think>Answer: C? no.</think>\nAnswer: B", False, "B"),  # only after the thought
        ("Answer: A\n... on reflection\nAnswer: C", True, "C"),  # the last one
        (
            "<conclusion>\nThe answer is \\boxed{C}\n</conclusion>",
            True,
            "C",
        ),  # the official system prompt's form
        ("The answer is \\boxed{\\text{C}}", True, "C"),
        ("The answer is \\boxed{42}", False, None),
        ("Answer: Carbon", False, None),  # a word, not a letter
        ("<think>never closed", False, None),
    ],
)
def test_choice_grading_reads_the_letter(completion, correct, letter):
    verdict = grade_choice("C", completion)
    assert verdict.correct is correct and verdict.extracted == letter


def test_choice_items_are_graded_as_letters_in_an_evaluation():
    from raml_recipes.evaluation.generation import Sample

    questions = [
        {"benchmark": "gpqa_diamond", "id": "g", "problem": "...", "answers": ["B"], "grader": "choice"},
        {"benchmark": "aime24", "id": "m", "problem": "...", "answers": ["7"]},
    ]
    samples = [[Sample("Answer: B", 3, "stop"), Sample("\\boxed{B}", 3, "stop"), Sample("Answer: 7", 3, "stop")],
               [Sample("\\boxed{7}", 3, "stop"), Sample("Answer: B", 3, "stop")]]  # fmt: skip
    verdicts = runner._grade(questions, samples)
    assert [v.correct for v in verdicts[0]] == [True, True, False]
    assert [v.correct for v in verdicts[1]] == [True, False]


def test_a_row_without_a_gold_answer_is_named(monkeypatch):
    rows = [LMB["v202412_hard_en"][0], {"question": "No answer here", "answer": None}]
    with pytest.raises(DataError, match=r"^lmb, row 2, field 'answer': no gold answer$"):
        livemathbench_items("en", enumerate(rows, start=1), "lmb")
    bad = gpqa_row(1) | {"Correct Answer": " "}
    with pytest.raises(
        DataError, match=r"^gpqa, row 1, field 'Correct Answer': expected a non-empty string$"
    ):
        gpqa_items([(1, bad)], "gpqa")


def test_an_unknown_benchmark_name_is_one_line_with_the_names_and_a_guess():
    with pytest.raises(DataError) as error:
        load_benchmark("gpqa_daimond")
    message = str(error.value)
    assert "\n" not in message and message.startswith(
        "unknown benchmark 'gpqa_daimond': did you mean 'gpqa_diamond'?"
    )
    assert (
        "livemathbench_hard" in message and "math500" in message and "Hub dataset id (owner/name)" in message
    )


def test_the_hub_failing_is_one_line_that_says_the_set_is_gated(monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError(
            "Couldn't reach 'opencompass/LiveMathBench' on the Hub (LocalEntryNotFoundError)\nmore"
        )

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DataError) as error:
        load_benchmark("livemathbench_hard")
    message = str(error.value)
    assert "\n" not in message and message.startswith(
        "opencompass/LiveMathBench (v202412_hard_cn): benchmark"
    )
    assert "gated" in message and "ConnectionError" in message
