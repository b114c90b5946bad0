"""Turn a teacher's rollout file into canonical trajectory records, keeping the correct completions.

Two row layouts are accepted, with common field names:
- one row per question with a list of completions
  (`completions` | `responses` | `generations` | `outputs` | `rollouts`);
- one row per completion (`completion` | `response` | `output` | `generation`), grouped into
  questions by `question_id` | `problem_id`, or else by the problem text.
The question is read from `problem` | `question`, the gold answer from `answer` | `gold` |
`gold_answer` | `gt_answer` | `ground_truth`. Each completion is graded against the gold with
math-verify (gold first, answer read after `</think>`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

from tqdm.auto import tqdm

from ..errors import DataError
from ..rewards.functions import completion_text
from ..rewards.grading import Verdict
from ..rewards.pool import grade_many
from .schema import question_id

QUESTION_FIELDS = ("problem", "question")
GOLD_FIELDS = ("answer", "gold", "gold_answer", "gt_answer", "ground_truth")
COMPLETION_LIST_FIELDS = ("completions", "responses", "generations", "outputs", "rollouts")
COMPLETION_FIELDS = ("completion", "response", "output", "generation")
GROUP_FIELDS = ("question_id", "problem_id")


@dataclass
class RolloutStats:
    rows: int = 0
    questions: int = 0
    completions: int = 0
    correct: int = 0
    questions_kept: int = 0
    questions_without_correct: int = 0
    questions_with_unparseable_gold: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def _first_field(row: dict, names: tuple[str, ...]) -> str | None:
    return next((name for name in names if row.get(name) is not None), None)


def _completion_text(value, fail, field: str) -> str:
    # Conversational completions ([{"role": "assistant", "content": ...}]) are read as the rewards read them.
    if isinstance(value, list) and value and all(isinstance(m, dict) for m in value):
        value = completion_text(value)
    elif isinstance(value, dict):
        value = value.get("content", value.get("text"))
    if not isinstance(value, str):
        fail(f"expected the completion as text, got {type(value).__name__}", field)
    # A prompt that ends with "<think>\n" leaves the completion with only the closing tag.
    if "</think>" in value and "<think>" not in value:
        value = "<think>\n" + value
    return value


def _read_row(number: int, row: dict, source: str) -> dict:
    """One rollout row checked and read: its question key, problem, gold, completions and other fields."""

    def fail(message: str, field: str | None = None):
        raise DataError(message, source=source, row=number, field=field)

    question_field = _first_field(row, QUESTION_FIELDS)
    if question_field is None:
        fail(f"missing (expected one of {', '.join(QUESTION_FIELDS)})", "problem")
    gold_field = _first_field(row, GOLD_FIELDS)
    if gold_field is None:
        fail(f"missing (expected one of {', '.join(GOLD_FIELDS)})", "answer")
    problem, gold = row[question_field], row[gold_field]
    if not isinstance(problem, str) or not problem.strip():
        fail("expected non-empty text", question_field)
    if isinstance(gold, bool) or not isinstance(gold, (str, int, float)) or not str(gold).strip():
        fail("expected the gold answer as non-empty text", gold_field)
    list_field = _first_field(row, COMPLETION_LIST_FIELDS)
    single_field = _first_field(row, COMPLETION_FIELDS)
    if list_field is not None:
        values = row[list_field]
        if not isinstance(values, list):
            fail(f"expected a list of completions, got {type(values).__name__}", list_field)
        completions = [_completion_text(v, fail, f"{list_field}[{i}]") for i, v in enumerate(values)]
        completion_field, key_field = list_field, _first_field(row, (*GROUP_FIELDS, "id"))
    elif single_field is not None:
        completions = [_completion_text(row[single_field], fail, single_field)]
        # One row per completion: here `id` usually names the completion, not the question.
        completion_field, key_field = single_field, _first_field(row, GROUP_FIELDS)
    else:
        fail(
            f"no completions (expected a list in one of {', '.join(COMPLETION_LIST_FIELDS)} "
            f"or text in one of {', '.join(COMPLETION_FIELDS)})"
        )
    excluded = {completion_field, question_field, gold_field, key_field}
    return {
        "id": str(row[key_field]) if key_field else question_id(problem),
        "problem": problem,
        "answer": str(gold),
        "completions": completions,
        "fields": {k: v for k, v in row.items() if k not in excluded},
        "row": number,
        "gold_field": gold_field,
    }


def _clip(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _group_rows(rows: Iterable[tuple[int, dict]], source: str) -> dict[str, dict]:
    """Collect completions per question, checking every row."""
    questions: dict[str, dict] = {}
    for number, row in rows:
        read = _read_row(number, row, source)
        entry = questions.setdefault(read["id"], read)
        if entry is read:
            continue
        if read["answer"] != entry["answer"]:
            raise DataError(
                f"gold answer {read['answer']!r} differs from {entry['answer']!r} given for the same question "
                f"in row {entry['row']}",
                source=source, row=number, field=read["gold_field"],
            )  # fmt: skip
        if read["problem"] != entry["problem"]:
            # Two inputs merged under one id: their completions answer different questions.
            raise DataError(
                f"problem text differs from the one given for the same question id {read['id']!r} in row "
                f"{entry['row']} ({_clip(entry['problem'])!r} / {_clip(read['problem'])!r}): give each question its own id",
                source=source, row=number, field="problem",
            )  # fmt: skip
        entry["completions"].extend(read["completions"])
        # Only fields that agree across a question's rows describe the question.
        entry["fields"] = {k: v for k, v in entry["fields"].items() if read["fields"].get(k) == v}
    return questions


def _labels_grader(questions: list[dict], field: str, source: str):
    """A grader that returns each question's stored labels as verdicts (checked: one 0/1 per completion)."""
    verdicts = []
    for entry in questions:
        labels = entry["fields"].get(field)
        if not isinstance(labels, list) or len(labels) != len(entry["completions"]) or not all(
            label in (0, 1) for label in labels  # True/False compare equal to 1/0
        ):
            raise DataError(
                f"expected a list of {len(entry['completions'])} labels (0/1), one per completion, got {labels!r:.80}",
                source=source, row=entry["row"], field=field,
            )  # fmt: skip
        verdicts.extend(Verdict(bool(label), "correct" if label else "incorrect") for label in labels)
    return lambda pairs: verdicts


def rollouts_to_trajectories(
    rows: Iterable[tuple[int, dict]],
    *,
    source: str,
    keep_incorrect: bool = False,
    grader: Callable[[list[tuple[str, str]]], list[Verdict]] | None = None,
    labels_field: str | None = None,
    mode: str = "math_verify",
) -> tuple[list[dict], RolloutStats]:
    """Grade every completion and return canonical records plus counts.

    With `keep_incorrect=False` (the default) only correct completions are kept and questions with
    none are dropped; otherwise every completion is kept with its verdict in `correct`. Questions
    whose gold answer cannot be parsed are dropped and counted: their completions cannot be judged.
    `grader` grades a list of (gold, completion) pairs (default: the bounded, parallel `grade_many`).
    `labels_field` takes the verdicts from a list of 0/1 flags beside the completions instead of
    grading them (the paper's rollout sets carry `labels`, which its SFT data script selects by).
    """
    stats = RolloutStats()
    rows = list(rows)
    stats.rows = len(rows)
    questions = list(_group_rows(rows, source).values())
    stats.questions = len(questions)
    pairs = [(entry["answer"], text) for entry in questions for text in entry["completions"]]
    if labels_field is not None:
        grader = _labels_grader(questions, labels_field, source)
    if grader is None:
        with tqdm(
            total=len(pairs), desc="Grading rollouts", unit="completion", disable=len(pairs) < 200
        ) as bar:
            verdicts = grade_many(pairs, progress=bar.update, mode=mode)
    else:
        verdicts = grader(pairs)
    stats.completions = len(verdicts)
    records, offset = [], 0
    for entry in questions:
        own = verdicts[offset : offset + len(entry["completions"])]
        offset += len(own)
        if any(v.correct is None for v in own):
            stats.questions_with_unparseable_gold += 1  # the grader logs each such gold once
            continue
        flags = [bool(v.correct) for v in own]
        stats.correct += sum(flags)
        if not any(flags):
            stats.questions_without_correct += 1
            if not keep_incorrect:
                continue
        kept = [(t, f) for t, f in zip(entry["completions"], flags, strict=True) if f or keep_incorrect]
        records.append(
            {
                **{k: v for k, v in entry["fields"].items() if k != labels_field},  # labels: now `correct`
                "id": entry["id"],
                "problem": entry["problem"],
                "answer": entry["answer"],
                "trajectories": [t for t, _ in kept],
                "correct": [f for _, f in kept],
                "source": str(entry["fields"].get("source") or source),
            }
        )
    stats.questions_kept = len(records)
    return records, stats
