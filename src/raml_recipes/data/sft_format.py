"""Canonical trajectory records -> SFT rows, one per (question, distinct correct trajectory).

Rows are conversational prompt/completion pairs, so TRL's completion-only loss trains exactly the
assistant turn: the whole trajectory, `<think>` block included, and the end-of-turn token.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from ..errors import DataError
from ..prompts import PAPER_SFT_PROMPT, check_prompt_template, prompt_messages

logger = logging.getLogger(__name__)

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
