"""GSM8K rows as canonical trajectory records in the think format.

A GSM8K answer is a worked solution with calculator annotations (`<<48/2=24>>`) and a final line
`#### 72`. Each question yields up to three distinct renderings of its solution, each ending in
`\\boxed{answer}` after the thought:
- `plain`: the solution steps as written;
- `numbered`: the same steps as "Step 1: ...";
- `checked`: the steps followed by a re-check of every calculation.
They differ in text, not in method: a support set of surface variants for demos and tests (the
synthetic-task generator gives structurally distinct ones).
"""

from __future__ import annotations

import re

from ..errors import DataError

_ANNOTATION = re.compile(r"<<([^<>]*)>>")
VARIANTS = ("plain", "numbered", "checked")


def parse_gsm8k_answer(
    text: str, *, source: str | None = None, row: int | None = None
) -> tuple[list[str], str, list[str]]:
    """Split a GSM8K answer into (steps, final answer, calculations)."""
    if not isinstance(text, str) or "####" not in text:
        raise DataError(
            "expected a GSM8K solution ending in '#### <answer>'", source=source, row=row, field="answer"
        )
    body, final = text.rsplit("####", 1)
    final = final.strip().replace(",", "")
    if not final:
        raise DataError("empty final answer after '####'", source=source, row=row, field="answer")
    calculations = [c.replace("=", " = ") for c in _ANNOTATION.findall(body)]
    steps = [line.strip() for line in _ANNOTATION.sub("", body).splitlines() if line.strip()]
    return steps, final, calculations


def _think(lines: list[str], final: str) -> str:
    return "<think>\n" + "\n".join(lines) + "\n</think>\n\nThe answer is \\boxed{" + final + "}."


def gsm8k_record(row: dict, *, index: int, split: str, variants=VARIANTS, source: str | None = None) -> dict:
    """One canonical record from a GSM8K row (`question`, `answer`)."""
    question = row.get("question")
    if not isinstance(question, str) or not question.strip():
        raise DataError(
            "expected the question as non-empty text", source=source, row=index + 1, field="question"
        )
    steps, final, calculations = parse_gsm8k_answer(row.get("answer"), source=source, row=index + 1)
    check = (
        "Let me check each calculation: " + "; ".join(calculations) + "."
        if calculations
        else f"Let me check: the result is {final}."
    )
    renderings = {
        "plain": _think(steps, final),
        "numbered": _think([f"Step {i}: {step}" for i, step in enumerate(steps, start=1)], final),
        "checked": _think([*steps, check], final),
    }
    unknown = set(variants) - set(renderings)
    if unknown:
        raise ValueError(f"unknown GSM8K variants {sorted(unknown)}; known: {', '.join(VARIANTS)}")
    # Distinct texts only: a one-step solution can make two renderings coincide.
    trajectories = list(dict.fromkeys(renderings[v] for v in variants))
    return {
        "id": f"gsm8k-{split}-{index}",
        "problem": question.strip(),
        "answer": final,
        "trajectories": trajectories,
        "correct": [True] * len(trajectories),
        "source": f"gsm8k/{split}",
    }


def build_gsm8k_trajectories(
    path, *, split: str = "train", max_questions: int | None = None, variants=VARIANTS
) -> list[dict]:
    """Records for the first `max_questions` rows of a GSM8K .jsonl file; every row is checked."""
    from .io import iter_rows

    records = []
    for number, row in iter_rows(path):
        if max_questions is not None and len(records) >= max_questions:
            break
        records.append(gsm8k_record(row, index=number - 1, split=split, variants=variants, source=str(path)))
    return records
