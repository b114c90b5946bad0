"""Generation recipes: the settings every sampling stage shares (`GenerationArguments`, composed of the
shared groups of `raml_recipes.configs`), and the `raml evaluate` (`EvaluationConfig`) and `raml rollouts`
(`RolloutConfig`) recipes built on them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..checks import check_counts
from ..configs import (
    GradingArguments,
    ModelArguments,
    OverwriteArguments,
    PromptArguments,
    RuntimeArguments,
    SamplingArguments,
    ShardArguments,
    VLLMArguments,
    check_groups,
    with_defaults,
)
from ..lineage import recorded_prompt
from ..prompts import PAPER_SFT_PROMPT, check_prompt_template
from .generation import Decoding


@dataclass
class GenerationArguments(
    ModelArguments, RuntimeArguments, VLLMArguments, SamplingArguments,
    with_defaults(PromptArguments, prompt_template=None),
):  # fmt: skip
    """Model, decoding, prompts and back-end: how a stage samples completions."""

    PROMPT_FROM_RECORD = True  # a null prompt_template / system_prompt is read from the model's run record

    num_samples: int = field(default=1, metadata={"help": "n: samples per question."})
    max_new_tokens: int = field(default=1024, metadata={"help": "Generation budget per sample."})
    enable_thinking: bool | None = field(
        default=None,
        metadata={
            "help": "Passed to the chat template (Qwen3's thinking switch; false = no-thinking mode). null: the "
            "template's default."
        },
    )

    def __post_init__(self):
        check_groups(self)
        check_counts(self, "num_samples", "max_new_tokens")

    def resolve_prompts(self) -> dict[str, str]:
        """Fill the prompt settings left null from the model's run record; returns where each came from.

        A model is evaluated with the prompt it was trained with unless the recipe says otherwise: a GRPO
        model trained on a system prompt and evaluated without it is measured off its own protocol.
        """
        record = recorded_prompt(self.model_name_or_path)
        defaults = {"prompt_template": PAPER_SFT_PROMPT, "system_prompt": None}
        sources = {}
        for key, default in defaults.items():
            if getattr(self, key) is not None:
                sources[key] = "recipe"
            elif record is not None and key in record:
                setattr(self, key, record[key])
                sources[key] = "run record"
            else:
                setattr(self, key, default)
                sources[key] = "default"
        if self.system_prompt == "":
            self.system_prompt = None
        check_prompt_template(self.prompt_template)
        return sources

    @property
    def decoding(self) -> Decoding:
        return Decoding(self.temperature, self.top_p, self.top_k, self.max_new_tokens, self.seed)


@dataclass
class EvaluationConfig(GenerationArguments, GradingArguments, OverwriteArguments):
    """`raml evaluate` settings (TrlParser YAML + command-line overrides)."""

    output_dir: str | None = field(
        default=None, metadata={"help": "Where samples.jsonl, summary.json, results.md go (resumable). Required."}
    )
    benchmarks: list[str] = field(
        default_factory=lambda: ["math500"],
        metadata={
            "help": "Named benchmarks (math500, math500_l5, aime24, aime25, amc23, gsm8k, minerva, olympiadbench, "
            "livemathbench_hard, gpqa_diamond) or files / Hub ids."
        },
    )
    max_questions: int | None = field(
        default=None, metadata={"help": "Use the first N questions of each benchmark."}
    )
    ks: list[int] = field(
        default_factory=lambda: [1], metadata={"help": "k values for pass@k, mG-pass@k, maj@k."}
    )
    max_new_tokens_by_benchmark: dict | str | None = field(
        default=None,
        metadata={
            "help": "Per-benchmark budgets that replace max_new_tokens, e.g. {math500: 16384} (a JSON string on "
            "the command line)."
        },
    )

    def __post_init__(self):
        super().__post_init__()
        if not self.output_dir:
            raise ValueError("output_dir is required: the folder for samples.jsonl, summary.json and results.md")
        check_counts(self, "max_questions")
        bad = [k for k in self.ks if not 1 <= k <= self.num_samples]
        if bad:
            raise ValueError(f"ks must lie in 1..num_samples={self.num_samples}, got {bad}")
        if not self.benchmarks:
            raise ValueError("benchmarks must name at least one benchmark")
        if isinstance(self.max_new_tokens_by_benchmark, str):
            try:
                self.max_new_tokens_by_benchmark = json.loads(self.max_new_tokens_by_benchmark)
            except json.JSONDecodeError as error:
                raise ValueError(f"max_new_tokens_by_benchmark is not valid JSON: {error}") from None
        budgets = self.max_new_tokens_by_benchmark or {}
        if not isinstance(budgets, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in budgets.values()
        ):
            raise ValueError(
                f"max_new_tokens_by_benchmark must map benchmark names to positive token counts, got {budgets!r}"
            )
        unknown = sorted(set(budgets) - set(self.benchmarks))
        if unknown:
            raise ValueError(
                f"max_new_tokens_by_benchmark names {', '.join(unknown)}, which benchmarks does not list "
                f"({', '.join(self.benchmarks)})"
            )

    def max_new_tokens_for(self, benchmark: str) -> int:
        return (self.max_new_tokens_by_benchmark or {}).get(benchmark, self.max_new_tokens)

    def fingerprint(self) -> dict:
        """The settings a resumed run must share with the run that wrote the output folder (prompts resolved)."""
        keys = ("model_name_or_path", "model_revision", "dtype", "num_samples", "temperature", "top_p", "top_k",
                "max_new_tokens", "max_new_tokens_by_benchmark", "prompt_template", "system_prompt",
                "enable_thinking", "chat_template_path", "seed", "grading")  # fmt: skip
        return {key: getattr(self, key) for key in keys}


@dataclass
class RolloutConfig(GenerationArguments, ShardArguments):
    """`raml rollouts` (data_prep/generate_rollouts.py): n samples per question from a teacher, one file."""

    questions: str | None = field(
        default=None,
        metadata={"help": "Named benchmark, data file, save_to_disk folder or Hub id with questions and golds. Required."},
    )
    split: str = field(default="train", metadata={"help": "Split of a folder or Hub dataset."})
    output: str | None = field(
        default=None, metadata={"help": "Rollout .jsonl (appended; a rerun skips the questions in it). Required."}
    )
    max_questions: int | None = field(default=None, metadata={"help": "Use the first N questions."})

    def __post_init__(self):
        super().__post_init__()
        for name in ("questions", "output"):
            if not getattr(self, name):
                raise ValueError(f"{name} is required")
        check_counts(self, "max_questions")
