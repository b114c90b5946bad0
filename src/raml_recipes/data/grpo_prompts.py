"""GRPO prompt sets: `{id, problem, answer, source}` rows, filtered and decontaminated.

Sources are named training sets (shipped or in the shared data folder), a seeded generator of
simple arithmetic (small models get some right, so the reward has variance), or any file, folder
or Hub id with a question (`problem` | `question`) and a gold (`answer` | `gold` | `final_answer` |
`solution`). Decontamination drops every problem that shares an 8-token run with an evaluation
question (raml_recipes.data.decontaminate).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import DataError
from ..paths import shared_data, shipped_data
from .arithmetic import arithmetic_problems as generated_arithmetic
from .benchmarks import BENCHMARK_NAMES, decontamination_index, load_benchmark, question_from_row
from .loaders import iter_source_rows

ARITHMETIC = "arithmetic"

# Named training sources and the file each reads; rows are read as for any other file.
TRAINING_SOURCES = {
    "gsm8k_train": lambda: shipped_data("gsm8k", "train.jsonl"),  # the first 1,000 of GSM8K train
    "math_train": lambda: shared_data("math_train", "rllm_math_train.json"),  # 7,474 MATH train problems
    "aime_1983_2023": lambda: shared_data(
        "aime24", "rllm_aime_1983_2023_train.json"
    ),  # 975 past AIME problems
}

_LATEX_NOISE = re.compile(r"\\(?:left|right|displaystyle|text|mathrm|mbox|quad)(?![a-z])|\\[,;!]|[$\\{}]")
_NON_WORD = re.compile(r"[^0-9a-z+\-*/=<>^]+")
_INTEGER = re.compile(r"^[+-]?\d+$")


def normalise_problem(text: str) -> str:
    """Problem text for contamination matching: lower case, LaTeX markup and all spacing dropped."""
    text = _LATEX_NOISE.sub(" ", text.lower())
    return _NON_WORD.sub("", text)


def is_integer_answer(answer: str) -> bool:
    """True for answers like `42`, `-7`, `1,000`, `$12$`: integer golds, however they are written."""
    text = answer.strip().strip("$").strip().replace(",", "")
    return bool(_INTEGER.match(text))


def is_digit_answer(answer: str) -> bool:
    """The official GRPO data script's filter, exactly: `str.isdigit(answer)` (`42`, not `-7` or `1,000`)."""
    return answer.isdigit()


# What `--integer_answers` keeps: `paper` = the official data_process_grpo.py filter (digits only),
# `any` = any integer however written (signs, thousands separators, $...$).
ANSWER_FILTERS = {"paper": is_digit_answer, "any": is_integer_answer}


def arithmetic_problems(count: int, seed: int = 0) -> list[dict]:
    """`count` distinct one- and two-step arithmetic questions with integer answers, reproducible from `seed`."""
    return [
        {key: row[key] for key in ("id", "problem", "answer", "source")} for row in generated_arithmetic(count, seed)
    ]


def load_prompt_source(spec: str, split: str = "train") -> list[dict]:
    """Rows of one source: `arithmetic:N[:seed]`, a name in TRAINING_SOURCES or BENCHMARK_NAMES, or a file/Hub id."""
    if spec.startswith(ARITHMETIC):
        _, _, rest = spec.partition(":")
        count, _, seed = rest.partition(":")
        if not count.isdigit() or (seed and not seed.isdigit()):
            raise DataError(
                f"expected {ARITHMETIC}:COUNT or {ARITHMETIC}:COUNT:SEED, got {spec!r}", source=spec
            )
        return arithmetic_problems(int(count), int(seed or 0))
    if spec in TRAINING_SOURCES:
        path = TRAINING_SOURCES[spec]()
        if not path.is_file():
            raise DataError(
                f"source {spec!r} reads {path}, which is missing (set RAML_SHARED_DATA)", source=spec
            )
        items = _items(str(path), split, id_prefix=f"{spec}-")
    elif spec in BENCHMARK_NAMES:
        items = [{**item, "answer": item["answers"][0]} for item in load_benchmark(spec)]
    else:
        items = _items(spec, split)
    return [
        {"id": item["id"], "problem": item["problem"], "answer": item["answer"], "source": spec}
        for item in items
    ]


def _items(source: str, split: str, id_prefix: str = "") -> list[dict]:
    """Rows of a file / folder / Hub id as {id, problem, answer}; answer None where the row has no gold."""
    items = []
    for number, row in iter_source_rows(source, split=split):
        try:
            item = question_from_row(row, number, source)
        except DataError as error:
            if "no gold answer" not in str(error) and "no \\boxed{}" not in str(error):
                raise
            item = {"id": str(row.get("id", f"q{number}")), "problem": row.get("problem") or row.get("question"),
                    "answers": [None]}  # fmt: skip
        items.append(
            {
                "id": id_prefix + item["id"],
                "problem": item["problem"],
                "answer": (item["answers"] or [None])[0],
            }
        )
    return items


@dataclass
class PromptSetReport:
    """What building a prompt set kept and dropped, by reason."""

    read: Counter = field(default_factory=Counter)
    dropped: Counter = field(default_factory=Counter)
    kept: int = 0
    skipped_benchmarks: dict = field(default_factory=dict)  # benchmarks not readable here, with why
    matches: list = field(default_factory=list)  # each contaminated row's matching n-gram

    def as_dict(self) -> dict:
        found = {"read": dict(self.read), "dropped": dict(self.dropped), "kept": self.kept}
        if self.skipped_benchmarks:
            found["skipped_benchmarks"] = self.skipped_benchmarks
        if self.matches:
            found["matches"] = self.matches[:20]
        return found


def build_prompt_set(
    sources: Sequence[str],
    *,
    integer_answers_only: bool | str = False,
    decontaminate: Sequence[str] = (),
    max_prompts: int | None = None,
    seed: int | None = None,
) -> tuple[list[dict], PromptSetReport]:
    """Prompt rows from `sources`: deduplicated, optionally integer-answer only, minus evaluation problems.

    `integer_answers_only`: False, or a key of ANSWER_FILTERS (True means "any").

    `seed` shuffles the result (before `max_prompts`); None keeps the sources' order.
    """
    report = PromptSetReport()
    if integer_answers_only is True:
        integer_answers_only = "any"
    keeps_answer = ANSWER_FILTERS[integer_answers_only] if integer_answers_only else None
    # n-gram overlap with any evaluation question (raml_recipes.data.decontaminate): a verbatim copy,
    # a re-typeset one and a partial one alike.
    index, report.skipped_benchmarks = decontamination_index(decontaminate) if decontaminate else (None, {})
    rows, seen = [], set()
    for spec in sources:
        for row in load_prompt_source(spec):
            report.read[spec] += 1
            key = normalise_problem(row["problem"])
            if row["answer"] is None:
                report.dropped["no gold answer"] += 1
            elif key in seen:
                report.dropped["duplicate"] += 1
            elif index is not None and (match := index.find(row["problem"])) is not None:
                report.dropped[f"in {match.benchmark}"] += 1
                report.matches.append({"source": spec, "problem": row["problem"][:80], "benchmark_question":
                                       match.question_id, "ngram": match.ngram})  # fmt: skip
            elif keeps_answer is not None and not keeps_answer(row["answer"]):
                report.dropped["not an integer answer"] += 1
            else:
                seen.add(key)
                rows.append(row)
    if seed is not None:
        random.Random(seed).shuffle(rows)
    rows = rows[:max_prompts] if max_prompts is not None else rows
    report.kept = len(rows)
    return rows, report


def to_grpo_rows(path: str, *, system_prompt: str | None, prompt_template: str, max_prompts: int | None = None,
                 split: str = "train") -> list[dict]:  # fmt: skip
    """Prompt-set rows as GRPOTrainer rows: a conversational `prompt`, the gold in `answer`, and `id`."""
    rows = []
    for number, row in iter_source_rows(path, split=split):
        for name in ("problem", "answer"):
            if not isinstance(row.get(name), str) or not row[name].strip():
                raise DataError("expected a non-empty string (build the file with data_prep/build_grpo_prompts.py)",
                                source=path, row=number, field=name)  # fmt: skip
        messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
        messages.append({"role": "user", "content": prompt_template.replace("{problem}", row["problem"])})
        rows.append({"prompt": messages, "answer": row["answer"], "id": str(row.get("id", number))})
        if max_prompts is not None and len(rows) >= max_prompts:
            break
    if not rows:
        raise DataError("no prompts", source=path)
    return rows
