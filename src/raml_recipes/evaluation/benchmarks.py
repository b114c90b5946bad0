"""Evaluation benchmarks as question lists: `{benchmark, id, problem, answers: [gold, ...]}`.

Named benchmarks read the copies in `data/` (MATH-500, AIME24, AIME25, AMC23, GSM8K test,
OlympiadBench); Minerva's problems are CC BY-NC-SA and not shipped: it is read from the shared data
folder (`$RAML_SHARED_DATA`, default `../shared/data` beside the checkout). Anything else is a
file, a `save_to_disk` folder or a Hub dataset id, with the question in `problem` | `question` and
the gold in `answer` | `gold` | `final_answer` | `solution` (a worked solution: its last `\\boxed{}`).
A question with several acceptable answers is correct when any of them matches.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..data.errors import DataError
from ..data.io import iter_rows
from ..data.loaders import iter_source_rows
from ..paths import shared_data, shipped_data
from ..rewards.grading import last_boxed

_E_NOTATION = re.compile(r"^(-?\d+(?:\.\d+)?)[eE]([+-]?\d+)$")


def _gold_text(value) -> str:
    """A gold answer as LaTeX text: `$...$` unwrapped, 27.0 -> "27", 4.5e33 -> 4.5 \\times 10^{33}."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if len(text) > 1 and text.startswith("$") and text.endswith("$"):
        text = text.strip("$").strip()
    if match := _E_NOTATION.match(text):
        text = f"{match[1]} \\times 10^{{{int(match[2])}}}"
    return text


def _golds(value) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [_gold_text(v) for v in values if v is not None and str(v).strip()]


@dataclass(frozen=True)
class Benchmark:
    name: str
    path: Callable[[], Path]
    problem: str
    answer: Callable[[dict], list[str]]
    id: Callable[[dict, int], str]
    keep: Callable[[dict], bool] = lambda row: True
    hub_dataset: str | None = None  # the dataset's Hub id, for model cards


def _gsm8k_answer(row: dict) -> list[str]:
    return [row["answer"].rsplit("####", 1)[1].strip().replace(",", "")]


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in [
        Benchmark("math500", lambda: shipped_data("math500", "test.jsonl"), "problem", lambda r: _golds(r["answer"]),
                  lambda r, i: r["unique_id"], hub_dataset="HuggingFaceH4/MATH-500"),
        Benchmark("math500_l5", lambda: shipped_data("math500", "test.jsonl"), "problem", lambda r: _golds(r["answer"]),
                  lambda r, i: r["unique_id"], keep=lambda r: r["level"] == 5, hub_dataset="HuggingFaceH4/MATH-500"),
        Benchmark("aime24", lambda: shipped_data("aime24", "test.jsonl"), "problem", lambda r: _golds(r["answer"]),
                  lambda r, i: f"aime24-{r['id']}", hub_dataset="math-ai/aime24"),
        Benchmark("aime25", lambda: shipped_data("aime25", "test.jsonl"), "problem", lambda r: _golds(r["answer"]),
                  lambda r, i: r["id"], hub_dataset="math-ai/aime25"),
        Benchmark("amc23", lambda: shipped_data("amc23", "test.jsonl"), "problem", lambda r: _golds(r["answer"]),
                  lambda r, i: f"amc23-{r['id']}", hub_dataset="math-ai/amc23"),
        Benchmark("gsm8k", lambda: shipped_data("gsm8k", "test.jsonl"), "question", _gsm8k_answer,
                  lambda r, i: f"gsm8k-test-{i}", hub_dataset="openai/gsm8k"),
        Benchmark("minerva", lambda: shared_data("minerva_math", "test_with_answer.jsonl"), "problem",
                  lambda r: _golds(r["answer"]), lambda r, i: f"minerva-{r['idx']}", hub_dataset="math-ai/minervamath"),
        Benchmark("olympiadbench", lambda: shipped_data("olympiadbench", "test.jsonl"), "question",
                  lambda r: _golds(r["final_answer"]), lambda r, i: f"olympiadbench-{r['id']}",
                  hub_dataset="Hothan/OlympiadBench"),
    ]
}  # fmt: skip

_PROBLEM_FIELDS = ("problem", "question")
_ANSWER_FIELDS = ("answer", "gold", "final_answer", "solution")


def question_from_row(row: dict, number: int, source: str) -> dict:
    problem_field = next((f for f in _PROBLEM_FIELDS if row.get(f)), None)
    answer_field = next((f for f in _ANSWER_FIELDS if row.get(f) is not None), None)
    if problem_field is None:
        raise DataError(
            f"no question (expected one of {', '.join(_PROBLEM_FIELDS)})", source=source, row=number
        )
    if answer_field is None:
        raise DataError(
            f"no gold answer (expected one of {', '.join(_ANSWER_FIELDS)})", source=source, row=number
        )
    value = row[answer_field]
    if isinstance(value, str) and "####" in value:  # a GSM8K-style worked answer ends in "#### <answer>"
        value = value.rsplit("####", 1)[1].strip().replace(",", "")
    if answer_field == "solution":
        value = last_boxed(str(value))
        if value is None:
            raise DataError(
                "the solution has no \\boxed{} answer", source=source, row=number, field="solution"
            )
    return {
        "id": str(row.get("id", row.get("unique_id", f"q{number}"))),
        "problem": row[problem_field],
        "answers": _golds(value),
    }


def load_benchmark(spec: str, max_questions: int | None = None, split: str = "test") -> list[dict]:
    """Questions of a named benchmark, or of a file / folder / Hub id (see the module docstring)."""
    items = []
    if spec in BENCHMARKS:
        benchmark = BENCHMARKS[spec]
        path = benchmark.path()
        if not path.is_file():
            raise DataError(
                f"benchmark {spec!r} reads {path}, which is missing (set RAML_SHARED_DATA to the shared data folder)"
            )
        for number, row in iter_rows(path):
            if benchmark.keep(row):
                answers = benchmark.answer(row)
                if not answers:
                    raise DataError("no gold answer", source=str(path), row=number)
                items.append(
                    {
                        "id": benchmark.id(row, number - 1),
                        "problem": row[benchmark.problem],
                        "answers": answers,
                    }
                )
            if max_questions is not None and len(items) >= max_questions:
                break
    else:
        for number, row in iter_source_rows(spec, split=split):
            items.append(question_from_row(row, number, spec))
            if max_questions is not None and len(items) >= max_questions:
                break
    if len({item["id"] for item in items}) != len(items):
        raise DataError("question ids are not unique", source=spec)
    return [{"benchmark": spec, **item} for item in items]
