"""The canonical trajectory record: one row per question.

    {id, problem, answer, trajectories: [text, ...], correct: [bool, ...] (optional), source}

`id` is a string (a stable hash of the problem text when missing), `answer` the gold answer as text,
`trajectories` the reasoning texts for that question (its support set), `correct` their verdicts
when known, `source` where they came from. Other fields (level, subject, ...) are kept as they are.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

from ..errors import DataError


def question_id(problem: str) -> str:
    """A stable id for a question without one: the first 16 hex digits of the problem's SHA-1."""
    return hashlib.sha1(problem.strip().encode("utf-8")).hexdigest()[:16]


def validate_record(row: dict, *, source: str | None = None, row_number: int | None = None) -> dict:
    """Check one row against the canonical schema and return it normalised (ids and answers as text)."""

    def fail(message: str, field: str | None = None):
        raise DataError(message, source=source, row=row_number, field=field)

    def text(field: str, what: str) -> str:
        value = row[field]
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            fail(f"expected {what} as text, got {type(value).__name__}", field)
        if not str(value).strip():
            fail(f"{what} is empty", field)
        return str(value)

    if not isinstance(row, dict):
        fail(f"expected an object, got {type(row).__name__}")
    for field in ("problem", "answer", "trajectories"):
        if row.get(field) is None:
            fail("missing", field)
    problem, answer = text("problem", "the problem"), text("answer", "the gold answer")
    trajectories = row["trajectories"]
    if isinstance(trajectories, str) or not isinstance(trajectories, (list, tuple)):
        fail(f"expected a list of texts, got {type(trajectories).__name__}", "trajectories")
    for index, trajectory in enumerate(trajectories):
        if not isinstance(trajectory, str):
            fail(f"expected text, got {type(trajectory).__name__}", f"trajectories[{index}]")
        if not trajectory.strip():
            fail("empty trajectory", f"trajectories[{index}]")
    correct = row.get("correct")
    if correct is not None:
        if not isinstance(correct, (list, tuple)) or len(correct) != len(trajectories):
            fail(f"expected a list of {len(trajectories)} booleans (one per trajectory)", "correct")
        for index, flag in enumerate(correct):
            if not isinstance(flag, bool):
                fail(f"expected true/false, got {flag!r}", f"correct[{index}]")
    has_id = row.get("id") not in (None, "")
    return {
        **row,
        "id": text("id", "the id") if has_id else question_id(problem),
        "problem": problem,
        "answer": answer,
        "trajectories": list(trajectories),
        "correct": None if correct is None else list(correct),
        "source": None if row.get("source") is None else str(row["source"]),
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
