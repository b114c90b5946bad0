"""The summarization recipe: which trajectories, which compressor, how to verify, where to write."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..checks import check_counts
from ..configs import (
    GradingArguments,
    OverwriteArguments,
    RuntimeArguments,
    SamplingArguments,
    ShardArguments,
    VLLMArguments,
    WandbArguments,
    check_groups,
    with_defaults,
)
from ..evaluation.generation import Decoding
from ..prompts import FINAL_ANSWER_MARKER, PAPER_SFT_PROMPT, SUMMARY_PROMPT, check_prompt_template
from .rules import RULES
from .segments import GRANULARITIES

METHODS = ("rules", "model")
ON_REJECT = ("drop", "keep_long")
REPORT_TO = ("none", "wandb")
TRAJECTORY_PLACEHOLDER = "{trajectory}"
# The paper's summarization prompt and answer-reading suffix, verbatim (raml_recipes.prompts).
PAPER_SUMMARY_PROMPT = SUMMARY_PROMPT
PAPER_READER_SUFFIX = FINAL_ANSWER_MARKER


@dataclass
class SummarizeConfig(
    with_defaults(RuntimeArguments, batch_size=8), VLLMArguments, with_defaults(SamplingArguments, top_p=1.0, top_k=0),
    GradingArguments, ShardArguments, WandbArguments, OverwriteArguments,
):  # fmt: skip
    """`raml summarize` settings (TrlParser YAML + command-line overrides). The sampling settings are the
    summarizer's; with `report_to: [wandb]` the finished summary is logged to a W&B run (`WandbArguments`:
    project, entity, group)."""

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
    max_thought_tokens: int | None = field(
        default=24576, metadata={"help": "The thought is cut to this many summarizer tokens (null: no cap)."}
    )
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
    trajectories_per_chunk: int = field(
        default=16, metadata={"help": "Trajectories compressed, verified and appended together."}
    )
    # Tracking
    report_to: list[str] = field(
        default_factory=lambda: ["none"],
        metadata={"help": "Where the finished summary is logged: none, or wandb (a run of job_type summarize).",
                  "choices": list(REPORT_TO)},
    )  # fmt: skip

    def __post_init__(self):
        check_groups(self)
        check_counts(self, "max_questions", "max_summary_tokens", "reader_max_tokens", "trajectories_per_chunk")
        check_counts(self, "max_thought_tokens", none_means="no cap")
        checks = {"method": (self.method, METHODS), "granularity": (self.granularity, GRANULARITIES),
                  "on_reject": (self.on_reject, ON_REJECT)}  # fmt: skip
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
        if self.method == "model":
            for name in ("summarizer_model_name_or_path", "reader_model_name_or_path"):
                if not getattr(self, name):
                    raise ValueError(f"method: model needs {name}")
            if TRAJECTORY_PLACEHOLDER not in self.summary_prompt:
                raise ValueError(f"summary_prompt must contain {TRAJECTORY_PLACEHOLDER}")
            check_prompt_template(self.reader_prompt_template, "reader_prompt_template")

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
