"""Generation recipes: the settings every sampling stage shares (`GenerationArguments`), and the
`raml evaluate` (`EvaluationConfig`) and `raml rollouts` (`RolloutConfig`) recipes built on them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..checks import check_counts, check_positive, check_sampling
from ..data.sft_format import PAPER_SFT_PROMPT, check_prompt_template
from ..identity import OverwriteArguments
from ..lineage import recorded_prompt
from ..models.loading import DTYPES
from ..rewards.grading import MODES
from ..runs import parse_shard
from .generation import Decoding

BACKENDS = ("transformers", "vllm")


@dataclass
class GenerationArguments:
    """Model, decoding, prompts and back-end: how a stage samples completions."""

    model_name_or_path: str = field(metadata={"help": "Hub id, local folder or embedded:<name>."})
    model_revision: str | None = field(
        default=None, metadata={"help": "Model revision (branch, tag or commit)."}
    )
    dtype: str = field(default="auto", metadata={"help": "Weights dtype.", "choices": list(DTYPES)})
    trust_remote_code: bool = field(
        default=False,
        metadata={"help": "Run the model repository's own code (architectures Transformers lacks); only for "
                  "repositories you trust."},
    )  # fmt: skip
    num_samples: int = field(default=1, metadata={"help": "n: samples per question."})
    temperature: float = field(default=1.0, metadata={"help": "Sampling temperature (0: greedy)."})
    top_p: float = field(default=0.8, metadata={"help": "Nucleus sampling."})
    top_k: int = field(default=50, metadata={"help": "Top-k sampling (0 or -1: off)."})
    max_new_tokens: int = field(default=1024, metadata={"help": "Generation budget per sample."})
    prompt_template: str | None = field(
        default=None,
        metadata={
            "help": "User prompt with {problem}. null: the prompt the model was trained with (its run record), "
            "else the default SFT prompt."
        },
    )
    system_prompt: str | None = field(
        default=None,
        metadata={
            "help": "System message. null: the one the model was trained with (its run record), else none; "
            '"" for none whatever the record says.'
        },
    )
    enable_thinking: bool | None = field(
        default=None,
        metadata={
            "help": "Passed to the chat template (Qwen3's thinking switch; false = no-thinking mode). null: the "
            "template's default."
        },
    )
    chat_template_path: str | None = field(
        default=None, metadata={"help": "A .jinja file or tokenizer to take the template from."}
    )
    backend: str = field(
        default="transformers", metadata={"help": "Generation back-end.", "choices": list(BACKENDS)}
    )
    batch_size: int = field(default=16, metadata={"help": "Sequences per generate call (transformers)."})
    seed: int = field(default=42, metadata={"help": "Sampling seed."})
    vllm_gpu_memory_utilization: float = field(
        default=0.9, metadata={"help": "vLLM: fraction of GPU memory."}
    )
    vllm_tensor_parallel_size: int = field(default=1, metadata={"help": "vLLM: GPUs per model."})
    vllm_max_model_len: int | None = field(default=None, metadata={"help": "vLLM: context length."})
    vllm_enforce_eager: bool = field(
        default=False,
        metadata={"help": "vLLM: no compiled graphs (starts in seconds instead of minutes; slower per token)."},
    )

    def __post_init__(self):
        check_counts(self, "num_samples", "max_new_tokens", "batch_size", "vllm_tensor_parallel_size")
        check_counts(self, "vllm_max_model_len", none_means="the model's own")
        check_sampling(self)
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.prompt_template is not None:
            check_prompt_template(self.prompt_template)

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
class EvaluationConfig(GenerationArguments, OverwriteArguments):
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
    grading: str = field(
        default="math_verify",
        metadata={
            "help": "math_verify: math-verify's verdicts (the paper's evaluator); lenient: also units, times, "
            "rounded decimals and identities (raml_recipes.rewards.lenient).",
            "choices": ["math_verify", "lenient"],
        },
    )
    grading_workers: int | None = field(
        default=None, metadata={"help": "Grading processes (default: CPU cores)."}
    )
    grading_deadline: float | None = field(
        default=None, metadata={"help": "Seconds allowed per graded sample."}
    )

    def __post_init__(self):
        super().__post_init__()
        if not self.output_dir:
            raise ValueError("output_dir is required: the folder for samples.jsonl, summary.json and results.md")
        check_counts(self, "max_questions")
        check_counts(self, "grading_workers", none_means="one per CPU core")
        check_positive(self, "grading_deadline")
        bad = [k for k in self.ks if not 1 <= k <= self.num_samples]
        if bad:
            raise ValueError(f"ks must lie in 1..num_samples={self.num_samples}, got {bad}")
        if not self.benchmarks:
            raise ValueError("benchmarks must name at least one benchmark")
        if self.grading not in MODES:
            raise ValueError(f"grading must be one of {', '.join(MODES)}, got {self.grading!r}")
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
class RolloutConfig(GenerationArguments):
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
    shard: str = field(default="0/1", metadata={"help": "i/n: this job takes every n-th question starting at i."})

    def __post_init__(self):
        super().__post_init__()
        for name in ("questions", "output"):
            if not getattr(self, name):
                raise ValueError(f"{name} is required")
        check_counts(self, "max_questions")
        parse_shard(self.shard)
