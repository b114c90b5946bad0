"""What the support-set gradient saves: GRPO optimizer-step time with k of G completions, same rollouts.

One generation batch is generated and scored once, with all G completions per prompt (generation is
not timed). On those same rollouts, optimizer steps (loss forward, backward, AdamW update) are timed
for the gradient from all G, from k as `SupportSetGRPOTrainer` takes it (the other completions out
of the batch), and from k the paper's way (all G through forward and backward, the others masked out
of the loss). Steps are interleaved and the median of `repeats` is kept.

Used by `benchmarks/grpo_support.py` (G = 16, long completions) and by the demo on its own batches:

    python -m raml_recipes.training.support_timing --config recipes/tiny/grpo/config_demo.yaml \
        --output_json outputs/lever.json [--repeats 3] [recipe overrides]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time


def time_support_steps(trainer, repeats: int = 3, ks: list[int] | None = None) -> dict:
    """Step times for each k of `ks` (default: the trainer's support_size) against all G, on one
    generation batch (see the module docstring)."""
    import torch

    group = trainer.num_generations
    ks = ks or [trainer.support_size]
    if any(k is None or not 1 <= k < group for k in ks):
        raise ValueError(f"support sizes must lie in 1..{group - 1} to compare with all {group}, got {ks}")
    model = trainer.model
    model.train()
    trainer.current_gradient_accumulation_steps = 1
    trainer.create_optimizer()
    trainer.support_size = None  # generate and score all G once, TRL's way
    full = trainer._generate_and_score_completions(next(iter(trainer.get_train_dataloader())))
    rows = full["completion_mask"].size(0)
    batches = {f"all_{group}": full}
    for k in ks:
        trainer.support_size = k
        keep = trainer.support_mask(rows)
        batches[f"k_{k}"] = trainer.restrict_to_support(full, keep)
        masked = dict(full, completion_mask=full["completion_mask"] * keep.unsqueeze(1))
        masked["num_items_in_batch"] = masked["completion_mask"].sum()
        batches[f"masked_k_{k}"] = masked

    # CUDA kernels run after their launch returns: without a synchronisation, a step's backward and
    # update would be timed in the next step (the loss's metrics read a value back mid-forward).
    sync = torch.cuda.synchronize if trainer.accelerator.device.type == "cuda" else (lambda: None)

    def optimizer_step(batch) -> float:
        sync()
        start = time.perf_counter()
        with trainer.accelerator.autocast():
            loss = trainer.compute_loss(model, batch)
        loss.backward()
        trainer.optimizer.step()
        trainer.optimizer.zero_grad(set_to_none=True)
        sync()
        return time.perf_counter() - start

    with torch.random.fork_rng():
        optimizer_step(batches[f"k_{ks[-1]}"])  # warm-up
        times = {name: [] for name in batches}
        for _ in range(repeats):
            for name, batch in batches.items():
                times[name].append(optimizer_step(batch))
    seconds = {name: statistics.median(values) for name, values in times.items()}
    return {
        "num_generations": group,
        "support_sizes": ks,
        "completions": rows,
        "completion_tokens": int(full["completion_mask"].sum()),
        "repeats": repeats,
        "step_s": {name: round(value, 4) for name, value in seconds.items()},
        # Per k: its step time over all G's, ours and the paper's way.
        "ratio": {k: round(seconds[f"k_{k}"] / seconds[f"all_{group}"], 3) for k in ks},
        "masked_ratio": {k: round(seconds[f"masked_k_{k}"] / seconds[f"all_{group}"], 3) for k in ks},
    }


def main(argv: list[str] | None = None) -> int:
    from datasets import Dataset

    from raml_recipes.data.grpo_prompts import to_grpo_rows
    from raml_recipes.models import resolve_model
    from raml_recipes.models.loading import load_tokenizer, model_init_kwargs
    from raml_recipes.recipes import parse_recipe
    from raml_recipes.rewards import get_reward_functions
    from raml_recipes.scripts.grpo import make_parser
    from raml_recipes.training.grpo import SupportSetGRPOTrainer, reward_params_for_template

    own = argparse.ArgumentParser(add_help=False)
    own.add_argument("--output_json", default=None, help="also write the result here")
    own.add_argument("--repeats", type=int, default=3, help="timed steps of each kind (the median is kept)")
    options, argv = own.parse_known_args(sys.argv[1:] if argv is None else argv)
    script_args, training_args, model_args = parse_recipe(make_parser(), argv)
    output, repeats = options.output_json, options.repeats
    model_path = resolve_model(model_args.model_name_or_path)
    training_args.model_init_kwargs = model_init_kwargs(model_args, training_args.model_init_kwargs)
    tokenizer = load_tokenizer(model_path, model_args.model_revision, script_args.chat_template_path)
    rows = to_grpo_rows(script_args.dataset_name, system_prompt=script_args.system_prompt,
                        prompt_template=script_args.prompt_template, max_prompts=script_args.max_prompts)  # fmt: skip
    params = reward_params_for_template(tokenizer, script_args.reward_funcs, script_args.reward_kwargs)
    trainer = SupportSetGRPOTrainer(
        model=model_path, reward_funcs=get_reward_functions(script_args.reward_funcs, params), args=training_args,
        train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
    )  # fmt: skip
    result = {"model": model_args.model_name_or_path, **time_support_steps(trainer, repeats)}
    if output:
        from pathlib import Path

        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
