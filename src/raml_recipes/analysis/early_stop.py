"""Forced early stopping: cut the thought short, force the answer, and grade it.

For each correct trajectory, the thought is truncated at fractions of its length (and at token
budgets), then `\\n\\n**Final Answer**\\n\\boxed{` is appended and the model completes the box
greedily. The paper's no-thinking prompt ("Therefore, after all this, I believe the answer is",
right where the thought would start) is the zero point.
"""

from __future__ import annotations

from collections.abc import Sequence

from tqdm.auto import tqdm

from ..evaluation.generation import Decoding, TransformersGenerator
from ..rewards import grade_many
from .confidence import FINAL_ANSWER_MARKER

NO_THINKING = "Therefore, after all this, I believe the answer is"
DEFAULT_FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def _box_content(text: str) -> str:
    """The text up to the brace that closes an already opened `\\boxed{`."""
    depth = 0
    for index, char in enumerate(text):
        if char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return text[:index]
            depth -= 1
    return text


def forced_answer_accuracy(
    model,
    tokenizer,
    items: Sequence[dict],
    prompts: Sequence[str],
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    budgets: Sequence[int] = (),
    batch_size: int = 16,
    answer_tokens: int = 24,
) -> dict:
    """Accuracy of the forced answer at each cut, plus the no-thinking point; items need `thought`, `answer`."""
    cuts = [("fraction", f) for f in fractions] + [("budget", b) for b in budgets]
    runs = []  # (gold answer, kind, value, generation context)
    for item, prompt in zip(items, prompts, strict=True):
        thought_ids = tokenizer(item["thought"], add_special_tokens=False)["input_ids"]
        for kind, value in cuts:
            keep = (
                round(value * len(thought_ids)) if kind == "fraction" else min(int(value), len(thought_ids))
            )
            prefix = tokenizer.decode(thought_ids[:keep], skip_special_tokens=True)
            runs.append((item["answer"], kind, value, prompt + prefix + FINAL_ANSWER_MARKER))
        runs.append((item["answer"], "no_thinking", 0, prompt + NO_THINKING))
    generator = TransformersGenerator(
        model, tokenizer, Decoding(temperature=0.0, max_new_tokens=answer_tokens), batch_size
    )
    with tqdm(total=len(runs), desc="Forced answers", unit="answer") as bar:
        outputs = generator.generate([(context, 1) for *_, context in runs], bar.update)
    pairs = [
        (
            gold,
            "The answer is " + sample.text
            if kind == "no_thinking"
            else "\\boxed{" + _box_content(sample.text) + "}",
        )
        for (gold, kind, _, _), (sample,) in zip(runs, outputs, strict=True)
    ]
    table: dict[tuple, list[bool]] = {}
    for (_, kind, value, _), verdict in zip(runs, grade_many(pairs), strict=True):
        table.setdefault((kind, value), []).append(bool(verdict.correct))

    def accuracy(kind: str) -> dict[str, float]:
        return {str(value): sum(v) / len(v) for (k, value), v in table.items() if k == kind}

    return {
        "trajectories": len(items),
        "by_fraction": accuracy("fraction"),
        "by_budget": accuracy("budget"),
        "no_thinking": accuracy("no_thinking").get("0"),
    }
