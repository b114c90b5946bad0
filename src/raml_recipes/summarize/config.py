"""The summarization recipe: which trajectories, which compressor, how to verify, where to write."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..checks import check_counts, check_positive, check_sampling
from ..data.sft_format import PAPER_SFT_PROMPT, check_prompt_template
from ..evaluation.generation import Decoding
from ..identity import OverwriteArguments
from ..models.loading import DTYPES
from ..prompts import FINAL_ANSWER_MARKER, SUMMARY_PROMPT
from ..runs import parse_shard
from ..training.wandb_args import WandbArguments
from .rules import RULES
from .segments import GRANULARITIES

METHODS = ("rules", "model")
BACKENDS = ("transformers", "vllm")
ON_REJECT = ("drop", "keep_long")
REPORT_TO = ("none", "wandb")
TRAJECTORY_PLACEHOLDER = "{trajectory}"
# The paper's summarization prompt and answer-reading suffix, verbatim (raml_recipes.prompts).
PAPER_SUMMARY_PROMPT = SUMMARY_PROMPT
PAPER_READER_SUFFIX = FINAL_ANSWER_MARKER


@dataclass
class SummarizeConfig(WandbArguments, OverwriteArguments):
    """`raml summarize` settings (TrlParser YAML + command-line overrides); with `report_to: [wandb]` the
    finished summary is logged to a W&B run (`WandbArguments`: project, entity, group)."""

    dataset_name: str = field(
        metadata={"help": "Canonical trajectory dataset: file, save_to_disk folder or Hub id."}
    )
    output_dir: str = field(
        metadata={"help": "Rows, the compressed dataset, summary.json and the histogram."}
    )
    student_tokenizer: str = field(
        metadata={"help": "Tokenizer the long and short token counts are taken with (the student's)."}
    )
    dataset_split: str = field(default="train", metadata={"help": "Split, for folders and Hub ids."})
    max_questions: int | None = field(default=None, metadata={"help": "Use the first N questions."})
    only_correct: bool = field(
        default=True, metadata={"help": "Skip trajectories whose `correct` flag is false."}
    )
    method: str = field(
        default="rules",
        metadata={"help": "rules (no model) or model (a summarizer model).", "choices": list(METHODS)},
    )
    rules: list[str] = field(
        default_factory=lambda: list(RULES), metadata={"help": f"Rules applied in order: {', '.join(RULES)}."}
    )
    granularity: str = field(
        default="paragraph",
        metadata={"help": "Units the rules keep or drop.", "choices": list(GRANULARITIES)},
    )
    on_reject: str = field(
        default="drop",
        metadata={"help": "A compression that fails verification: drop it, or keep the long trajectory.",
                  "choices": list(ON_REJECT)},
    )  # fmt: skip
    # Model summarizer (method: model)
    summarizer_model_name_or_path: str | None = field(
        default=None, metadata={"help": "The summarizer model."}
    )
    summary_prompt: str = field(
        default=PAPER_SUMMARY_PROMPT,
        metadata={"help": "User message with {trajectory} (the paper's by default)."},
    )
    max_thought_tokens: int = field(
        default=24576, metadata={"help": "The thought is cut to this many summarizer tokens."}
    )
    temperature: float = field(default=1.0, metadata={"help": "Summarizer sampling temperature (0: greedy)."})
    top_p: float = field(default=1.0, metadata={"help": "Summarizer nucleus sampling."})
    top_k: int = field(default=0, metadata={"help": "Summarizer top-k (0: off)."})
    max_summary_tokens: int = field(default=8192, metadata={"help": "Summary length budget."})
    # Answer reading (method: model): prompt + summary + suffix, greedy, up to the closing brace
    reader_model_name_or_path: str | None = field(
        default=None, metadata={"help": "The reasoning model that reads the answer off a summary."}
    )
    reader_prompt_template: str = field(
        default=PAPER_SFT_PROMPT, metadata={"help": "The reader's user prompt, with {problem}."}
    )
    reader_system_prompt: str | None = field(default=None, metadata={"help": "The reader's system message."})
    reader_suffix: str = field(default=PAPER_READER_SUFFIX, metadata={"help": "Text after the summary."})
    reader_max_tokens: int = field(
        default=64, metadata={"help": "Tokens the reader may spend on the answer."}
    )
    # Execution
    backend: str = field(
        default="transformers", metadata={"help": "Generation back-end.", "choices": list(BACKENDS)}
    )
    dtype: str = field(default="auto", metadata={"help": "Weights dtype.", "choices": list(DTYPES)})
    batch_size: int = field(default=8, metadata={"help": "Sequences per generate call (transformers)."})
    trajectories_per_chunk: int = field(
        default=16, metadata={"help": "Trajectories compressed, verified and appended together."}
    )
    shard: str = field(
        default="0/1", metadata={"help": "i/n: this job takes every n-th question from the i-th."}
    )
    seed: int = field(default=42, metadata={"help": "Sampling seed."})
    grading: str = field(
        default="math_verify",
        metadata={"help": "How read-off answers are graded: math_verify or lenient.", "choices": ["math_verify", "lenient"]},
    )
    grading_workers: int | None = field(default=None, metadata={"help": "Grading processes."})
    grading_deadline: float | None = field(
        default=None, metadata={"help": "Seconds allowed per graded item."}
    )
    vllm_gpu_memory_utilization: float = field(
        default=0.9, metadata={"help": "vLLM: fraction of GPU memory."}
    )
    vllm_tensor_parallel_size: int = field(default=1, metadata={"help": "vLLM: GPUs per model."})
    vllm_max_model_len: int | None = field(default=None, metadata={"help": "vLLM: context length."})
    vllm_enforce_eager: bool = field(
        default=False,
        metadata={"help": "vLLM: no compiled graphs (starts in seconds instead of minutes; slower per token)."},
    )
    # Tracking
    report_to: list[str] = field(
        default_factory=lambda: ["none"],
        metadata={"help": "Where the finished summary is logged: none, or wandb (a run of job_type summarize).",
                  "choices": list(REPORT_TO)},
    )  # fmt: skip

    def __post_init__(self):
        check_counts(self, "max_questions", "max_summary_tokens", "reader_max_tokens", "batch_size",
                     "trajectories_per_chunk", "vllm_tensor_parallel_size")  # fmt: skip
        check_counts(self, "max_thought_tokens", none_means="no cap")
        check_counts(self, "grading_workers", none_means="one per CPU core")
        check_counts(self, "vllm_max_model_len", none_means="the model's own")
        check_positive(self, "grading_deadline")
        check_sampling(self)
        checks = {"method": (self.method, METHODS), "backend": (self.backend, BACKENDS),
                  "granularity": (self.granularity, GRANULARITIES), "on_reject": (self.on_reject, ON_REJECT),
                  "dtype": (self.dtype, DTYPES), "grading": (self.grading, ("math_verify", "lenient"))}  # fmt: skip
        for name, (value, choices) in checks.items():
            if value not in choices:
                raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        if isinstance(self.report_to, str):  # `report_to: wandb` in a recipe
            self.report_to = [self.report_to]
        if not set(self.report_to) <= set(REPORT_TO):
            raise ValueError(f"report_to must name {' or '.join(REPORT_TO)}, got {self.report_to}")
        unknown = [rule for rule in self.rules if rule not in RULES]
        if unknown or not self.rules:
            raise ValueError(f"rules must name one or more of {', '.join(RULES)}, got {self.rules}")
        parse_shard(self.shard)
        if self.method == "model":
            for name in ("summarizer_model_name_or_path", "reader_model_name_or_path"):
                if not getattr(self, name):
                    raise ValueError(f"method: model needs {name}")
            if TRAJECTORY_PLACEHOLDER not in self.summary_prompt:
                raise ValueError(f"summary_prompt must contain {TRAJECTORY_PLACEHOLDER}")
            check_prompt_template(self.reader_prompt_template, "reader_prompt_template")
        for name in ("max_thought_tokens", "max_summary_tokens", "reader_max_tokens", "batch_size",
                     "trajectories_per_chunk"):  # fmt: skip
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")

    @property
    def summary_decoding(self) -> Decoding:
        return Decoding(self.temperature, self.top_p, self.top_k, self.max_summary_tokens, self.seed)

    @property
    def reader_decoding(self) -> Decoding:
        return Decoding(0.0, 1.0, 0, self.reader_max_tokens, self.seed)

    def fingerprint(self) -> dict:
        """Settings a resumed run (and every shard) must share with the run that wrote the folder."""
        keys = ("dataset_name", "dataset_split", "max_questions", "only_correct", "method", "rules", "granularity",
                "on_reject", "student_tokenizer", "summarizer_model_name_or_path", "summary_prompt",
                "max_thought_tokens", "temperature", "top_p", "top_k", "max_summary_tokens",
                "reader_model_name_or_path", "reader_prompt_template", "reader_system_prompt", "reader_suffix",
                "reader_max_tokens", "seed", "grading")  # fmt: skip
        return {key: getattr(self, key) for key in keys}
