"""Trajectory summarization: rule-based compressors, the paper's model summarizer, verification.

`raml summarize --config recipes/<Model>/summarize/config_<name>.yaml` writes a compressed
trajectory dataset ready for `raml sft`; see `runner` for the outputs and `rules` for the rules.
"""

from .compress import RuleCompression, answer_follows, compress_with_rules
from .rules import RULES, compose
from .trajectory import TrajectoryParts, split_trajectory

__all__ = [
    "RULES",
    "RuleCompression",
    "TrajectoryParts",
    "answer_follows",
    "compose",
    "compress_with_rules",
    "split_trajectory",
]
