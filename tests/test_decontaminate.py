"""N-gram decontamination on hand-made overlaps: each kind of copy on both sides of the rule."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from raml_recipes.data.decontaminate import NgramIndex, decontaminate, ngrams, tokens

from .conftest import ROOT

BENCHMARK = (
    "Find the sum of all integer bases $b>9$ for which $17_{b}$ is a divisor of $97_{b}$."  # AIME 2025 I, 1
)
INDEX = NgramIndex({"aime25": [("aime25-0", BENCHMARK)], "toy": [("toy-0", "What is $6 \\times 7$?")]})


def test_tokens_drop_markup_and_split_numbers_and_symbols():
    assert tokens("Find $17_{b}$, \\frac{1}{2}; x^2 < 3?") == ["find", "17", "_", "b", "1", "2", "x", "^", "2", "<", "3"]
    assert ngrams(["a", "b", "c"], 2) == [("a", "b"), ("b", "c")]
    assert ngrams(["a", "b"], 8) == [("a", "b")]  # shorter than n: the whole sequence


def test_a_verbatim_copy_is_caught_with_the_first_matching_ngram():
    match = INDEX.find(BENCHMARK)
    assert match is not None and (match.benchmark, match.question_id) == ("aime25", "aime25-0")
    assert match.ngram == "find the sum of all integer bases b"


def test_a_copy_typeset_differently_is_caught():
    assert INDEX.find("find the sum of all integer bases b > 9 for which 17_b is a divisor of 97_b") is not None


def test_a_reworded_copy_is_caught_by_the_run_it_kept_and_the_same_numbers_alone_are_not():
    reworded = "Compute the total over every integer base b>9 for which $17_b$ is a divisor of $97_b$."
    match = INDEX.find(reworded)
    assert match is not None and match.ngram == "b > 9 for which 17 _ b"
    # Another question about the same numbers shares no run of 8 tokens: kept.
    assert INDEX.find("Is 97 a prime? Write 17 in base 9 and add b to it.") is None


def test_a_partial_copy_inside_a_longer_question_is_caught():
    assert INDEX.find(f"Answer the following competition problem carefully. {BENCHMARK} Show all work.") is not None


def test_the_ngram_size_is_the_boundary():
    seven = "find the sum of all integer bases"  # 7 tokens of the benchmark's first 8
    assert INDEX.find(seven + " c < 100 for which 23 divides 55") is None
    assert INDEX.find(seven + " b c < 100 for which 23 divides 55") is not None  # the 8th token too
    assert NgramIndex({"aime25": [("x", BENCHMARK)]}, n=4).find(seven[:17] + " that are odd") is not None


def test_a_short_benchmark_question_is_matched_whole_inside_a_longer_text():
    match = INDEX.find("Quick warm-up before the test: what is 6 times 7? Then continue with the algebra below.")
    assert match is None  # "6 times 7": \times is markup, so the benchmark reads "what is 6 7"
    match = INDEX.find("Before we start, what is $6 \\times 7$? Then continue with the algebra below.")
    assert match is not None and match.benchmark == "toy" and match.ngram == "what is 6 7"


def test_decontaminate_reports_per_benchmark_what_was_dropped_and_why():
    rows = [
        {"id": "a", "problem": BENCHMARK},
        {"id": "b", "problem": "Natalia sold clips to 48 of her friends in April."},
        {"id": "c", "problem": "What is $6\\times 7$?"},
    ]
    kept, report = decontaminate(rows, INDEX)
    assert [row["id"] for row in kept] == ["b"]
    summary = report.as_dict()
    assert summary["dropped"] == {"aime25": 1, "toy": 1} and summary["checked"] == 3 and summary["kept"] == 1
    assert summary["examples"]["aime25"] == [
        {"id": "a", "benchmark_question": "aime25-0", "ngram": "find the sum of all integer bases b"}
    ]
    assert summary["questions_indexed"] == {"aime25": 1, "toy": 1} and summary["ngram"] == 8


@pytest.mark.slow
def test_the_script_decontaminates_a_trajectory_file_against_the_named_benchmarks(tmp_path):
    from raml_recipes.data.benchmarks import load_benchmark
    from raml_recipes.data.io import read_rows, write_jsonl

    math500 = load_benchmark("math500", 3)
    clean = read_rows(ROOT / "data/trajectories/gsm8k_train.jsonl")[:5]
    copied = {**clean[0], "id": "copied", "problem": "Please solve: " + math500[1]["problem"]}
    write_jsonl(tmp_path / "in.jsonl", [*clean, copied])
    command = [sys.executable, "data_prep/decontaminate.py", "--input", str(tmp_path / "in.jsonl"), "--output",
               str(tmp_path / "out.jsonl"), "--benchmarks", "math500", "aime24", "--report", str(tmp_path / "r.json")]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert [row["id"] for row in read_rows(tmp_path / "out.jsonl")] == [row["id"] for row in clean]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["dropped"] == {"math500": 1}
    assert report["examples"]["math500"][0]["id"] == "copied"
    assert report["examples"]["math500"][0]["benchmark_question"] == math500[1]["id"]
    assert report["questions_indexed"]["math500"] == 500 and report["questions_indexed"]["aime24"] == 30


@pytest.mark.slow
def test_the_benchmark_runs_small_and_finds_every_planted_copy():
    command = [sys.executable, "benchmarks/decontamination.py", "--questions", "300", "--planted", "10"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["rows"] == 310 and line["planted"] == 10
    assert line["planted_found"] == 10  # verbatim and re-typeset copies alike
    assert line["open_r1_planted_found"] <= 10 and line["rows_per_s"] > 0 and line["speed_vs_open_r1"] > 0
    assert line["benchmarks_indexed"]["math500"] == 500 and "gpqa_diamond" in line["skipped_benchmarks"]
