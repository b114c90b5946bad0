"""GRPO optimizer-step time with the support-set gradient: k of G = 16 completions, same rollouts.

One group of G = 16 completions per prompt is generated and scored once with the embedded
SmolLM2-135M-Instruct (generation is not timed). Then, on those same rollouts, one optimizer step
(loss forward, backward, AdamW update) is timed for k = 16, 8, 4 as `SupportSetGRPOTrainer` runs it
(the unselected completions dropped from the batch), and for k = 4 done the paper's way (all 16 rows
through forward and backward, the unselected ones masked out of the loss). Steps are interleaved and
the median of `--repeats` is kept. Prints one JSON line; the ratios are to k = 16.

    python benchmarks/grpo_support.py [--prompts 1] [--max_completion_length 128] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile

from raml_recipes.recipes import ArgumentParser


def main(argv=None) -> int:
    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="embedded:smollm2-135m")
    parser.add_argument("--prompts", type=int, default=1, help="prompts per step (16 completions each)")
    parser.add_argument("--max_completion_length", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    from datasets import Dataset

    from raml_recipes.data.grpo_prompts import arithmetic_problems, to_grpo_rows
    from raml_recipes.data.io import write_jsonl
    from raml_recipes.models import resolve_model
    from raml_recipes.models.loading import cpu_has_native_bf16
    from raml_recipes.rewards import get_reward_functions
    from raml_recipes.training.grpo_config import SupportSetGRPOConfig
    from raml_recipes.training.grpo_trainer import SupportSetGRPOTrainer
    from raml_recipes.training.support_timing import time_support_steps

    group = 16
    with tempfile.TemporaryDirectory() as tmp:
        prompt_file = write_jsonl(f"{tmp}/prompts.jsonl", arithmetic_problems(args.prompts, seed=1))
        rows = to_grpo_rows(str(prompt_file), system_prompt=None, prompt_template="{problem}")
        config = SupportSetGRPOConfig(
            output_dir=tmp, num_generations=group, per_device_train_batch_size=group * args.prompts,
            max_completion_length=args.max_completion_length, use_cpu=True, bf16=cpu_has_native_bf16(), report_to="none",
            activation_checkpointing=False, disable_tqdm=True, seed=0, support_size=4,
        )  # fmt: skip
        trainer = SupportSetGRPOTrainer(
            model=resolve_model(args.model), reward_funcs=get_reward_functions(["raml"]), args=config,
            train_dataset=Dataset.from_list(rows),
        )  # fmt: skip
        timing = time_support_steps(trainer, args.repeats, ks=[8, 4])

    step = timing["step_s"]
    seconds = {"k16": step["all_16"], "k8": step["k_8"], "k4": step["k_4"], "masked_k4": step["masked_k_4"]}
    result = {
        "model": args.model,
        "num_generations": group,
        "prompts": args.prompts,
        "completion_tokens": timing["completion_tokens"],
        "step_s": {name: round(value, 3) for name, value in seconds.items()},
        "k8_ratio": timing["ratio"][8],
        "k4_ratio": timing["ratio"][4],
        "masked_k4_ratio": timing["masked_ratio"][4],
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
