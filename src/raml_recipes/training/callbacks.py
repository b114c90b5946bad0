"""The callbacks every training recipe runs with."""

from __future__ import annotations

import logging

from transformers import TrainerCallback

from .preemption import CheckpointOnSigterm

logger = logging.getLogger(__name__)


def run_callbacks(args) -> list:
    """Checkpoint-on-SIGTERM always; for GRPO, a warning when most completions are cut; a push of each
    checkpoint to its Hub revision when the recipe asks."""
    callbacks = [CheckpointOnSigterm()]
    if hasattr(args, "max_completion_length"):  # GRPO
        callbacks.append(TruncationWarning())
    if getattr(args, "push_to_hub_revision", False):
        from ..hub import hub_callbacks

        callbacks += hub_callbacks(args)
    return callbacks


class TruncationWarning(TrainerCallback):
    """Warn once, a few logged steps into GRPO, when most completions are cut at max_completion_length.

    A completion cut before its answer gets the lowest reward whatever it reasoned, so a group of cut
    completions has equal rewards and no advantage: the run then learns nothing. TRL logs the share as
    `completions/clipped_ratio`; this reads it from the logs and says what to change.
    """

    KEY = "completions/clipped_ratio"

    def __init__(self, after_logs: int = 2, threshold: float = 0.5):
        self.after_logs, self.threshold = after_logs, threshold
        self.seen: list[float] = []
        self.warned = False

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.warned or not logs or self.KEY not in logs:
            return
        self.seen.append(float(logs[self.KEY]))
        if len(self.seen) < self.after_logs:
            return
        share = sum(self.seen) / len(self.seen)
        self.warned = True
        if share > self.threshold:
            logger.warning(
                "%.0f%% of the completions of the first %d logged steps were cut at max_completion_length (%d): "
                "a cut completion has no answer, so their rewards are equal and carry no signal. Raise "
                "max_completion_length, or shorten the outputs (an SFT cold start teaches the format).",
                100 * share, len(self.seen), args.max_completion_length,
            )  # fmt: skip
