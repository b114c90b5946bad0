"""Grading and rule-based rewards.

`grade` / `grade_many` are the entry points: they run in the process-wide `GradingPool`, so every
item finishes within the deadline, from any thread, async task or DataLoader worker. The reward
functions for GRPO are in `functions` and registered by name.
"""

from .functions import (
    REWARD_FUNCTIONS,
    AccuracyReward,
    CosineScaledReward,
    FormatReward,
    RamlReward,
    SoftOverlongPunishment,
    get_reward_function,
    get_reward_functions,
)
from .grading import Verdict, answer_region, grade_choice, grade_text
from .pool import GradingPool, configure_grading, get_pool, grade, grade_many, grade_many_async

__all__ = [
    "REWARD_FUNCTIONS",
    "AccuracyReward",
    "CosineScaledReward",
    "FormatReward",
    "GradingPool",
    "RamlReward",
    "SoftOverlongPunishment",
    "Verdict",
    "answer_region",
    "configure_grading",
    "get_pool",
    "get_reward_function",
    "get_reward_functions",
    "grade",
    "grade_choice",
    "grade_many",
    "grade_many_async",
    "grade_text",
]
