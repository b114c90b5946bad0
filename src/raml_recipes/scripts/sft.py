"""Supervised fine-tuning on per-question support sets of reasoning trajectories.

```bash
raml sft --config recipes/tiny/sft/config_demo.yaml
raml sft --config recipes/SmolLM2-135M-Instruct/sft/config_demo.yaml --support_size 1 --output_dir outputs/k1

# Two CPU processes, or any accelerate config (DeepSpeed, FSDP) on GPUs
accelerate launch --config_file accelerate_configs/cpu.yaml -m raml_recipes.scripts.sft \
    --config recipes/tiny/sft/config_demo.yaml
```
"""

from __future__ import annotations


def main(script_args, training_args, model_args, argv: list[str] = ()):
    """`argv`, the command line, is recorded in the run's `raml_run.json`: its model card reads it."""
    from trl import get_peft_config

    from raml_recipes.configs import init_wandb_env
    from raml_recipes.data.loaders import load_trajectories
    from raml_recipes.data.mixture import data_label, sft_mixture
    from raml_recipes.data.sft_format import build_sft_dataset
    from raml_recipes.errors import RecipeError
    from raml_recipes.lineage import record_training_run
    from raml_recipes.models import resolve_model
    from raml_recipes.models.loading import model_init_kwargs, quantization_config
    from raml_recipes.training.callbacks import run_callbacks
    from raml_recipes.training.output_dir import prepare_output_dir
    from raml_recipes.training.preemption import resume_checkpoint, stop_on_full_disk
    from raml_recipes.training.run_end import finish_run
    from raml_recipes.training.sft_trainer import GenerationAccuracy, SupportSetSFTTrainer

    if script_args.eval_accuracy_questions and training_args.eval_strategy == "no":
        raise RecipeError("eval_accuracy_questions is set but eval_strategy is no: set eval_strategy (steps or epoch) "
                          "and eval_steps, or drop eval_accuracy_questions")  # fmt: skip

    ################
    # Output folder and W&B
    ################
    # Before anything loads: an output folder of another run, or checkpoints no one asked to resume, stop here.
    prepare_output_dir("sft", script_args, training_args, model_args)
    init_wandb_env(training_args)

    ################
    # Model and data
    ################
    model_path = resolve_model(model_args.model_name_or_path)
    training_args.model_init_kwargs = model_init_kwargs(model_args, training_args.model_init_kwargs)

    def sft_rows(name, split):
        records = load_trajectories(
            name, split=split, config=script_args.dataset_config, max_questions=script_args.max_questions
        )
        return build_sft_dataset(records, script_args.prompt_template, script_args.system_prompt)

    sources = None
    if script_args.datasets:  # a mixture: each source capped / weighted, one question id space
        train_dataset, data_stats, sources = sft_mixture(
            script_args.datasets, script_args.mixture_seed, script_args.prompt_template, script_args.system_prompt
        )
    else:
        train_dataset, data_stats = sft_rows(script_args.dataset_name, script_args.dataset_train_split)
    eval_dataset, accuracy = None, None
    if training_args.eval_strategy != "no":
        eval_dataset, _ = sft_rows(*script_args.eval_source())
        if script_args.eval_accuracy_questions:  # held-out questions answered and graded at each evaluation
            name, split = script_args.eval_source()
            items = load_trajectories(name, split=split, max_questions=script_args.eval_accuracy_questions)
            accuracy = GenerationAccuracy(list(items), script_args.prompt_template, script_args.system_prompt,
                                          script_args.eval_accuracy_max_new_tokens)  # fmt: skip

    ################
    # Trainer
    ################
    trainer = SupportSetSFTTrainer(
        model=model_path,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        generation_accuracy=accuracy,
        peft_config=get_peft_config(model_args),
        quantization_config=quantization_config(model_args),  # QLoRA (refused at parse time where it cannot run)
        callbacks=run_callbacks(training_args),
    )

    ################
    # Training: the run record first (a model card reads it), then from the last checkpoint if there is one
    ################
    record_training_run("sft", list(argv), script_args, training_args, model_args, sources=sources)
    with stop_on_full_disk(training_args):  # a full disk: one line, the checkpoint to resume from
        train_result = trainer.train(resume_from_checkpoint=resume_checkpoint(training_args))

        ################
        # End of run: final model, metrics.json, curves, Hub push (training/run_end.py)
        ################
        finish_run(
            trainer, train_result, data_label(script_args), data={**data_stats.as_dict(), "sources": sources},
            model=model_args.model_name_or_path,
        )  # fmt: skip


def make_parser(prog: str | None = None):
    from trl import ModelConfig, TrlParser

    from raml_recipes.training.sft_config import SFTScriptArguments, SupportSetSFTConfig

    return TrlParser((SFTScriptArguments, SupportSetSFTConfig, ModelConfig), prog=prog)


def cli(argv: list[str] | None = None, prog: str | None = None) -> None:
    import sys

    from raml_recipes.recipes import parse_recipe

    argv = sys.argv[1:] if argv is None else list(argv)
    main(*parse_recipe(make_parser(prog), argv), argv=argv)


if __name__ == "__main__":
    import sys

    from raml_recipes.user_errors import run

    sys.exit(run(cli, "raml sft"))
