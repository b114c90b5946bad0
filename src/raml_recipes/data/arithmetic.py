"""Short arithmetic questions, and worked trajectories for them: the demo's task.

The embedded SmolLM2-135M-Instruct answers about one in ten of them before training (measured on a
pilot split, disjoint from the held-out questions: docs/demo.md), so supervised and reinforcement training
have room to move the held-out accuracy, and the GRPO group rewards differ. Five kinds, with
small integers: `a + b`, `a - b`, `a times b`, `a + b * c`, and a two-step word problem.

Each question has three renderings of one computation, ending in `\\boxed{answer}` after the thought:
- `plain`: the computation, one step per line;
- `worded`: the same steps in sentences;
- `checked`: the steps, then a re-check that only restates known numbers (what the summarizer's
  `drop_verification` rule removes: the compressed-trajectory student learns the shorter form).
"""

from __future__ import annotations

import random

KINDS = ("add", "sub", "mul", "add_mul", "items")
SOURCE = "arithmetic"


def draw_problem(rng: random.Random, kinds: tuple[str, ...] = KINDS, max_operand: int = 20) -> dict:
    """One question: `{kind, numbers, problem, answer}`; with the defaults, the draws `arithmetic_problems`
    has always made (the GRPO prompt file depends on them)."""
    kind = rng.choice(list(kinds))
    a, b, c = rng.randint(1, max_operand), rng.randint(1, max_operand), rng.randint(2, 5)
    if kind == "add":
        numbers, problem, answer = (a, b), f"What is {a} + {b}?", a + b
    elif kind == "sub":
        a, b = max(a, b), min(a, b)
        numbers, problem, answer = (a, b), f"What is {a} - {b}?", a - b
    elif kind == "mul":
        a, b = rng.randint(2, 9), rng.randint(2, 9)
        numbers, problem, answer = (a, b), f"What is {a} times {b}?", a * b
    elif kind == "add_mul":
        numbers, problem, answer = (a, b, c), f"What is {a} + {b} * {c}?", a + b * c
    else:
        numbers = (a, b, c)
        problem = f"Tom has {a} apples. He buys {c} bags with {b} apples each. How many apples does he have now?"
        answer = a + b * c
    return {"kind": kind, "numbers": list(numbers), "problem": problem, "answer": str(answer)}


def arithmetic_problems(
    count: int, seed: int = 0, kinds: tuple[str, ...] = KINDS, max_operand: int = 20
) -> list[dict]:
    """`count` distinct questions, reproducible from `seed`: `{id, problem, answer, source, kind, numbers}`."""
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown or not kinds:
        raise ValueError(f"kinds must name some of {', '.join(KINDS)}, got {list(kinds)}")
    rng = random.Random(seed)
    rows, seen = [], set()
    while len(rows) < count:
        row = draw_problem(rng, kinds, max_operand)
        if row["problem"] in seen:
            continue
        seen.add(row["problem"])
        rows.append({"id": f"{SOURCE}-{seed}-{len(rows)}", **row, "source": SOURCE})
    return rows


def _steps(kind: str, numbers: list[int]) -> tuple[list[tuple[str, str]], list[str]]:
    """(plain line, worded line) per step, and the re-check's calculations."""
    if kind == "add":
        a, b = numbers
        return [(f"{a} + {b} = {a + b}", f"Adding {b} to {a} gives {a + b}.")], [f"{a + b} - {b} = {a}"]
    if kind == "sub":
        a, b = numbers
        return [(f"{a} - {b} = {a - b}", f"Taking {b} from {a} leaves {a - b}.")], [f"{a - b} + {b} = {a}"]
    if kind == "mul":
        a, b = numbers
        return [(f"{a} × {b} = {a * b}", f"{a} groups of {b} make {a * b}.")], [f"{b} × {a} = {a * b}"]
    a, b, c = numbers
    product, total = b * c, a + b * c
    if kind == "add_mul":
        lines = [(f"{b} × {c} = {product}", f"Multiplication comes first: {b} × {c} = {product}."),
                 (f"{a} + {product} = {total}", f"Then {a} + {product} = {total}.")]  # fmt: skip
    else:
        lines = [(f"{c} × {b} = {product}", f"The {c} bags hold {c} × {b} = {product} apples."),
                 (f"{a} + {product} = {total}", f"With the {a} he had: {a} + {product} = {total} apples.")]  # fmt: skip
    return lines, [f"{total} - {product} = {a}", f"{product} ÷ {c} = {b}"]


def _render(lines: list[str], answer: str) -> str:
    return "<think>\n" + "\n".join(lines) + "\n</think>\n\nThe answer is \\boxed{" + answer + "}."


def trajectories(row: dict) -> list[str]:
    """The plain, worded and checked renderings of a question's computation (distinct texts)."""
    steps, checks = _steps(row["kind"], row["numbers"])
    plain = [line for line, _ in steps]
    renderings = [
        _render(plain, row["answer"]),
        _render([worded for _, worded in steps], row["answer"]),
        # The check ends by restating the answer, as checks in long traces do: it is what the summarizer's
        # stop_at_answer rule cuts (a thought must end on its answer to pass the summarizer's verdict).
        _render([*plain, f"Let me check: {' and '.join(checks)}, so {row['answer']} is right."], row["answer"]),
    ]
    return list(dict.fromkeys(renderings))


def demo_split(
    train: int, heldout: int, pilot: int = 0, seed: int = 0, kinds: tuple[str, ...] = KINDS, max_operand: int = 20
) -> tuple[list[dict], list[dict], list[dict]]:
    """Training records (canonical, three trajectories each), held-out and pilot questions, disjoint.

    One pool of distinct questions is drawn from `seed`: the held-out questions first, then the pilot
    questions (for choosing the task and the settings without touching the held-out ones), then the
    training questions, so neither held-out nor pilot questions change with the training size.
    """
    pool = arithmetic_problems(heldout + pilot + train, seed, kinds, max_operand)
    held, pilots, rest = pool[:heldout], pool[heldout : heldout + pilot], pool[heldout + pilot :]
    records = [
        {**row, "trajectories": (texts := trajectories(row)), "correct": [True] * len(texts)} for row in rest
    ]
    return records, held, pilots
