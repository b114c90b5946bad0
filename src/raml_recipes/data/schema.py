"""The canonical trajectory record: one row per question.

    {id, problem, answer, trajectories: [text, ...], correct: [bool, ...] (optional), source}

`id` is a string (a stable hash of the problem text when missing), `answer` the gold answer as text,
`trajectories` the reasoning texts for that question (its support set), `correct` their verdicts
when known, `source` where they came from. Other fields (level, subject, ...) are kept as they are.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

from .errors import DataError

FIELDS = ("id", "problem", "answer", "trajectories", "correct", "source")


def question_id(problem: str) -> str:
    """A stable id for a question without one: the first 16 hex digits of the problem's SHA-1."""
    return hashlib.sha1(problem.strip().encode("utf-8")).hexdigest()[:16]


def _text(value, what: str, source, row, field) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise DataError(
            f"expected {what} as text, got {type(value).__name__}", source=source, row=row, field=field
        )
    text = str(value)
    if not text.strip():
        raise DataError(f"{what} is empty", source=source, row=row, field=field)
    return text


def validate_record(row: dict, *, source: str | None = None, row_number: int | None = None) -> dict:
    """Check one row against the canonical schema and return it normalised (ids and answers as text)."""
    if not isinstance(row, dict):
        raise DataError(f"expected an object, got {type(row).__name__}", source=source, row=row_number)
    for field in ("problem", "answer", "trajectories"):
        if row.get(field) is None:
            raise DataError("missing", source=source, row=row_number, field=field)
    problem = _text(row["problem"], "the problem", source, row_number, "problem")
    answer = _text(row["answer"], "the gold answer", source, row_number, "answer")
    trajectories = row["trajectories"]
    if isinstance(trajectories, str) or not isinstance(trajectories, (list, tuple)):
        raise DataError(
            f"expected a list of texts, got {type(trajectories).__name__}",
            source=source,
            row=row_number,
            field="trajectories",
        )
    for index, text in enumerate(trajectories):
        if not isinstance(text, str):
            raise DataError(
                f"expected text, got {type(text).__name__}",
                source=source,
                row=row_number,
                field=f"trajectories[{index}]",
            )
        if not text.strip():
            raise DataError("empty trajectory", source=source, row=row_number, field=f"trajectories[{index}]")
    correct = row.get("correct")
    if correct is not None:
        if not isinstance(correct, (list, tuple)) or len(correct) != len(trajectories):
            raise DataError(
                f"expected a list of {len(trajectories)} booleans (one per trajectory)",
                source=source,
                row=row_number,
                field="correct",
            )
        for index, flag in enumerate(correct):
            if not isinstance(flag, bool):
                raise DataError(
                    f"expected true/false, got {flag!r}",
                    source=source,
                    row=row_number,
                    field=f"correct[{index}]",
                )
    record_id = row.get("id")
    record_id = (
        question_id(problem)
        if record_id is None or record_id == ""
        else _text(record_id, "the id", source, row_number, "id")
    )
    source_field = row.get("source")
    return {
        **row,
        "id": record_id,
        "problem": problem,
        "answer": answer,
        "trajectories": list(trajectories),
        "correct": list(correct) if correct is not None else None,
        "source": None if source_field is None else str(source_field),
    }


def validate_records(rows: Iterable[tuple[int, dict]], *, source: str | None = None) -> Iterator[dict]:
    """Validate `(row_number, row)` pairs; ids must be unique across the file."""
    seen: dict[str, int] = {}
    for number, row in rows:
        record = validate_record(row, source=source, row_number=number)
        if record["id"] in seen:
            raise DataError(
                f"duplicate id {record['id']!r} (first seen in row {seen[record['id']]})",
                source=source,
                row=number,
                field="id",
            )
        seen[record["id"]] = number
        yield record
