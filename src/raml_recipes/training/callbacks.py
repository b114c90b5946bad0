"""The callbacks every training recipe runs with."""

from __future__ import annotations

from .preemption import CheckpointOnSigterm


def run_callbacks(args) -> list:
    """Checkpoint-on-SIGTERM always; a push of each checkpoint to its Hub revision when the recipe asks."""
    callbacks = [CheckpointOnSigterm()]
    if getattr(args, "push_to_hub_revision", False):
        from ..hub import hub_callbacks

        callbacks += hub_callbacks(args)
    return callbacks
