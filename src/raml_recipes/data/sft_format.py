"""Canonical trajectory records -> SFT rows, one per (question, distinct correct trajectory).

Rows are conversational prompt/completion pairs, so TRL's completion-only loss trains exactly the
assistant turn: the whole trajectory, `<think>` block included, and the end-of-turn token.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from ..prompts import SFT_QWEN72B_PROMPT
from .errors import DataError

logger = logging.getLogger(__name__)

# The default user prompt: the official SFT script's for the Qwen2.5-Math-72B rollouts (raml_recipes.prompts).
PAPER_SFT_PROMPT = SFT_QWEN72B_PROMPT
PROBLEM_PLACEHOLDER = "{problem}"
QUESTION_ID_COLUMN = "question_id"


@dataclass
class SFTDataStats:
    questions: int = 0
    questions_used: int = 0
    trajectories: int = 0
    incorrect_dropped: int = 0
    duplicates_dropped: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def render_prompt(template: str, problem: str) -> str:
    # Plain replacement, not str.format: math prompts contain literal braces such as "\boxed{}".
    return template.replace(PROBLEM_PLACEHOLDER, problem)


def check_prompt_template(template: str, field: str = "prompt_template") -> None:
    if PROBLEM_PLACEHOLDER not in template:
        raise ValueError(f"{field} must contain the placeholder {PROBLEM_PLACEHOLDER}; got {template!r}")


def prompt_messages(
    problem: str, prompt_template: str = PAPER_SFT_PROMPT, system_prompt: str | None = None
) -> list[dict]:
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages.append({"role": "user", "content": render_prompt(prompt_template, problem)})
    return messages


def render_prompt_text(
    tokenizer,
    problem: str,
    prompt_template: str = PAPER_SFT_PROMPT,
    system_prompt: str | None = None,
    enable_thinking: bool | None = None,
) -> str:
    """The full generation prompt for a question: chat template applied, assistant turn opened.

    `enable_thinking` is handed to the chat template (Qwen3's switch; templates without one ignore it);
    None leaves the template's default.
    """
    messages = prompt_messages(problem, prompt_template, system_prompt)
    extra = {} if enable_thinking is None else {"enable_thinking": enable_thinking}
    return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False, **extra)


def template_opens_thought(tokenizer) -> bool:
    """True when the chat template's generation prompt already opens `<think>` (R1-style templates)."""
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "1 + 1?"}], tokenize=False, add_generation_prompt=True
    )
    return text.rstrip().endswith("<think>")


def has_thinking_switch(tokenizer) -> bool:
    """True when the chat template renders differently with `enable_thinking` off (Qwen3-style templates)."""
    messages = [{"role": "user", "content": "1 + 1?"}]
    on, off = (
        tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False, enable_thinking=flag)
        for flag in (True, False)
    )
    return on != off


def build_sft_dataset(records, prompt_template: str = PAPER_SFT_PROMPT, system_prompt: str | None = None):
    """Expand canonical records into SFT rows with columns `question_id`, `prompt`, `completion`.

    Trajectories marked incorrect are dropped, and so are repeated texts within a question, so the
    rows of a question are its distinct correct trajectories. Returns (dataset, stats).
    """
    import datasets

    check_prompt_template(prompt_template)
    stats = SFTDataStats()
    rows = {QUESTION_ID_COLUMN: [], "prompt": [], "completion": []}
    for record in records:
        stats.questions += 1
        flags = record.get("correct") or [True] * len(record["trajectories"])
        seen = set()
        for text, ok in zip(record["trajectories"], flags, strict=True):
            if not ok:
                stats.incorrect_dropped += 1
                continue
            if text in seen:
                stats.duplicates_dropped += 1
                continue
            seen.add(text)
            rows[QUESTION_ID_COLUMN].append(record["id"])
            rows["prompt"].append(prompt_messages(record["problem"], prompt_template, system_prompt))
            rows["completion"].append([{"role": "assistant", "content": text}])
        stats.questions_used += bool(seen)
        stats.trajectories += len(seen)
    if not rows[QUESTION_ID_COLUMN]:
        raise DataError("no correct trajectories to train on")
    if stats.questions_used < stats.questions:
        logger.warning(
            "%d of %d questions have no correct trajectory and are skipped",
            stats.questions - stats.questions_used,
            stats.questions,
        )
    return datasets.Dataset.from_dict(rows), stats


def check_template_keeps_completion(tokenizer, row: dict) -> None:
    """Fail early when the chat template rewrites the assistant turn.

    Some templates (DeepSeek-R1's, Qwen3's for earlier turns) drop everything before `</think>` from
    assistant messages: the model would then be trained without its reasoning.
    """
    rendered = tokenizer.apply_chat_template(row["prompt"] + row["completion"], tokenize=False)
    content = row["completion"][0]["content"]
    if content not in rendered:
        raise ValueError(
            "The chat template does not render the assistant turn verbatim (it likely strips the <think> block), "
            "so the reasoning would not be trained. Set `chat_template_path` to a template that keeps it."
        )
