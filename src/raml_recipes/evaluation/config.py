"""The evaluation recipe: model, benchmarks, samples per question, decoding, back-end, outputs."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..data.sft_format import PAPER_SFT_PROMPT, check_prompt_template
from ..models.loading import DTYPES
from .generation import Decoding

BACKENDS = ("transformers", "vllm")


@dataclass
class EvaluationConfig:
    """`raml evaluate` settings (TrlParser YAML + command-line overrides)."""

    model_name_or_path: str = field(metadata={"help": "Hub id, local folder or embedded:<name>."})
    output_dir: str = field(
        metadata={"help": "Where samples.jsonl, summary.json, results.md go (resumable)."}
    )
    model_revision: str | None = field(
        default=None, metadata={"help": "Model revision (branch, tag or commit)."}
    )
    dtype: str = field(default="auto", metadata={"help": "Weights dtype.", "choices": list(DTYPES)})
    benchmarks: list[str] = field(
        default_factory=lambda: ["math500"],
        metadata={
            "help": "Named benchmarks (math500, math500_l5, aime24, aime25, amc23, gsm8k, minerva, olympiadbench) "
            "or files / Hub ids."
        },
    )
    max_questions: int | None = field(
        default=None, metadata={"help": "Use the first N questions of each benchmark."}
    )
    num_samples: int = field(default=1, metadata={"help": "n: samples per question."})
    ks: list[int] = field(
        default_factory=lambda: [1], metadata={"help": "k values for pass@k, mG-pass@k, maj@k."}
    )
    temperature: float = field(default=1.0, metadata={"help": "Sampling temperature (0: greedy)."})
    top_p: float = field(default=0.8, metadata={"help": "Nucleus sampling."})
    top_k: int = field(default=50, metadata={"help": "Top-k sampling."})
    max_new_tokens: int = field(default=1024, metadata={"help": "Generation budget per sample."})
    prompt_template: str = field(default=PAPER_SFT_PROMPT, metadata={"help": "User prompt with {problem}."})
    system_prompt: str | None = field(default=None, metadata={"help": "Optional system message."})
    chat_template_path: str | None = field(
        default=None, metadata={"help": "A .jinja file or tokenizer to take the template from."}
    )
    backend: str = field(
        default="transformers", metadata={"help": "Generation back-end.", "choices": list(BACKENDS)}
    )
    batch_size: int = field(default=16, metadata={"help": "Sequences per generate call (transformers)."})
    seed: int = field(default=42, metadata={"help": "Sampling seed."})
    grading_workers: int | None = field(
        default=None, metadata={"help": "Grading processes (default: CPU cores)."}
    )
    grading_deadline: float | None = field(
        default=None, metadata={"help": "Seconds allowed per graded sample."}
    )
    vllm_gpu_memory_utilization: float = field(
        default=0.9, metadata={"help": "vLLM: fraction of GPU memory."}
    )
    vllm_tensor_parallel_size: int = field(default=1, metadata={"help": "vLLM: GPUs per model."})
    vllm_max_model_len: int | None = field(default=None, metadata={"help": "vLLM: context length."})

    def __post_init__(self):
        if self.num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {self.num_samples}")
        bad = [k for k in self.ks if not 1 <= k <= self.num_samples]
        if bad:
            raise ValueError(f"ks must lie in 1..num_samples={self.num_samples}, got {bad}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if not self.benchmarks:
            raise ValueError("benchmarks must name at least one benchmark")
        check_prompt_template(self.prompt_template)

    @property
    def decoding(self) -> Decoding:
        return Decoding(self.temperature, self.top_p, self.top_k, self.max_new_tokens, self.seed)

    def fingerprint(self) -> dict:
        """The settings a resumed run must share with the run that wrote the output folder."""
        keys = ("model_name_or_path", "model_revision", "dtype", "num_samples", "temperature", "top_p", "top_k",
                "max_new_tokens", "prompt_template", "system_prompt", "chat_template_path", "seed")  # fmt: skip
        return {key: getattr(self, key) for key in keys}
