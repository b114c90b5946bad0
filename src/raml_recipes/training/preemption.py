"""Checkpoint on SIGTERM, and resume from the last checkpoint.

Slurm sends SIGTERM to a job's processes before its time limit (`--signal=TERM@<s>`), when it is
preempted, or on `scancel --signal=TERM`. `CheckpointOnSigterm` turns that signal into "save a
checkpoint at the end of this optimizer step and stop"; the run then leaves `preempted.json` in its
output folder, which `slurm/train.slurm` reads to requeue the job, and the requeued run resumes with
`--resume_from_checkpoint auto`.

transformers' own `enable_jit_checkpoint` saves from whichever callback each rank reaches first
(before or after the optimizer step), so ranks of a multi-process run can disagree on the step and
hang in a collective. Here every rank stops at the same step: the flag is agreed by an all-reduce at
each step end (one scalar; nothing next to a training step).
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from transformers import TrainerCallback
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_utils import sort_checkpoints

PREEMPTED_MARKER = "preempted.json"
# 128 + SIGTERM, the shell's code for "terminated": the run stopped early, on purpose, resumable.
PREEMPTED_EXIT_CODE = 143


def last_complete_checkpoint(output_dir: str) -> str | None:
    """The newest checkpoint folder that was written to the end, or None.

    A process that dies while saving (SIGKILL, a crash, a write error) leaves a
    checkpoint without its trainer state, which `Trainer` writes last; resuming from it fails with
    "Can't find a valid checkpoint". Such folders are skipped, with a message.
    """
    if not os.path.isdir(output_dir):
        return None
    for checkpoint in reversed(sort_checkpoints(output_dir)):
        if os.path.isfile(os.path.join(checkpoint, TRAINER_STATE_NAME)):
            return checkpoint
        print(
            f"Skipping {checkpoint}: incomplete (no {TRAINER_STATE_NAME}; its save was cut short)", flush=True
        )
    return None


def resume_checkpoint(args) -> str | None:
    """The checkpoint `args.resume_from_checkpoint` names: `auto` is the last complete one in `output_dir`,
    or none yet."""
    if args.resume_from_checkpoint != "auto":
        return args.resume_from_checkpoint
    checkpoint = last_complete_checkpoint(args.output_dir)
    if checkpoint is not None and args.process_index == 0:
        print(f"Resuming from {checkpoint}", flush=True)
    return checkpoint


def _any_rank(flag: bool) -> bool:
    """True when `flag` is set on any process (a no-op outside torch.distributed)."""
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return flag
    from accelerate import PartialState

    value = torch.tensor([1.0 if flag else 0.0], device=PartialState().device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


class CheckpointOnSigterm(TrainerCallback):
    """On SIGTERM: save a checkpoint after the current optimizer step, stop training, mark the run.

    Repeated SIGTERMs change nothing: Slurm signals every process of the step and torchrun forwards
    the signal to its workers again, so a worker sees it twice. SIGINT (Ctrl-C) and Slurm's SIGKILL
    after KillWait still stop the run at once.
    """

    def __init__(self):
        self.signalled = False
        self.stopped_at: int | None = None
        self._previous_handler = None

    def _handle(self, signum, frame):
        self.signalled = True

    def on_train_begin(self, args, state, control, **kwargs):
        self._previous_handler = signal.signal(signal.SIGTERM, self._handle)

    def on_step_end(self, args, state, control, **kwargs):
        if _any_rank(self.signalled):
            self.stopped_at = state.global_step
            control.should_save = True
            control.should_training_stop = True

    def on_train_end(self, args, state, control, **kwargs):
        if self._previous_handler is not None:
            signal.signal(signal.SIGTERM, self._previous_handler)
            self._previous_handler = None

    @property
    def preempted(self) -> bool:
        return self.stopped_at is not None


def preemption_of(trainer) -> CheckpointOnSigterm | None:
    """The trainer's `CheckpointOnSigterm` callback when it stopped the run, else None."""
    for callback in trainer.callback_handler.callbacks:
        if isinstance(callback, CheckpointOnSigterm) and callback.preempted:
            return callback
    return None


def mark_preempted(trainer, callback: CheckpointOnSigterm) -> None:
    """Leave `preempted.json` (main process) naming the checkpoint the next run resumes from."""
    output_dir = Path(trainer.args.output_dir)
    checkpoint = output_dir / f"checkpoint-{callback.stopped_at}"
    if trainer.is_world_process_zero():
        record = {"signal": "SIGTERM", "global_step": callback.stopped_at, "checkpoint": str(checkpoint)}
        record["time"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        (output_dir / PREEMPTED_MARKER).write_text(json.dumps(record, indent=2) + "\n")
    trainer.accelerator.print(
        f"Stopped by SIGTERM at step {callback.stopped_at}; checkpoint saved to {checkpoint}. "
        "Rerun with --resume_from_checkpoint auto to continue."
    )
    trainer.accelerator.wait_for_everyone()
