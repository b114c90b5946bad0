"""Evaluation benchmarks as question lists: `{benchmark, id, problem, answers: [gold, ...]}`.

Named benchmarks read the copies in `data/` (MATH-500, AIME24, AIME25, AMC23, GSM8K test,
OlympiadBench); Minerva's problems are CC BY-NC-SA and not shipped: it is read from the shared data
folder (`$RAML_SHARED_DATA`, default `../shared/data` beside the checkout). Two of the paper's
benchmarks are read from the Hub at run time, as the official evaluation config reads them, because
both are gated there and none of their rows may be shipped: `livemathbench_hard` (LiveMathBench
v202412, hard split, Chinese and English, CC BY 4.0) and `gpqa_diamond` (GPQA Diamond, CC BY 4.0, whose
authors ask that its questions not be published in plain text). Anything else is a file, a
`save_to_disk` folder or a Hub dataset id, with the question in `problem` | `question` and the gold in
`answer` | `gold` | `final_answer` | `solution` (a worked solution: its last `\\boxed{}`). A question
with several acceptable answers is correct when any of them matches.

An item's `problem` is the text that fills a prompt template's `{problem}`: the bare question, except
where the official config gives the benchmark a user turn of its own (LiveMathBench's wrapped question,
GPQA's multiple-choice prompt). Multiple-choice items carry `grader: "choice"`, graded as letters.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from ..paths import shared_data, shipped_data
from ..prompts import GPQA_USER_PROMPT, LIVEMATHBENCH_PROMPTS
from ..rewards.boxed import last_boxed
from .decontaminate import NGRAM, NgramIndex
from .io import iter_rows
from .loaders import iter_source_rows, looks_like_path

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


def livemathbench_items(language: str, rows: Iterable[tuple[int, dict]], source: str) -> list[dict]:
    """LiveMathBench rows as items: the question wrapped as OpenCompass's `LiveMathBenchDataset(cot=True)`
    wraps it (its `prompt` column, the official config's user turn)."""
    items = []
    for number, row in rows:
        question, answers = row.get("question"), _golds(row.get("answer"))
        if not isinstance(question, str) or not question.strip():
            raise DataError("no question", source=source, row=number, field="question")
        if not answers:
            raise DataError("no gold answer", source=source, row=number, field="answer")
        items.append({
            "id": f"livemathbench-hard-{language}-{number - 1}",
            "problem": LIVEMATHBENCH_PROMPTS[language].replace("{question}", question),
            "answers": answers,
        })  # fmt: skip
    return items


GPQA_OPTION_FIELDS = ("Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")
# OpenCompass's GPQADataset: the n-th question (from 1) shows the options in the order
# _GPQA_ROTATIONS[n % 4], letters standing for [correct, incorrect 1, incorrect 2, incorrect 3].
_GPQA_ROTATIONS = ("ABCD", "BCDA", "CDAB", "DABC")


def gpqa_items(rows: Iterable[tuple[int, dict]], source: str) -> list[dict]:
    """GPQA rows (the CSV's columns) as multiple-choice items, options placed and lettered as
    OpenCompass's GPQADataset does, in the official config's user prompt; the gold is a letter."""
    items = []
    for count, (number, row) in enumerate(rows, start=1):
        for name in ("Question", *GPQA_OPTION_FIELDS):
            if not isinstance(row.get(name), str) or not row[name].strip():
                raise DataError("expected a non-empty string", source=source, row=number, field=name)
        options = [row[name] for name in GPQA_OPTION_FIELDS]
        rotation = _GPQA_ROTATIONS[count % 4]
        shown = [options[ord(letter) - ord("A")] for letter in rotation]
        gold = "ABCD"[shown.index(options[0])]  # the first option equal to the correct one, as OpenCompass
        problem = GPQA_USER_PROMPT.replace("{question}", row["Question"])
        for letter, text in zip("abcd", shown, strict=True):
            problem = problem.replace("{" + letter + "}", text)
        items.append({
            "id": str(row.get("Record ID") or f"gpqa-diamond-{number - 1}"),
            "problem": problem, "answers": [gold], "grader": "choice",
        })  # fmt: skip
    return items


@dataclass(frozen=True)
class HubBenchmark:
    """A benchmark read from the Hub at run time: `subsets` are (dataset config, tag) pairs."""

    name: str
    hub_dataset: str
    subsets: tuple[tuple[str | None, str], ...]
    split: str
    to_items: Callable[[str, Iterable[tuple[int, dict]], str], list[dict]]

    def load(self) -> list[dict]:
        items = []
        for config, tag in self.subsets:
            source = f"{self.hub_dataset}" + (f" ({config})" if config else "")
            try:
                try:
                    rows = list(iter_source_rows(self.hub_dataset, split=self.split, config=config))
                except DataError as unavailable:
                    if getattr(unavailable, "hub_error", None) is None:
                        raise
                    raise unavailable.hub_error from None
            except DataError:
                raise
            except Exception as error:  # the Hub's errors: gated, offline, missing config
                raise DataError(
                    f"benchmark {self.name!r} is read from the Hub and could not be loaded ({type(error).__name__}: "
                    f"{str(error).splitlines()[0] if str(error) else ''}). It is gated: accept its terms on the Hub, "
                    "log in (`hf auth login`), and run with network access",
                    source=source,
                ) from None
            items.extend(self.to_items(tag, rows, source))
        return items


# evaluation_config.py: LiveMathBench version 202412, split hard, languages cn and en (OpenCompass reads
# the Hub configs v202412_hard_cn / _en, split test); GPQA: the diamond subset (OpenCompass reads
# gpqa_diamond.csv; on the Hub it is the gpqa_diamond config of Idavidrein/gpqa, split train).
HUB_BENCHMARKS: dict[str, HubBenchmark] = {
    b.name: b
    for b in [
        HubBenchmark("livemathbench_hard", "opencompass/LiveMathBench",
                     (("v202412_hard_cn", "cn"), ("v202412_hard_en", "en")), "test", livemathbench_items),
        HubBenchmark("gpqa_diamond", "Idavidrein/gpqa", (("gpqa_diamond", "diamond"),), "train",
                     lambda tag, rows, source: gpqa_items(rows, source)),
    ]
}  # fmt: skip
BENCHMARK_NAMES = (*BENCHMARKS, *HUB_BENCHMARKS)


def hub_dataset_of(name: str) -> str | None:
    """The Hub id of a named benchmark (for model cards), or None."""
    benchmark = BENCHMARKS.get(name) or HUB_BENCHMARKS.get(name)
    return benchmark.hub_dataset if benchmark else None


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


def _unknown_benchmark(spec: str) -> DataError:
    close = difflib.get_close_matches(spec, BENCHMARK_NAMES, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return DataError(
        f"unknown benchmark {spec!r}: {hint}expected one of {', '.join(BENCHMARK_NAMES)}, or a data file, a "
        "save_to_disk folder or a Hub dataset id (owner/name)"
    )


def load_benchmark(spec: str, max_questions: int | None = None, split: str = "test") -> list[dict]:
    """Questions of a named benchmark, or of a file / folder / Hub id (see the module docstring)."""
    items = []
    if spec in HUB_BENCHMARKS:
        items = HUB_BENCHMARKS[spec].load()[:max_questions]
    elif spec not in BENCHMARKS and "/" not in spec and not looks_like_path(spec):
        raise _unknown_benchmark(spec)
    elif spec in BENCHMARKS:
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


# Every benchmark the project names: what training data is decontaminated against by default. Minerva
# reads the shared data folder and the Hub-only sets need the Hub: one that cannot be read here is
# skipped and reported as such, not silently.
DECONTAMINATION_SETS = BENCHMARK_NAMES


def decontamination_index(names: Iterable[str], n: int = NGRAM) -> tuple[NgramIndex, dict[str, str]]:
    """The n-gram index of the named benchmarks' questions, and the benchmarks that could not be read
    here (name -> why). An unknown name raises DataError."""
    questions, skipped = {}, {}
    for name in names:
        if name not in BENCHMARK_NAMES:
            raise _unknown_benchmark(name)
        try:
            questions[name] = [(item["id"], item["problem"]) for item in load_benchmark(name)]
        except DataError as error:
            skipped[name] = str(error)
    return NgramIndex(questions, n), skipped
