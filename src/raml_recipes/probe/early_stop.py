"""Forced early stopping: cut the thought short, force the answer, and grade it.

For each correct trajectory, the thought is truncated at fractions of its length (and at token
budgets), then `\\n\\n**Final Answer**\\n\\boxed{` is appended and the model completes the box
greedily. The zero point is the model without a thought: where the chat template has a thinking switch
(Qwen3's `enable_thinking`), the prompt rendered with it off, answered greedily in full; otherwise the
paper's no-thinking delimiter ("Therefore, after all this, I believe the answer is") right after
`<think>`, completed greedily for a few tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

from tqdm.auto import tqdm

from ..evaluation.generation import Decoding, TransformersGenerator
from ..prompts import NO_THINKING_PHRASE, template_opens_thought
from ..rewards import grade_many
from ..rewards.grading import THINK_OPEN
from .confidence import FINAL_ANSWER_MARKER

NO_THINKING = NO_THINKING_PHRASE
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
    no_thinking_prompts: Sequence[str] | None = None,
    no_thinking_tokens: int = 1024,
) -> dict:
    """Accuracy of the forced answer at each cut, plus the no-thinking point; items need `thought`, `answer`.

    `no_thinking_prompts` are the prompts rendered with the template's thinking switch off: given, the
    no-thinking point is their greedy answer (up to `no_thinking_tokens`); else the delimiter is used.
    """
    think_open = "" if template_opens_thought(tokenizer) else THINK_OPEN + "\n"
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
        if no_thinking_prompts is None:
            runs.append((item["answer"], "no_thinking", 0, prompt + think_open + NO_THINKING))
    generator = TransformersGenerator(
        model, tokenizer, Decoding(temperature=0.0, max_new_tokens=answer_tokens), batch_size
    )
    with tqdm(total=len(runs), desc="Forced answers", unit="answer") as bar:
        outputs = generator.generate([(context, 1) for *_, context in runs], bar.update)
    if no_thinking_prompts is not None:  # the template's own no-thinking mode: a full greedy answer
        generator.decoding = Decoding(temperature=0.0, max_new_tokens=no_thinking_tokens)
        with tqdm(total=len(items), desc="No-thinking answers", unit="answer") as bar:
            outputs += generator.generate([(p, 1) for p in no_thinking_prompts], bar.update)
        runs += [(item["answer"], "no_thinking_switch", 0, p) for item, p in zip(items, no_thinking_prompts, strict=True)]
    pairs = [
        (
            gold,
            "The answer is " + sample.text
            if kind == "no_thinking"
            else sample.text
            if kind == "no_thinking_switch"
            else "\\boxed{" + _box_content(sample.text) + "}",
        )
        for (gold, kind, _, _), (sample,) in zip(runs, outputs, strict=True)
    ]
    table: dict[tuple, list[bool]] = {}
    for (_, kind, value, _), verdict in zip(runs, grade_many(pairs), strict=True):
        table.setdefault((kind, value), []).append(bool(verdict.correct))

    def accuracy(kind: str) -> dict[str, float]:
        return {str(value): sum(v) / len(v) for (k, value), v in table.items() if k == kind}

    mode = "no_thinking" if no_thinking_prompts is None else "no_thinking_switch"
    return {
        "trajectories": len(items),
        "by_fraction": accuracy("fraction"),
        "by_budget": accuracy("budget"),
        "no_thinking": accuracy(mode).get("0"),
        "no_thinking_mode": "delimiter" if no_thinking_prompts is None else "enable_thinking=False",
    }
