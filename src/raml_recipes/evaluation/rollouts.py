"""Sample n rollouts per question from a teacher model: the rollout file the trajectory converter reads.

One output row per question: `{id, problem, answer, completions: [...], num_tokens: [...],
finish_reasons: [...]}`. Questions can be split over jobs (`shard i of n` takes every n-th
question), and a rerun skips the questions already in the output file.
"""

from __future__ import annotations

import json
from pathlib import Path

from tqdm.auto import tqdm

from ..configs import parse_shard
from ..prompts import render_prompt_text
from ..runs import read_appended_rows

__all__ = ["generate_rollouts", "parse_shard", "shard_questions"]


def shard_questions(questions: list[dict], index: int, count: int) -> list[dict]:
    return questions[index::count]


def generate_rollouts(
    questions: list[dict],
    generator,
    tokenizer,
    num_samples: int,
    output: Path,
    prompt_template: str,
    system_prompt: str | None = None,
    questions_per_chunk: int = 8,
    enable_thinking: bool | None = None,
) -> tuple[int, int]:
    """Append rollouts for the questions not yet in `output`; returns how many questions were sampled and
    how many rollouts stopped at the token budget."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    done = {row["id"] for row in read_appended_rows(output)}
    truncated = 0
    todo = [q for q in questions if q["id"] not in done]
    with (
        tqdm(total=len(todo) * num_samples, desc="Rollouts", unit="sample") as bar,
        open(output, "a", encoding="utf-8") as out,
    ):
        for start in range(0, len(todo), questions_per_chunk):
            chunk = todo[start : start + questions_per_chunk]
            prompts = [
                render_prompt_text(tokenizer, q["problem"], prompt_template, system_prompt, enable_thinking)
                for q in chunk
            ]
            samples = generator.generate([(prompt, num_samples) for prompt in prompts], bar.update)
            for question, question_samples in zip(chunk, samples, strict=True):
                row = {
                    "id": question["id"],
                    "problem": question["problem"],
                    "answer": question["answers"][0],
                    "completions": [s.text for s in question_samples],
                    "num_tokens": [s.num_tokens for s in question_samples],
                    "finish_reasons": [s.finish_reason for s in question_samples],
                }
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                truncated += row["finish_reasons"].count("length")
            out.flush()
    return len(todo), truncated
