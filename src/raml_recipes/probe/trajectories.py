"""Trajectories for the probes: `{id, problem, answer, thought, correct}`.

- `gsm8k`: GSM8K worked solutions as correct thoughts, and perturbed copies as incorrect ones: one
  intermediate result is changed (and every later mention of it), so the reasoning no longer
  reaches the gold answer.
- `r1_traces`: the shipped DeepSeek-R1-distill traces (the text before `</think>`), correct and
  incorrect as graded by their authors.
- any canonical trajectory file: each trajectory's thought (before `</think>`) with its `correct` flag.
"""

from __future__ import annotations

import random
import re

from ..data.gsm8k import parse_gsm8k_answer
from ..data.io import iter_rows
from ..data.loaders import load_trajectories
from ..paths import shipped_data
from ..rewards.grading import THINK_CLOSE, THINK_OPEN

_RESULT = re.compile(r"=\s*\$?(\d+(?:\.\d+)?)")
_THOUSANDS = re.compile(r"(\d),(\d{3})")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def thought_of(text: str) -> str:
    """The reasoning part of a trajectory: before `</think>` (and after `<think>`), else all of it."""
    if THINK_CLOSE in text:
        text = text.split(THINK_CLOSE, 1)[0]
    return text.replace(THINK_OPEN, "", 1).strip()


def _number_pattern(number: str) -> str:
    """A whole number in text: not part of a longer number (a sentence's final period is fine)."""
    return rf"(?<![\d.]){re.escape(number)}(?!\.?\d)"


def states_number(line: str, number: str) -> bool:
    """Whether `line` mentions the value `number` (so "$16.00" states 16)."""
    try:
        value = float(number)
    except ValueError:
        return number in line
    return any(float(found) == value for found in _NUMBER.findall(line))


def _replace_number(text: str, old: str, new: str) -> str:
    return re.sub(_number_pattern(old), new, text)


def perturb(steps: list[str], final: str, rng: random.Random) -> str | None:
    """The steps with one intermediate result changed from its first mention on, and the final result
    changed too, so the error reaches the end; None when there is no result to change."""
    text = _THOUSANDS.sub(r"\1\2", "\n".join(steps))
    results = list(_RESULT.finditer(text))
    if not results:
        return None
    target = rng.choice(results[:-1] or results)
    old = target.group(1)
    delta = rng.choice([-3, -2, -1, 1, 2, 3, 7, 10])
    new = str(int(float(old)) + delta) if "." not in old else f"{float(old) + delta / 2:g}"
    head, tail = text[: target.start(1)], _replace_number(text[target.start(1) :], old, new)
    if final != old:
        tail = _replace_number(
            tail, final, str(int(float(final)) + delta + 1) if final.lstrip("-").isdigit() else final + "1"
        )
    return head + tail


def gsm8k_probe_trajectories(path=None, max_questions: int = 50, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    path = path or shipped_data("gsm8k", "test.jsonl")
    items = []
    for number, row in iter_rows(path):
        if len(items) >= 2 * max_questions:
            break
        steps, final, _ = parse_gsm8k_answer(row["answer"], source=str(path), row=number)
        steps = [_THOUSANDS.sub(r"\1\2", step) for step in steps]
        perturbed = perturb(steps, final, rng)
        if perturbed is None or states_number(perturbed.splitlines()[-1], final):
            continue  # keep questions where the change reaches the last step
        base = {"id": f"gsm8k-test-{number - 1}", "problem": row["question"], "answer": final}
        items.append({**base, "thought": "\n".join(steps), "correct": True})
        items.append({**base, "id": base["id"] + "-perturbed", "thought": perturbed, "correct": False})
    return items


def r1_probe_trajectories(path=None) -> list[dict]:
    path = path or shipped_data("reasoning_traces", "thought_anchors_r1distill_math.jsonl")
    return [
        {"id": row["id"], "problem": row["problem"], "answer": row["gt_answer"], "thought": row["reasoning"].strip(),
         "correct": bool(row["is_correct"])}
        for _, row in iter_rows(path)
    ]  # fmt: skip


def trajectory_file_probes(path: str) -> list[dict]:
    items = []
    for record in load_trajectories(path):
        flags = record["correct"] or [True] * len(record["trajectories"])
        for index, (text, ok) in enumerate(zip(record["trajectories"], flags, strict=True)):
            items.append({"id": f"{record['id']}-{index}", "problem": record["problem"], "answer": record["answer"],
                          "thought": thought_of(text), "correct": ok})  # fmt: skip
    return items


def probe_trajectories(source: str, max_items: int | None = None, seed: int = 0) -> list[dict]:
    """Trajectories from `gsm8k`, `r1_traces` or a canonical trajectory file."""
    if source == "gsm8k":
        items = gsm8k_probe_trajectories(max_questions=(max_items or 100) // 2 or 1, seed=seed)
    elif source == "r1_traces":
        items = r1_probe_trajectories()
    else:
        items = trajectory_file_probes(source)
    return items[:max_items] if max_items else items
