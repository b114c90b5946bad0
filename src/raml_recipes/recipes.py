"""Recipe parsing: TrlParser (YAML via `--config`, then command-line overrides), with clear errors.

TrlParser already refuses unknown YAML keys; this adds the file name, the closest valid key, and
the replacement for keys that older TRL/transformers versions had (open-r1's recipes use many).
`ArgumentParser` is argparse with the project's one flag spelling, for the commands without a recipe.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

import yaml

from .errors import RecipeError

# Keys that TRL 1.x / transformers 5.x no longer accept, and what to write instead.
RENAMED_KEYS = {
    "max_seq_length": "use `max_length`",
    "evaluation_strategy": "use `eval_strategy`",
    "no_cuda": "use `use_cpu`",
    "torch_dtype": "use `dtype`",
    "warmup_ratio": "use `warmup_steps` (a value below 1 is read as a ratio of the total steps)",
    "max_prompt_length": "removed from GRPO: prompts are not truncated; filter long prompts when building the dataset",
    "vllm_device": "removed: vLLM runs colocated (`vllm_mode: colocate`) or as a server (`vllm_mode: server`)",
    "tokenizer": "use `processing_class` in code; recipes set `chat_template_path` for the template",
    "gradient_checkpointing_use_reentrant": "use `activation_checkpointing_kwargs: {use_reentrant: false}`",
}


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the project's flag spelling: snake_case, as every recipe key and TRL's flags are.

    The kebab-case spelling of a flag this parser defines (`--dry-run` for `--dry_run`), which earlier
    releases used in some commands, still works for one release, with a one-line deprecation on stderr.
    """

    def parse_known_args(self, args=None, namespace=None):
        args = sys.argv[1:] if args is None else list(args)
        return super().parse_known_args(self._respell(args), namespace)

    def _respell(self, args: list[str]) -> list[str]:
        respelled = []
        for index, arg in enumerate(args):
            if arg == "--":  # everything after it is a value
                return respelled + args[index:]
            flag, equals, value = arg.partition("=")
            if flag.startswith("--") and "-" in flag[2:] and flag not in self._option_string_actions:
                snake = "--" + flag[2:].replace("-", "_")
                if snake in self._option_string_actions:
                    print(f"{self.prog}: {flag} is deprecated; write {snake}", file=sys.stderr)
                    arg = snake + equals + value
            respelled.append(arg)
        return respelled


def _valid_keys(parser: argparse.ArgumentParser) -> set[str]:
    return {action.dest for action in parser._actions if action.dest != "help"}


def check_recipe_keys(config_path: str | Path, parser: argparse.ArgumentParser) -> dict:
    """Load a recipe YAML and fail on the first key no dataclass of `parser` knows, naming it."""
    config_path = Path(config_path)
    if not config_path.is_file():
        raise RecipeError(f"recipe file not found: {config_path}")
    try:
        config = yaml.safe_load(config_path.read_text())
    except yaml.YAMLError as error:
        raise RecipeError(f"{config_path}: not valid YAML ({error})") from None
    if not isinstance(config, dict):
        raise RecipeError(f"{config_path}: expected a mapping of recipe keys, got {type(config).__name__}")
    valid = _valid_keys(parser) | {"env"}
    for key in config:
        if key in valid:
            continue
        if key in RENAMED_KEYS:
            hint = RENAMED_KEYS[key]
        else:
            close = difflib.get_close_matches(str(key), sorted(valid), n=1)
            hint = f"did you mean `{close[0]}`?" if close else "not a field of this stage's configuration"
        raise RecipeError(f"{config_path}: unknown key `{key}`: {hint}")
    return config


def check_flags(args: list[str], parser: argparse.ArgumentParser) -> None:
    """Fail on the first command-line flag no dataclass of `parser` knows, with the closest key.

    argparse would take `--learning_rat` as `--learning_rate` (a unique prefix) and report a true typo
    as "arguments not used" blamed on the recipe file; flags are checked whole, here, instead."""
    valid = _valid_keys(parser) | {"config"}
    for arg in args:
        if not arg.startswith("--") or arg == "--":
            continue
        name = arg[2:].split("=", 1)[0].replace("-", "_")
        if name in valid or (name.startswith("no_") and name[3:] in valid):
            continue
        if name in RENAMED_KEYS:
            hint = RENAMED_KEYS[name]
        else:
            close = difflib.get_close_matches(name, sorted(valid), n=1)
            hint = f"did you mean `--{close[0]}`?" if close else "not a field of this stage's configuration"
        raise RecipeError(f"command line: unknown flag `{arg.split('=', 1)[0]}`: {hint}")


def parse_recipe(parser, args: list[str] | None = None):
    """`parser.parse_args_and_config` after checking the recipe's keys and the command line's flags;
    returns the dataclasses. A value of the wrong type (a text for a number) is reported in one line
    naming where it was written, instead of argparse's usage and exit."""
    import re
    import sys

    args = list(sys.argv[1:] if args is None else args)
    if any(arg in ("-h", "--help") for arg in args):
        return parser.parse_args_and_config(args)
    source, recipe = "command line", {}
    if "--config" in args:
        index = args.index("--config")
        if index + 1 >= len(args):
            raise RecipeError("--config needs a recipe file path")
        recipe = check_recipe_keys(args[index + 1], parser)
        source = args[index + 1]
    check_flags(args, parser)

    def error(message: str):
        match = re.match(r"argument (?:--)?([\w-]+)", message)
        key = match[1].replace("-", "_") if match else None
        on_command_line = key is not None and any(a.split("=", 1)[0].replace("-", "_") == f"__{key}" for a in args)
        where = args[args.index("--config") + 1] if key in recipe and not on_command_line else "command line"
        raise RecipeError(f"{where}: {message}")

    parser.error = error
    try:
        parsed = parser.parse_args_and_config(args)
        for settings in parsed:  # a model-loading request that cannot be met, before anything loads
            if hasattr(settings, "load_in_4bit"):
                from .models.loading import quantization_config

                quantization_config(settings)
        return parsed
    except ValueError as error:  # a dataclass's own check (__post_init__): a value the recipe must change
        if isinstance(error, RecipeError):
            raise
        raise RecipeError(f"{source}: {error}") from None
