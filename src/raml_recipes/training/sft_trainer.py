"""TRL's SFTTrainer with per-question support sets as its training order."""

from __future__ import annotations

import logging
import math

from transformers import TrainerCallback
from trl import SFTTrainer
from trl.data_utils import is_conversational

from ..data.sft_format import QUESTION_ID_COLUMN, check_template_keeps_completion
from ..data.support_set import SupportSetPlan, SupportSetSampler
from .sft_config import SupportSetSFTConfig

logger = logging.getLogger(__name__)


class SyncSupportEpoch(TrainerCallback):
    """Tell the support-set sampler which epoch starts, from the trainer's own state.

    The Trainer's `set_epoch` reaches the sampler through accelerate's data loader, except when a run
    resumes mid-epoch on several processes: accelerate's `skip_first_batches` then wraps the sharded
    batch sampler so that no `set_epoch` reaches ours, and the resumed epoch would replay epoch 0's
    draw. `state.epoch` is the number of epochs done (2.5 when resuming half-way through the third).
    """

    def __init__(self, trainer: SupportSetSFTTrainer):
        self.trainer = trainer

    def on_epoch_begin(self, args, state, control, **kwargs):
        sampler = self.trainer._support_sampler
        if sampler is not None:
            sampler.set_epoch(math.floor(state.epoch + 1e-6))


def sequence_lengths(dataset) -> list[int]:
    """Token count of every row, read from Arrow without decoding the rows."""
    import pyarrow.compute as pc

    column = dataset.with_format("arrow")["input_ids"]
    return pc.list_value_length(column).to_pylist()


def truncate_dataset(dataset, max_length: int):
    """Truncate `input_ids`/`labels` to `max_length` and drop rows left with no trained token."""
    dataset = dataset.map(
        lambda ex: {"input_ids": ex["input_ids"][:max_length], "labels": ex["labels"][:max_length]}
    )
    return dataset.filter(lambda ex: any(label != -100 for label in ex["labels"]))


def check_eos_trained(dataset, tokenizer, max_length: int | None, rows_to_check: int = 32) -> None:
    """Fail when the end-of-sequence token is not among the trained tokens of an untruncated row.

    A model never trained on the token that ends generation never stops: e.g. a ChatML turn ending
    in `<|im_end|>` while the tokenizer's EOS is `<|endoftext|>` (set `eos_token: <|im_end|>`).
    """
    for row in dataset.select(range(min(rows_to_check, len(dataset)))):
        if max_length is not None and len(row["input_ids"]) >= max_length:
            continue  # truncated rows lose their end; judge by a complete one
        if tokenizer.eos_token_id in [label for label in row["labels"] if label != -100]:
            return
        trained_tail = tokenizer.decode([label for label in row["labels"] if label != -100][-3:])
        raise ValueError(
            f"The end-of-sequence token {tokenizer.eos_token!r} is not trained: the trained text ends with "
            f"{trained_tail!r}, so the model would not learn to stop. Set `eos_token` in the recipe to the token "
            "that ends the assistant turn (e.g. '<|im_end|>' for ChatML templates)."
        )


class SupportSetSFTTrainer(SFTTrainer):
    """An `SFTTrainer` that draws each epoch's samples from per-question support sets.

    The training dataset needs a `question_id` column (one row per distinct trajectory), as built
    by `raml_recipes.data.sft_format.build_sft_dataset`. The rows are tokenized once by TRL; only
    the sampler changes, so the default collator and padding-free batches work unchanged, and
    `train_sampling_strategy: group_by_length` groups the support-set batches by length.

    Two TRL paths are adapted:
    - `packing=True` packs the dataset once, before training, which would freeze one draw of the
      support sets into fixed blocks: refused, with padding-free batches as the alternative.
    - TRL refuses `padding_free=True` with a `max_length`, since it cannot truncate on the fly;
      here sequences are truncated during dataset preparation instead, so both can be set.
    """

    def __init__(self, model, args: SupportSetSFTConfig, train_dataset=None, generation_accuracy=None, **kwargs):
        self.generation_accuracy = generation_accuracy  # a GenerationAccuracy, run at each evaluation
        if args.packing:
            raise ValueError(
                "packing=True is not supported with support sets: TRL packs the dataset once before training, "
                "which would fix the trajectories drawn for every epoch. Use padding_free=True (each batch is "
                "flattened into one sequence with no padding) or train_sampling_strategy=group_by_length."
            )
        if args.train_sampling_strategy not in SupportSetSampler.ORDERS:
            raise ValueError(
                f"train_sampling_strategy={args.train_sampling_strategy!r} is not supported with support sets; "
                f"use one of {', '.join(SupportSetSampler.ORDERS)}"
            )
        if train_dataset is None or QUESTION_ID_COLUMN not in train_dataset.column_names:
            raise ValueError(
                f"the training dataset needs a {QUESTION_ID_COLUMN!r} column (build it with build_sft_dataset)"
            )
        self._truncate_to = None
        if args.padding_free and args.max_length is not None:
            self._truncate_to, args.max_length = args.max_length, None
        try:
            super().__init__(model, args=args, train_dataset=train_dataset, **kwargs)
        finally:
            if self._truncate_to is not None:
                args.max_length = self._truncate_to

        dropped = len(train_dataset) - len(self.train_dataset)
        if dropped:
            lost = len(set(train_dataset[QUESTION_ID_COLUMN])) - len(
                set(self.train_dataset[QUESTION_ID_COLUMN])
            )
            logger.warning(
                "%d of %d rows were dropped (truncation to max_length=%s left no completion token); %d questions "
                "lost all their trajectories",
                dropped,
                len(train_dataset),
                args.max_length,
                lost,
            )
        if len(self.train_dataset) == 0:
            raise ValueError(
                f"no training rows left after tokenization: with max_length={args.max_length} truncation left no "
                "completion token in any row (the prompt alone fills it); raise max_length"
            )
        self.support_plan = SupportSetPlan.from_question_ids(
            self.train_dataset[QUESTION_ID_COLUMN],
            support_size=args.support_size,
            samples_per_question=args.samples_per_question,
            seed=args.data_seed if args.data_seed is not None else args.seed,
            redraw_each_epoch=args.support_redraw == "epoch",
        )
        self._support_sampler: SupportSetSampler | None = None
        self.add_callback(SyncSupportEpoch(self))
        short = self.support_plan.questions_short_of_k()
        if short:
            logger.warning(
                "%d of %d questions have fewer than support_size=%d distinct trajectories; they use all they have",
                short,
                len(self.support_plan.rows_by_question),
                args.support_size,
            )

    def _prepare_dataset(self, dataset, processing_class, args, packing, formatting_func, dataset_name):
        first = next(iter(dataset))
        if "input_ids" not in first and "completion" in first and is_conversational(first):
            check_template_keeps_completion(processing_class, first)
        dataset = super()._prepare_dataset(
            dataset, processing_class, args, packing, formatting_func, dataset_name
        )
        if self._truncate_to is not None and not packing:
            dataset = truncate_dataset(dataset, self._truncate_to)
        check_eos_trained(dataset, self._tokenizer, self._truncate_to or args.max_length)
        return dataset

    def _get_train_sampler(self, train_dataset=None):
        order = self.args.train_sampling_strategy
        lengths = sequence_lengths(self.train_dataset) if order == "group_by_length" else None
        # Accelerate hands consecutive per-device batches to consecutive ranks: group by the global batch.
        batch_size = self.args.per_device_train_batch_size * max(1, self.args.world_size)
        self._support_sampler = SupportSetSampler(
            self.support_plan, order=order, lengths=lengths, batch_size=batch_size
        )
        return self._support_sampler

    def support_stats(self) -> dict[str, float]:
        epoch = self._support_sampler.epoch if self._support_sampler is not None else 0
        return self.support_plan.stats(epoch)

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if self.model.training and "loss" in logs:
            logs.update(self.support_stats())
        super().log(logs, start_time)

    def evaluate(self, *args, **kwargs):
        """The evaluation loss, then (with a GenerationAccuracy) the held-out questions answered and
        graded, logged beside it (W&B, metrics.json, the training figure). Every process generates: a
        ZeRO-3 model answers only with all of its shards."""
        metrics = super().evaluate(*args, **kwargs)
        if self.generation_accuracy is not None:
            found = self.generation_accuracy(self.model, self.processing_class, self.args.per_device_eval_batch_size)
            self.log(found)
            metrics.update(found)
        return metrics


class GenerationAccuracy:
    """Held-out questions answered greedily by the model in training and graded (math-verify's verdicts):
    what `SupportSetSFTTrainer.evaluate` adds to the loss when the recipe sets eval_accuracy_questions."""

    def __init__(self, items: list[dict], prompt_template: str, system_prompt: str | None, max_new_tokens: int):
        self.items, self.max_new_tokens = items, max_new_tokens
        self.prompt_template, self.system_prompt = prompt_template, system_prompt

    def __call__(self, model, tokenizer, batch_size: int) -> dict[str, float]:
        from ..evaluation.generation import Decoding, TransformersGenerator
        from ..prompts import render_prompt_text
        from ..rewards import grade_many

        prompts = [render_prompt_text(tokenizer, item["problem"], self.prompt_template, self.system_prompt)
                   for item in self.items]  # fmt: skip
        # The training prompt, answered greedily: the same protocol as `raml evaluate` at temperature 0.
        generator = TransformersGenerator(model, tokenizer, Decoding(temperature=0.0, max_new_tokens=self.max_new_tokens),
                                          batch_size)  # fmt: skip
        samples = [found[0] for found in generator.generate([(prompt, 1) for prompt in prompts])]
        verdicts = grade_many([(item["answer"], sample.text) for item, sample in zip(self.items, samples, strict=True)])
        return {
            "eval_accuracy": sum(bool(v.correct) for v in verdicts) / len(verdicts),
            "eval_accuracy_questions": len(verdicts),
            "eval_accuracy_clipped": sum(s.finish_reason == "length" for s in samples) / len(samples),
        }
