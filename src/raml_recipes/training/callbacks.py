"""The callbacks every training recipe runs with."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from transformers import TrainerCallback

from ..lineage import RUN_RECORD, find_run_record
from ..publish.card import build_model_card
from ..publish.records import check_repo_id
from ..publish.upload import plan_upload, publish
from .preemption import CheckpointOnSigterm

if TYPE_CHECKING:
    from huggingface_hub import HfApi

logger = logging.getLogger(__name__)


def run_callbacks(args) -> list:
    """Checkpoint-on-SIGTERM always; for GRPO, a warning when most completions are cut; a push of each
    checkpoint to its Hub revision when the recipe asks."""
    callbacks = [CheckpointOnSigterm()]
    if hasattr(args, "max_completion_length"):  # GRPO
        callbacks.append(TruncationWarning())
    return callbacks + hub_callbacks(args)


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


class PushToHubRevisionCallback(TrainerCallback):
    """Publish every saved checkpoint to branch `<hub_model_revision>-step-<N>` of `hub_model_id`.

    The main process uploads in a background thread, one checkpoint at a time, so training does not
    wait for the network (a long synchronous upload on rank 0 would also leave the other ranks waiting
    in a collective until the distributed timeout). Before the next save, the callback waits for the
    previous upload to end: checkpoint rotation (`save_total_limit`) can then never delete a folder
    that is still uploading. A failed upload (after `publish`'s retries) is logged and training goes
    on; the checkpoint stays on disk. A branch that already exists is replaced: after a resume the
    same step is the same training state.
    """

    def __init__(self, training_args, api: HfApi | None = None):
        if not getattr(training_args, "hub_model_id", None):
            raise ValueError(
                "push_to_hub_revision is set but hub_model_id is not: set hub_model_id to OWNER/NAME"
            )
        check_repo_id(training_args.hub_model_id)
        self.repo_id = training_args.hub_model_id
        self.revision = getattr(training_args, "hub_model_revision", "main") or "main"
        self.private = bool(getattr(training_args, "hub_private_repo", False))
        self.output_dir = Path(training_args.output_dir)
        self.api = api
        self._executor = None
        self._pending = None
        self.failures: list[str] = []

    def on_train_begin(self, args, state, control, **kwargs):
        # Fail before training rather than at the first save, hours later: cards need the run record.
        if state.is_world_process_zero and find_run_record(self.output_dir) is None:
            raise ValueError(
                f"push_to_hub_revision needs {self.output_dir / RUN_RECORD} before training starts "
                "(raml_recipes.lineage.write_run_record): each checkpoint's card is built from it"
            )

    def _upload(self, step: int) -> str:
        from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

        folder = self.output_dir / f"{PREFIX_CHECKPOINT_DIR}-{step}"
        plan = plan_upload(
            folder, repo_id=self.repo_id, revision=self.revision, step=step, private=self.private
        )
        card = build_model_card(folder, repo_id=self.repo_id, revision=plan.revision)
        return publish(plan, card=card, api=self.api, overwrite=True)

    def wait(self) -> None:
        """Block until the upload in flight (if any) has ended; record its failure, if it failed."""
        if self._pending is None:
            return
        pending, self._pending = self._pending, None
        try:
            pending.result()
        except Exception as error:  # noqa: BLE001 - any upload failure: keep training, keep the checkpoint
            message = f"{self.repo_id}: checkpoint upload failed: {type(error).__name__}: {error}"
            self.failures.append(message)
            logger.error(message)

    def on_step_end(self, args, state, control, **kwargs):
        if control.should_save:  # the save (and rotation) comes right after this step's callbacks
            self.wait()

    def on_save(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        from concurrent.futures import ThreadPoolExecutor

        self.wait()
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-upload")
        self._pending = self._executor.submit(self._upload, state.global_step)

    def on_train_end(self, args, state, control, **kwargs):
        self.wait()
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None


def hub_callbacks(training_args) -> list[TrainerCallback]:
    """The Hub callbacks a recipe asks for: [PushToHubRevisionCallback] when push_to_hub_revision is set."""
    if getattr(training_args, "push_to_hub_revision", False):
        return [PushToHubRevisionCallback(training_args)]
    return []
