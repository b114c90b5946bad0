"""The paper's model summarizer and its answer-reading check (DESIGN.md §1).

1. The thought (text before `</think>`, cut before "**Final Answer**") is cut to a token budget and
   put into the summary prompt; the summarizer model writes a summary that leaves out the answer.
2. A reasoning model reads the answer off the summary: its prompt for the problem + the summary +
   "\\n\\n**Final Answer**\\n\\boxed{", greedy, up to the brace that closes the box. The summary is
   kept when that answer grades correct. (The paper stops at the first "}"; we stop at the brace
   that balances, so `\\frac{1}{2}` is read whole.)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from ..evaluation.generation import build_generator
from ..models.loading import load_tokenizer
from ..prompts import render_prompt_text
from .config import TRAJECTORY_PLACEHOLDER, SummarizeConfig


def truncate_to_tokens(tokenizer, text: str, max_tokens: int | None) -> str:
    """The longest prefix of `text` within `max_tokens` tokens (None: no cap), cut at a token boundary."""
    if max_tokens is None:
        return text
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return text if len(ids) <= max_tokens else tokenizer.decode(ids[:max_tokens])


def boxed_content(completion: str) -> str | None:
    """The text up to the brace that closes an already opened `\\boxed{`; None if it never closes."""
    depth = 1
    for position, char in enumerate(completion):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth == 0:
            return completion[:position]
    return None


@dataclass
class Models:
    """Generators for the summarizer (sampling) and the reader (greedy); one model when they coincide."""

    summarizer: object
    summarizer_tokenizer: object
    reader: object
    reader_tokenizer: object


def load_models(config: SummarizeConfig) -> Models:
    summarizer_tokenizer = load_tokenizer(config.summarizer_model_name_or_path)
    summarizer = build_generator(
        config, config.summarizer_model_name_or_path, summarizer_tokenizer, config.summary_decoding
    )
    if config.reader_model_name_or_path == config.summarizer_model_name_or_path:
        reader, reader_tokenizer = copy.copy(summarizer), summarizer_tokenizer
        reader.decoding = config.reader_decoding  # same weights, greedy decoding
    else:
        reader_tokenizer = load_tokenizer(config.reader_model_name_or_path)
        reader = build_generator(
            config, config.reader_model_name_or_path, reader_tokenizer, config.reader_decoding
        )
    return Models(summarizer, summarizer_tokenizer, reader, reader_tokenizer)


def summary_prompts(models: Models, config: SummarizeConfig, thoughts: list[str]) -> list[str]:
    prompts = []
    for thought in thoughts:
        thought = truncate_to_tokens(models.summarizer_tokenizer, thought, config.max_thought_tokens)
        message = config.summary_prompt.replace(TRAJECTORY_PLACEHOLDER, thought)
        prompts.append(
            models.summarizer_tokenizer.apply_chat_template(
                [{"role": "user", "content": message}], add_generation_prompt=True, tokenize=False
            )
        )
    return prompts


def summarize_thoughts(models: Models, config: SummarizeConfig, thoughts: list[str]) -> list:
    """One summary `Sample` per thought."""
    samples = models.summarizer.generate(
        [(prompt, 1) for prompt in summary_prompts(models, config, thoughts)]
    )
    return [s[0] for s in samples]


def reader_prompts(
    models: Models, config: SummarizeConfig, problems: list[str], summaries: list[str]
) -> list[str]:
    return [
        render_prompt_text(
            models.reader_tokenizer, problem, config.reader_prompt_template, config.reader_system_prompt
        )
        + summary.strip()
        + config.reader_suffix
        for problem, summary in zip(problems, summaries, strict=True)
    ]


def read_answers(
    models: Models, config: SummarizeConfig, problems: list[str], summaries: list[str]
) -> list[str]:
    """The reader's answer for each summary, as `\\boxed{...}` text ("" when the box never closes)."""
    prompts = reader_prompts(models, config, problems, summaries)
    outputs = models.reader.generate([(prompt, 1) for prompt in prompts])
    answers = []
    for output in outputs:
        content = boxed_content(output[0].text)
        answers.append("" if content is None else "\\boxed{" + content + "}")
    return answers
