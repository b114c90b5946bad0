"""Every recipe parses with its stage's TrlParser; bad keys are named; accelerate configs load."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from accelerate.commands.config.config_args import load_config_from_file

from raml_recipes.errors import RecipeError
from raml_recipes.prompts import PAPER_SFT_PROMPT
from raml_recipes.recipes import parse_recipe
from raml_recipes.scripts import evaluate, grpo, rollouts, sft, summarize

from .conftest import ROOT

PARSERS = {
    "sft": sft.make_parser,
    "grpo": grpo.make_parser,
    "evaluate": evaluate.make_parser,
    "summarize": summarize.make_parser,
    "rollouts": rollouts.make_parser,
}
RECIPES = sorted((ROOT / "recipes").glob("*/*/config_*.yaml"))


@pytest.fixture(autouse=True)
def bf16_gpu(monkeypatch):
    """GPU recipes ask for bf16, which TrainingArguments checks against the hardware: pretend a GPU."""
    import transformers.training_args

    monkeypatch.setattr(transformers.training_args, "is_torch_bf16_gpu_available", lambda: True)
    # GPU GRPO recipes ask for vLLM, which a CPU machine does not have: pretend it is installed.
    monkeypatch.setattr("raml_recipes.training.grpo_config.vllm_installed", lambda: True)
    monkeypatch.setattr("raml_recipes.training.grpo_config.cuda_available", lambda: True)


def test_every_stage_folder_has_a_parser():
    assert RECIPES
    assert {path.parent.name for path in RECIPES} <= set(PARSERS)


def normalised(value, like=None):
    """Compare recipe values as the dataclasses hold them: enums by value, lists for list fields."""
    value = getattr(value, "value", value)
    if isinstance(value, list) and value and dataclasses.is_dataclass(value[0]):
        # mixture sources: each as the recipe writes it, the keys it sets (the others keep their defaults)
        return [{f.name: getattr(v, f.name) for f in dataclasses.fields(v) if getattr(v, f.name) != f.default}
                for v in value]  # fmt: skip
    if like == [] and value == "none":  # report_to: none
        return []
    if isinstance(like, list) and not isinstance(value, list):
        value = [value]
    if isinstance(like, float) and isinstance(value, (int, str)):
        value = float(value)
    return value


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: str(p.relative_to(ROOT / "recipes")))
def test_recipe_parses_with_trlparser(path):
    parsed = parse_recipe(PARSERS[path.parent.name](), ["--config", str(path)])
    raw = yaml.safe_load(path.read_text())
    # Every key of the YAML lands, with its value, in one of the stage's dataclasses.
    for key, value in raw.items():
        found = [getattr(obj, key) for obj in parsed if hasattr(obj, key)]
        assert found, key
        assert normalised(found[0]) == normalised(value, like=found[0]), key
    if path.parent.name == "sft":
        assert parsed[0].prompt_template == raw.get("prompt_template", PAPER_SFT_PROMPT)


def test_command_line_overrides_the_recipe():
    path = ROOT / "recipes/tiny/sft/config_demo.yaml"
    _, args, _ = parse_recipe(
        sft.make_parser(), ["--config", str(path), "--support_size", "1", "--learning_rate", "0.5"]
    )
    assert args.support_size == 1 and args.learning_rate == 0.5


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("max_seq_length", "unknown key `max_seq_length`: use `max_length`"),
        ("warmup_ratio", "unknown key `warmup_ratio`: use `warmup_steps`"),
        ("max_prompt_length", "unknown key `max_prompt_length`: removed from GRPO"),
        ("suport_size", "unknown key `suport_size`: did you mean `support_size`?"),
        ("flux_capacitor", "unknown key `flux_capacitor`: not a field"),
    ],
)
def test_unknown_keys_are_named_with_the_file(tmp_path, key, message):
    recipe = yaml.safe_load((ROOT / "recipes/tiny/sft/config_demo.yaml").read_text())
    recipe[key] = 1
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(recipe))
    with pytest.raises(RecipeError, match=f"{path}: {message}".replace("?", r"\?").replace("`", "`")):
        parse_recipe(sft.make_parser(), ["--config", str(path)])


def test_bad_values_name_the_field(tmp_path):
    recipe = yaml.safe_load((ROOT / "recipes/tiny/sft/config_demo.yaml").read_text())
    path = tmp_path / "bad.yaml"
    for key, value, message in [
        ("support_size", 0, "support_size must be a positive integer"),
        ("support_redraw", "sometimes", "support_redraw must be 'epoch' or 'fixed'"),
        ("prompt_template", "Solve:", r"prompt_template must contain the placeholder \{problem\}"),
    ]:
        path.write_text(yaml.safe_dump({**recipe, key: value}))
        with pytest.raises(ValueError, match=message):
            parse_recipe(sft.make_parser(), ["--config", str(path)])


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("--learnin_rate", "command line: unknown flag `--learnin_rate`: did you mean `--learning_rate`?"),
        # argparse alone would read a unique prefix as the whole flag and train with it
        ("--learning_rat", "command line: unknown flag `--learning_rat`: did you mean `--learning_rate`?"),
        ("--max_seq_length", "command line: unknown flag `--max_seq_length`: use `max_length`"),
        ("--flux-capacitor", "command line: unknown flag `--flux-capacitor`: not a field of this stage's configuration"),
    ],
)
def test_unknown_command_line_flags_are_named_not_blamed_on_the_recipe(flag, message):
    with pytest.raises(RecipeError) as error:
        parse_recipe(sft.make_parser(), ["--config", "recipes/tiny/sft/config_demo.yaml", flag, "1"])
    assert str(error.value) == message


def test_known_flags_in_both_spellings_and_negated_booleans_pass():
    _, args, _ = parse_recipe(sft.make_parser(), ["--config", "recipes/tiny/sft/config_demo.yaml",
                                                  "--learning-rate", "0.01", "--support_size=1"])  # fmt: skip
    assert args.learning_rate == 0.01 and args.support_size == 1


def test_a_value_of_the_wrong_type_names_where_it_was_written(tmp_path):
    recipe = yaml.safe_load((ROOT / "recipes/tiny/sft/config_demo.yaml").read_text())
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**recipe, "learning_rate": "fast"}))
    with pytest.raises(RecipeError, match=rf"^{path}: argument --learning_rate.*invalid float value: 'fast'$"):
        parse_recipe(sft.make_parser(), ["--config", str(path)])
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(recipe))
    with pytest.raises(RecipeError, match=r"^command line: argument --learning_rate.*invalid float value: 'slow'$"):
        parse_recipe(sft.make_parser(), ["--config", str(good), "--learning_rate", "slow"])


def test_missing_or_malformed_recipe_files(tmp_path):
    with pytest.raises(RecipeError, match="recipe file not found"):
        parse_recipe(sft.make_parser(), ["--config", str(tmp_path / "none.yaml")])
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(RecipeError, match="expected a mapping of recipe keys"):
        parse_recipe(sft.make_parser(), ["--config", str(listing)])


@pytest.mark.parametrize("name", ["cpu", "ddp", "zero2", "zero3", "fsdp"])
def test_accelerate_configs_load(name):
    config = load_config_from_file(str(ROOT / "accelerate_configs" / f"{name}.yaml"))
    expected = {
        "cpu": "MULTI_GPU",
        "ddp": "MULTI_GPU",
        "zero2": "DEEPSPEED",
        "zero3": "DEEPSPEED",
        "fsdp": "FSDP",
    }
    assert str(config.distributed_type).endswith(expected[name])
    assert config.num_processes == (2 if name == "cpu" else 8)
    if name.startswith("zero"):
        assert config.deepspeed_config["zero_stage"] == int(name[-1])
    assert (
        Path(ROOT / "accelerate_configs" / f"{name}.yaml").read_text().startswith("#")
    )  # each says what it is for


@pytest.mark.parametrize("name", ["ddp", "zero2", "zero3", "fsdp"])
def test_gpu_accelerate_configs_pass_accelerates_own_launch_checks(name, monkeypatch):
    """What `accelerate launch --config_file` does before it starts processes, and the plugin the
    training process then builds from the environment it is given (its own validation)."""
    import os
    from unittest import mock

    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils import DeepSpeedPlugin, FullyShardedDataParallelPlugin
    from accelerate.utils.launch import prepare_deepspeed_cmd_env, prepare_multi_gpu_env

    if name.startswith("zero"):
        pytest.importorskip("deepspeed")
        monkeypatch.setenv("DS_ACCELERATOR", "cpu")
    argv = [
        "--config_file",
        str(ROOT / "accelerate_configs" / f"{name}.yaml"),
        "-m",
        "raml_recipes.scripts.sft",
    ]
    args, defaults, mixed_precision_from_config = _validate_launch_command(
        launch_command_parser().parse_args(argv)
    )
    assert args.num_processes == 8 and args.mixed_precision == "bf16"
    if args.use_deepspeed:
        # As accelerate's launch_command does before calling the DeepSpeed launcher.
        fields = list(defaults.deepspeed_config) + (
            ["mixed_precision"] if mixed_precision_from_config else []
        )
        args.deepspeed_fields_from_accelerate_config = ",".join(fields)
        _, env = prepare_deepspeed_cmd_env(args)
        with mock.patch.dict(os.environ, env):
            plugin = DeepSpeedPlugin()
        assert plugin.zero_stage == int(name[-1])
        assert plugin.deepspeed_config["zero_optimization"]["offload_optimizer"]["device"] == "none"
        assert plugin.zero3_init_flag == (name == "zero3")
    else:
        env = prepare_multi_gpu_env(args)
        assert env["ACCELERATE_MIXED_PRECISION"] == "bf16"
        if name == "fsdp":
            with mock.patch.dict(os.environ, env):
                plugin = FullyShardedDataParallelPlugin()
            assert plugin.fsdp_version == 2 and plugin.reshard_after_forward is True
            assert str(plugin.state_dict_type).endswith("FULL_STATE_DICT")


def test_commands_take_snake_case_flags_and_the_old_kebab_spelling_with_a_deprecation(capsys):
    from raml_recipes.recipes import ArgumentParser
    from raml_recipes.scripts.publish import make_parser

    # The real `raml publish` parser: the documented spelling, silently.
    args = make_parser("raml publish").parse_args(["m", "--repo_id", "me/x", "--dry_run", "out"])
    assert (args.repo_id, str(args.dry_run)) == ("me/x", "out")
    assert capsys.readouterr().err == ""
    # The spelling of earlier releases: the same values, one line per old flag naming the new one.
    args = make_parser("raml publish").parse_args(["m", "--repo-id=me/x", "--dry-run", "out"])
    assert (args.repo_id, str(args.dry_run)) == ("me/x", "out")
    assert capsys.readouterr().err.splitlines() == [
        "raml publish: --repo-id is deprecated; write --repo_id",
        "raml publish: --dry-run is deprecated; write --dry_run",
    ]
    parser = ArgumentParser(prog="p")
    parser.add_argument("--train_questions", type=int)
    parser.add_argument("rest", nargs="*")
    # After "--" everything is a value; a kebab flag with no snake twin is still unknown.
    assert parser.parse_args(["--", "--train-questions"]).rest == ["--train-questions"]
    assert parser.parse_args(["--", "--train-questions"]).train_questions is None
    with pytest.raises(SystemExit):
        parser.parse_args(["--heldout-questions", "3"])
    assert "unrecognized arguments: --heldout-questions" in capsys.readouterr().err


def test_the_moved_support_timing_command_still_runs_under_its_old_name():
    import subprocess
    import sys

    old = subprocess.run([sys.executable, "-m", "raml_recipes.training.support_timing", "--help"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)  # fmt: skip
    assert old.returncode == 0, old.stderr
    assert old.stderr.splitlines()[0] == (
        "raml_recipes.training.support_timing is deprecated as a command: run raml_recipes.scripts.support_timing"
    )
    assert "--support_size" in old.stdout  # the GRPO recipe's flags: the command itself answered
