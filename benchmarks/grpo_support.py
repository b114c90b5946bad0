"""GRPO optimizer-step time with the support-set gradient: k of G = 16 completions, same rollouts.

One group of G = 16 completions per prompt is generated and scored once with the embedded
SmolLM2-135M-Instruct (generation is not timed). Then, on those same rollouts, one optimizer step
(loss forward, backward, AdamW update) is timed for k = 16, 8, 4 as `SupportSetGRPOTrainer` runs it
(the unselected completions dropped from the batch), and for k = 4 done the paper's way (all 16 rows
through forward and backward, the unselected ones masked out of the loss). Steps are interleaved and
the median of `--repeats` is kept. Prints one JSON line; the ratios are to k = 16.

    python benchmarks/grpo_support.py [--prompts 1] [--max-completion-length 128] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="embedded:smollm2-135m")
    parser.add_argument("--prompts", type=int, default=1, help="prompts per step (16 completions each)")
    parser.add_argument("--max-completion-length", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    from datasets import Dataset

    from raml_recipes.data.grpo_prompts import arithmetic_problems, to_grpo_rows
    from raml_recipes.data.io import write_jsonl
    from raml_recipes.models import resolve_model
    from raml_recipes.rewards import get_reward_functions
    from raml_recipes.training.grpo import SupportSetGRPOTrainer
    from raml_recipes.training.grpo_config import SupportSetGRPOConfig

    group = 16
    with tempfile.TemporaryDirectory() as tmp:
        prompt_file = write_jsonl(f"{tmp}/prompts.jsonl", arithmetic_problems(args.prompts, seed=1))
        rows = to_grpo_rows(str(prompt_file), system_prompt=None, prompt_template="{problem}")
        config = SupportSetGRPOConfig(
            output_dir=tmp, num_generations=group, per_device_train_batch_size=group * args.prompts,
            max_completion_length=args.max_completion_length, use_cpu=True, bf16=True, report_to="none",
            activation_checkpointing=False, disable_tqdm=True, seed=0, support_size=4,
        )  # fmt: skip
        trainer = SupportSetGRPOTrainer(
            model=resolve_model(args.model), reward_funcs=get_reward_functions(["raml"]), args=config,
            train_dataset=Dataset.from_list(rows),
        )  # fmt: skip
        model = trainer.model
        model.train()
        trainer.current_gradient_accumulation_steps = 1
        trainer.create_optimizer()

        # Generate and score all G once, TRL's way; then select on those same rollouts.
        trainer.support_size = None
        full = trainer._generate_and_score_completions(next(iter(trainer.get_train_dataloader())))
        batches = {"k16": full}
        for k in (8, 4):
            trainer.support_size = k
            batches[f"k{k}"] = trainer.restrict_to_support(full, trainer.support_mask(group * args.prompts))
        keep4 = trainer.support_mask(group * args.prompts)
        masked = dict(full, completion_mask=full["completion_mask"] * keep4.unsqueeze(1))
        masked["num_items_in_batch"] = masked["completion_mask"].sum()
        batches["masked_k4"] = masked

        def optimizer_step(batch) -> float:
            start = time.perf_counter()
            with trainer.accelerator.autocast():
                loss = trainer.compute_loss(model, batch)
            loss.backward()
            trainer.optimizer.step()
            trainer.optimizer.zero_grad(set_to_none=True)
            return time.perf_counter() - start

        optimizer_step(batches["k4"])  # warm-up
        times = {name: [] for name in batches}
        for _ in range(args.repeats):
            for name, batch in batches.items():
                times[name].append(optimizer_step(batch))
        seconds = {name: statistics.median(values) for name, values in times.items()}

    result = {
        "model": args.model,
        "num_generations": group,
        "prompts": args.prompts,
        "completion_tokens": int(full["completion_mask"].sum()),
        "step_s": {name: round(value, 3) for name, value in seconds.items()},
        "k8_ratio": round(seconds["k8"] / seconds["k16"], 3),
        "k4_ratio": round(seconds["k4"] / seconds["k16"], 3),
        "masked_k4_ratio": round(seconds["masked_k4"] / seconds["k16"], 3),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
