"""GRPO with a support-set gradient: G completions per prompt score the group, k of them train.

```bash
raml grpo --config recipes/tiny/grpo/config_demo.yaml
raml grpo --config recipes/SmolLM2-135M-Instruct/grpo/config_demo.yaml --support_size 2

# Two CPU processes, or any accelerate config (DeepSpeed, FSDP) on GPUs
accelerate launch --config_file accelerate_configs/cpu.yaml -m raml_recipes.scripts.grpo \
    --config recipes/tiny/grpo/config_demo.yaml
```
"""

from __future__ import annotations


def main(script_args, training_args, model_args, argv: list[str] = ()):
    """`argv`, the command line, is recorded in the run's `raml_run.json`: its model card reads it."""
    from datasets import Dataset
    from trl import get_peft_config

    from raml_recipes.configs import init_wandb_env
    from raml_recipes.data.grpo_prompts import to_grpo_rows
    from raml_recipes.data.mixture import data_label, grpo_mixture
    from raml_recipes.errors import RecipeError
    from raml_recipes.lineage import record_training_run
    from raml_recipes.models import resolve_model
    from raml_recipes.models.loading import load_tokenizer, model_init_kwargs, quantization_config
    from raml_recipes.rewards import get_reward_functions
    from raml_recipes.training.callbacks import run_callbacks
    from raml_recipes.training.grpo_trainer import (
        SupportSetGRPOTrainer,
        add_accuracy_metric,
        reward_params_for_template,
    )
    from raml_recipes.training.output_dir import prepare_output_dir
    from raml_recipes.training.preemption import resume_checkpoint, stop_on_full_disk
    from raml_recipes.training.run_end import finish_run

    if training_args.eval_strategy != "no" and not script_args.eval_dataset_name:
        raise RecipeError(
            "eval_strategy is set but no held-out prompts are named: set eval_dataset_name to a prompt file "
            "(data_prep/build_grpo_prompts.py) disjoint from dataset_name"
        )

    ################
    # Output folder and W&B
    ################
    # Before anything loads: an output folder of another run, or checkpoints no one asked to resume, stop here.
    prepare_output_dir("grpo", script_args, training_args, model_args)
    init_wandb_env(training_args)

    ################
    # Model and data
    ################
    model_path = resolve_model(model_args.model_name_or_path)
    training_args.model_init_kwargs = model_init_kwargs(model_args, training_args.model_init_kwargs)
    tokenizer = load_tokenizer(
        model_path, model_args.model_revision, script_args.chat_template_path, training_args.trust_remote_code
    )

    sources = None
    if script_args.datasets:  # a mixture: each source capped / weighted, one question id space
        rows, sources = grpo_mixture(
            script_args.datasets, script_args.mixture_seed, script_args.prompt_template, script_args.system_prompt
        )
        rows = rows[: script_args.max_prompts] if script_args.max_prompts else rows
    else:
        rows = to_grpo_rows(
            script_args.dataset_name,
            system_prompt=script_args.system_prompt,
            prompt_template=script_args.prompt_template,
            max_prompts=script_args.max_prompts,
            split=script_args.dataset_train_split,
        )
    reward_params = reward_params_for_template(tokenizer, script_args.reward_funcs, script_args.reward_kwargs)
    reward_funcs = get_reward_functions(script_args.reward_funcs, reward_params)
    eval_dataset = None
    if training_args.eval_strategy != "no":  # held-out prompts: reward and accuracy at eval_steps
        eval_dataset = Dataset.from_list(to_grpo_rows(
            script_args.eval_dataset_name, system_prompt=script_args.system_prompt,
            prompt_template=script_args.prompt_template, max_prompts=script_args.eval_max_prompts,
        ))  # fmt: skip
        accuracy_params = reward_params_for_template(tokenizer, ["accuracy"], None)
        add_accuracy_metric(reward_funcs, script_args.reward_funcs, training_args, accuracy_params)

    ################
    # Trainer
    ################
    trainer = SupportSetGRPOTrainer(
        model=model_path,
        reward_funcs=reward_funcs,
        args=training_args,
        train_dataset=Dataset.from_list(rows),
        eval_dataset=eval_dataset,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
        quantization_config=quantization_config(model_args),  # QLoRA (refused at parse time where it cannot run)
        callbacks=run_callbacks(training_args),
    )

    ################
    # Training: the run record first (a model card reads it), then from the last checkpoint if there is one
    ################
    record_training_run("grpo", list(argv), script_args, training_args, model_args, sources=sources)
    with stop_on_full_disk(training_args):  # a full disk: one line, the checkpoint to resume from
        train_result = trainer.train(resume_from_checkpoint=resume_checkpoint(training_args))

        ################
        # End of run: final model, metrics.json, curves, Hub push (training/run_end.py)
        ################
        # The GRPO loss hovers near zero whatever happens: the reward is the curve worth plotting.
        finish_run(
            trainer, train_result, data_label(script_args), curves=("reward", "eval_reward"), curves_label="mean reward",
            data={"prompts": len(rows), "sources": sources}, model=model_args.model_name_or_path, rewards=script_args.reward_funcs,
        )  # fmt: skip


def make_parser(prog: str | None = None):
    from trl import ModelConfig, TrlParser

    from raml_recipes.training.grpo_config import GRPOScriptArguments, SupportSetGRPOConfig

    return TrlParser((GRPOScriptArguments, SupportSetGRPOConfig, ModelConfig), prog=prog)


def cli(argv: list[str] | None = None, prog: str | None = None) -> None:
    import sys

    from raml_recipes.recipes import parse_recipe

    argv = sys.argv[1:] if argv is None else list(argv)
    main(*parse_recipe(make_parser(prog), argv), argv=argv)


if __name__ == "__main__":
    import sys

    from raml_recipes.user_errors import run

    sys.exit(run(cli, "raml grpo"))
