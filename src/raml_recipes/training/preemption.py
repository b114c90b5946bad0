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

import errno
import json
import os
import shutil
import signal
import time
from contextlib import contextmanager
from pathlib import Path

from transformers import TrainerCallback
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_utils import sort_checkpoints

PREEMPTED_MARKER = "preempted.json"
# 128 + SIGTERM, the shell's code for "terminated": the run stopped early, on purpose, resumable.
PREEMPTED_EXIT_CODE = 143
# 128 + SIGINT: stopped by Ctrl-C, with its checkpoint, resumable the same way.
INTERRUPTED_EXIT_CODE = 130


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


# Below this, a write error while saving is read as a full disk: torch's checkpoint writer reports one
# as "unexpected pos ..." or "file write failed", with no errno.
FULL_DISK_BYTES = 64 * 2**20


def _is_disk_full(error: BaseException, output_dir: str) -> bool:
    seen = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno == errno.ENOSPC:
            return True
        seen = seen.__cause__ or seen.__context__
    try:
        return shutil.disk_usage(output_dir).free < FULL_DISK_BYTES
    except OSError:
        return False


@contextmanager
def stop_on_full_disk(args):
    """Turn a write error on a full disk (while training saves a checkpoint, or at the end) into one
    line: where, how much is free, the last complete checkpoint to resume from, and what to change."""
    from ..errors import DiskFull

    try:
        yield
    except (OSError, RuntimeError) as error:
        if not _is_disk_full(error, args.output_dir):
            raise
        free = shutil.disk_usage(args.output_dir).free / 2**20
        last = last_complete_checkpoint(args.output_dir)
        resume = f"{last}, --resume_from_checkpoint auto continues from it" if last else "none"
        raise DiskFull(
            f"{args.output_dir}: the disk filled up while the run was writing ({free:.1f} MiB free; "
            f"{type(error).__name__}: {str(error).strip().splitlines()[0][:120]}). Free space, or keep fewer "
            f"checkpoints (save_total_limit) or use save_only_model; last complete checkpoint: {resume}"
        ) from None


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
    """On SIGTERM or Ctrl-C: save a checkpoint after the current optimizer step, stop, mark the run.

    Repeated SIGTERMs change nothing: Slurm signals every process of the step and torchrun forwards
    the signal to its workers again, so a worker sees it twice. A second Ctrl-C stops at once (a
    KeyboardInterrupt, no checkpoint), for a step that takes too long; Slurm's SIGKILL after KillWait
    stops the run at once too.
    """

    def __init__(self):
        self.signalled = False
        self.signal_name = "SIGTERM"
        self.stopped_at: int | None = None
        self._previous_handlers = {}

    def _handle(self, signum, frame):
        self.signalled = True

    def _handle_interrupt(self, signum, frame):
        if self.signalled and self.signal_name == "SIGINT":
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt  # the second Ctrl-C: stop now
        self.signalled, self.signal_name = True, "SIGINT"
        print("\nCtrl-C: saving a checkpoint at the end of this step, then stopping (Ctrl-C again: stop at once)",
              flush=True)  # fmt: skip

    def on_train_begin(self, args, state, control, **kwargs):
        self._previous_handlers = {signal.SIGTERM: signal.signal(signal.SIGTERM, self._handle)}
        self._previous_handlers[signal.SIGINT] = signal.signal(signal.SIGINT, self._handle_interrupt)

    def on_step_end(self, args, state, control, **kwargs):
        if _any_rank(self.signalled):
            self.stopped_at = state.global_step
            control.should_save = True
            control.should_training_stop = True

    def on_train_end(self, args, state, control, **kwargs):
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)
        self._previous_handlers = {}

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
        record = {"signal": callback.signal_name, "global_step": callback.stopped_at, "checkpoint": str(checkpoint)}
        record["time"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        (output_dir / PREEMPTED_MARKER).write_text(json.dumps(record, indent=2) + "\n")
    trainer.accelerator.print(
        f"Stopped by {callback.signal_name} at step {callback.stopped_at}; checkpoint saved to {checkpoint}. "
        "Rerun with --resume_from_checkpoint auto to continue."
    )
    trainer.accelerator.wait_for_everyone()
