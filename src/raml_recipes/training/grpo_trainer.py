"""GRPO with a support-set gradient: advantages over all G completions, the gradient from k of them.

The paper (Sec. 5, Fig. 9) generates G rollouts per prompt, computes group advantages over all G,
and takes the policy gradient from a random k-subset. Its implementation masks the others out of
the loss but still runs them through forward and backward. Here they leave the batch right after
scoring: the reference and old-policy forwards (when TRL needs them) and the loss forward/backward
see only the selected rows, so a step with k=4 of G=16 does a quarter of the training compute.

Loss normalisation, per TRL `loss_type`, always over the selected completions only:

| loss_type | the loss of a micro-batch is divided by |
|---|---|
| dapo (and cispo, vespo) | the selected completion tokens of the whole generation batch, all processes |
|  | (`num_items_in_batch`, recomputed after selection), rescaled to one accumulation window |
| grpo (and sapo) | per sequence: its own tokens; then the number of selected sequences in the micro-batch |
| bnpo | the selected completion tokens in the micro-batch |
| dr_grpo | selected sequences in the micro-batch x max_completion_length |
| luspo | the number of selected sequences in the micro-batch (sums per sequence) |

With k = G nothing is selected away and the trainer is TRL's GRPOTrainer, step for step.
"""

from __future__ import annotations

import inspect
from contextlib import contextmanager

import torch
from trl import GRPOTrainer

from ..prompts import template_opens_thought
from ..rewards.functions import REWARD_FUNCTIONS
from .support_selection import get_support_strategy, restrict_rows, trim_completion_padding
from .support_selection import support_mask as draw_support_mask


class SupportSetGRPOTrainer(GRPOTrainer):
    """`GRPOTrainer` with `args.support_size` (k) and `args.support_strategy` (see `SupportSetGRPOConfig`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.support_size = getattr(self.args, "support_size", None)
        self.support_strategy = get_support_strategy(getattr(self.args, "support_strategy", "random"))
        if self.uses_support_subset and self._is_vlm:
            raise ValueError("support_size < num_generations is not supported for vision-language models")

    @property
    def uses_support_subset(self) -> bool:
        return self.support_size is not None and self.support_size < self.num_generations

    def support_stats(self) -> dict:
        return {
            "num_generations": self.num_generations,
            "support_size": self.support_size or self.num_generations,
            "support_strategy": self.args.support_strategy if self.uses_support_subset else None,
        }

    def support_mask(self, num_local_rows: int) -> torch.Tensor:
        """Which of this process's rows of the current generation batch enter the loss.

        Seeded by (seed, optimizer step, micro-step within the accumulation window, group): the same
        subset on every process and after a resume from a checkpoint.
        """
        first_row = self.accelerator.process_index * num_local_rows
        window_step = self._step % self.args.gradient_accumulation_steps
        seed_parts = (self.args.seed, self.state.global_step, window_step)
        return draw_support_mask(
            num_local_rows,
            first_row,
            self.num_generations,
            self.support_size,
            self.support_strategy,
            seed_parts,
        )

    def _generate_and_score_completions(self, inputs):
        if not (self.model.training and self.uses_support_subset):
            return super()._generate_and_score_completions(inputs)
        keep = self.support_mask(len(inputs)).to(self.accelerator.device)
        with self._forwards_only_on(keep):
            output = super()._generate_and_score_completions(inputs)
        return self.restrict_to_support(output, keep)

    def restrict_to_support(self, output: dict, keep: torch.Tensor) -> dict:
        """The scored generation batch with only the kept rows (and their padding), the normaliser recounted."""
        all_tokens = self._loss_mask(output).sum()
        output = trim_completion_padding(restrict_rows(output, keep))
        # The dapo normaliser counts tokens over the whole generation batch: only the selected ones now.
        selected_tokens = self._loss_mask(output).sum()
        output["num_items_in_batch"] = self.accelerator.gather(selected_tokens).sum()
        totals = self.accelerator.reduce(torch.stack([selected_tokens, all_tokens]).float(), reduction="sum")
        metrics = self._metrics["train"]
        metrics["support/k"].append(float(self.support_size))
        metrics["support/selected_tokens"].append(totals[0].item())
        metrics["support/selected_token_fraction"].append((totals[0] / totals[1].clamp(min=1.0)).item())
        return output

    @staticmethod
    def _loss_mask(batch: dict) -> torch.Tensor:
        mask = batch["completion_mask"]
        return mask if batch.get("tool_mask") is None else mask * batch["tool_mask"]

    @contextmanager
    def _forwards_only_on(self, keep: torch.Tensor):
        """Make the no-grad scoring forwards (old policy, reference) run on the kept rows only.

        Rows left out get NaN log-probabilities; they are dropped before the loss. TRL turns a NaN
        difference into an importance ratio of 1, so vLLM's sampling metrics stay finite (the
        ratio's mean/min/max then include those rows at 1).
        """
        compute = self._get_per_token_logps_and_entropies

        def on_kept_rows(model, input_ids, attention_mask, logits_to_keep, *args, **kwargs):
            if input_ids.size(0) != keep.numel():  # not a whole-batch call: leave it alone
                return compute(model, input_ids, attention_mask, logits_to_keep, *args, **kwargs)
            kwargs = {
                key: value[keep]
                if isinstance(value, torch.Tensor) and value.size(0) == keep.numel()
                else value
                for key, value in kwargs.items()
            }
            logps, entropies, aux_loss = compute(
                model, input_ids[keep], attention_mask[keep], logits_to_keep, *args, **kwargs
            )
            return _scatter_rows(logps, keep), _scatter_rows(entropies, keep), aux_loss

        self._get_per_token_logps_and_entropies = on_kept_rows
        try:
            yield
        finally:
            del self._get_per_token_logps_and_entropies  # back to the class method


def _scatter_rows(values: torch.Tensor | None, keep: torch.Tensor) -> torch.Tensor | None:
    if values is None:
        return None
    full = values.new_full((keep.numel(), *values.shape[1:]), float("nan"))
    full[keep] = values
    return full


def reward_params_for_template(tokenizer, reward_funcs: list[str], reward_kwargs: dict | None) -> dict:
    """The recipe's reward parameters, plus `think_opened_in_prompt` where the template opens the thought.

    Without it a format check would look for a `<think>` the model never writes (the template did),
    and the format reward would sit at 0 for every completion.
    """
    params = {name: dict(values) for name, values in (reward_kwargs or {}).items()}
    if template_opens_thought(tokenizer):
        for name in reward_funcs:
            reward_class = REWARD_FUNCTIONS.get(name)
            if reward_class and "think_opened_in_prompt" in inspect.signature(reward_class).parameters:
                params.setdefault(name, {}).setdefault("think_opened_in_prompt", True)
    return params


def add_accuracy_metric(reward_funcs: list, reward_names: list[str], args, params: dict | None = None) -> None:
    """Append math-verify's accuracy as a reward of weight 0: TRL then logs it (`rewards/accuracy/mean`,
    and `eval_rewards/accuracy/mean` at evaluation) while the advantages, from the recipe's own rewards,
    stay as they were. Nothing is added when the recipe already trains on `accuracy`."""
    from ..rewards import get_reward_functions

    if "accuracy" in reward_names:
        return
    weights = list(args.reward_weights) if args.reward_weights is not None else [1.0] * len(reward_funcs)
    reward_funcs += get_reward_functions(["accuracy"], {"accuracy": (params or {}).get("accuracy", {})})
    args.reward_weights = [*weights, 0.0]
