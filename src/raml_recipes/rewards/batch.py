"""Grade a table of completions: every row's completion(s) against its gold answer, with counts."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable

from tqdm.auto import tqdm

from ..errors import DataError
from .functions import completion_text
from .pool import grade_many


def _completions(value, source, row, field) -> tuple[list[str], bool]:
    """(texts, is_list) for a cell holding one completion or a list of them."""
    if isinstance(value, str) or (isinstance(value, list) and value and isinstance(value[0], dict)):
        return [completion_text(value)], False
    if isinstance(value, list):
        try:
            return [completion_text(item) for item in value], True
        except TypeError as error:
            raise DataError(str(error), source=source, row=row, field=field) from None
    raise DataError(
        f"expected a completion or a list of completions, got {type(value).__name__}",
        source=source,
        row=row,
        field=field,
    )


def grade_rows(
    rows: Iterable[tuple[int, dict]],
    answers: str,
    gold: str = "answer",
    source: str = "rows",
    progress: bool = True,
    mode: str = "math_verify",
) -> tuple[list[dict], dict]:
    """Grade `rows[answers]` against `rows[gold]`; returns the rows with verdicts and a summary.

    A row gets `verdict` (one completion) or `verdicts` (a list), each `{correct, reason, extracted}`.
    """
    rows = list(rows)
    pairs, spans = [], []
    for number, row in rows:
        for field in (answers, gold):
            if row.get(field) is None:
                raise DataError("missing", source=source, row=number, field=field)
        texts, is_list = _completions(row[answers], source, number, answers)
        spans.append((len(pairs), len(texts), is_list))
        pairs.extend((str(row[gold]), text) for text in texts)
    start = time.perf_counter()
    with tqdm(total=len(pairs), desc="Grading", unit="completion", disable=not progress) as bar:
        verdicts = grade_many(pairs, progress=bar.update, mode=mode)
    elapsed = time.perf_counter() - start
    graded = []
    for (_, row), (offset, count, is_list) in zip(rows, spans, strict=True):
        found = [
            {"correct": v.correct, "reason": v.reason, "extracted": v.extracted}
            for v in verdicts[offset : offset + count]
        ]
        graded.append({**row, "verdicts": found} if is_list else {**row, "verdict": found[0]})
    reasons = Counter(v.reason for v in verdicts)
    scored = [v for v in verdicts if v.correct is not None]
    summary = {
        "grading": mode,
        "rows": len(rows),
        "completions": len(verdicts),
        "correct": sum(bool(v.correct) for v in verdicts),
        "accuracy": sum(bool(v.correct) for v in scored) / len(scored) if scored else None,
        "reasons": dict(reasons),
        "unparseable_gold": reasons["unparseable_gold"],
        "timeouts": reasons["timeout"],
        "seconds": round(elapsed, 3),
        "completions_per_second": round(len(verdicts) / elapsed, 1) if elapsed > 0 else None,
    }
    return graded, summary
