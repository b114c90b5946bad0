"""GRPO optimizer-step time with the gradient from k of G completions against all G, on one batch of
a GRPO recipe's own rollouts (`raml_recipes.training.support_timing`); the demo's "lever" stage:

    python -m raml_recipes.scripts.support_timing --config recipes/tiny/grpo/config_demo.yaml \
        --output_json outputs/lever.json [--repeats 3] [recipe overrides]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from datasets import Dataset

from raml_recipes.data.grpo_prompts import to_grpo_rows
from raml_recipes.models import resolve_model
from raml_recipes.models.loading import load_tokenizer, model_init_kwargs
from raml_recipes.recipes import ArgumentParser, parse_recipe
from raml_recipes.rewards import get_reward_functions
from raml_recipes.scripts.grpo import make_parser
from raml_recipes.training.grpo_trainer import SupportSetGRPOTrainer, reward_params_for_template
from raml_recipes.training.support_timing import time_support_steps


def main(argv: list[str] | None = None) -> int:
    own = ArgumentParser(add_help=False)
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
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
