"""The `raml probe` recipe: which probe, on which model and trajectories, with which settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..checks import check_counts
from ..configs import ModelArguments, PromptArguments, RuntimeArguments, check_groups, with_defaults
from .early_stop import DEFAULT_FRACTIONS
from .reflection import DEFINITIONS, default_words

PROBES = ("confidence", "reflection", "early_stop")


@dataclass
class ProbeConfig(ModelArguments, with_defaults(RuntimeArguments, dtype="float32"), PromptArguments):
    """`raml probe <confidence|reflection|early_stop>` settings."""

    probe: str = field(metadata={"help": "Which probe.", "choices": list(PROBES)})
    output_dir: str = field(metadata={"help": "Where the JSON and figures go."})
    data: str = field(default="gsm8k", metadata={"help": "gsm8k, r1_traces, or a canonical trajectory file."})
    max_trajectories: int | None = field(default=100, metadata={"help": "Use the first N trajectories."})
    max_thought_tokens: int | None = field(
        default=None, metadata={"help": "Cut longer thoughts to this many tokens."}
    )
    stride: int = field(default=1, metadata={"help": "Probe every stride-th prefix (confidence)."})
    chunk: int = field(default=64, metadata={"help": "Prefixes per forward pass."})
    ema_alpha: float = field(
        default=0.01, metadata={"help": "EMA smoothing of the drawn curves (the paper: 0.01)."}
    )
    definition: str = field(
        default="paper",
        metadata={
            "help": "Reflection probe: paper (the official notebook's token-id matching and word-plus-one-token "
            "change) or text (words found in the text, the first token's change).",
            "choices": list(DEFINITIONS),
        },
    )
    reflection_words: list[str] | None = field(
        default=None, metadata={"help": "Reflection words (default: the definition's own list)."}
    )
    fractions: list[float] = field(default_factory=lambda: list(DEFAULT_FRACTIONS))
    budgets: list[int] = field(default_factory=list, metadata={"help": "Token budgets for early stopping."})
    seed: int = field(default=0, metadata={"help": "Seed of the perturbed solutions (gsm8k)."})

    def __post_init__(self):
        check_groups(self)
        if self.probe not in PROBES:
            raise ValueError(f"probe must be one of {', '.join(PROBES)}, got {self.probe!r}")
        check_counts(self, "stride", "chunk")
        check_counts(self, "max_trajectories")
        check_counts(self, "max_thought_tokens", none_means="no cap")
        if self.definition not in DEFINITIONS:
            raise ValueError(f"definition must be one of {', '.join(DEFINITIONS)}, got {self.definition!r}")
        if self.reflection_words is None:
            self.reflection_words = list(default_words(self.definition))
