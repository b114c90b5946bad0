"""`global_batch_size`: the recipe's batch on any number of processes, or a stop with the numbers."""

from __future__ import annotations

import pytest

from raml_recipes.errors import RecipeError
from raml_recipes.recipes import parse_recipe
from raml_recipes.scripts import sft
from raml_recipes.training.batch import derive_accumulation, planned_world_size

from .conftest import ROOT
from .launch_settings import launch_settings

SFT_PAPER = str(ROOT / "recipes/Qwen2.5-7B/sft/config_support8.yaml")
GRPO_PAPER = str(ROOT / "recipes/Qwen2.5-7B/grpo/config_zero.yaml")
TINY_SFT = str(ROOT / "recipes/tiny/sft/config_demo.yaml")


@pytest.mark.parametrize(
    ("batch", "per_device", "processes", "steps"),
    [(256, 1, 8, 32), (256, 1, 16, 16), (256, 2, 32, 4), (4096, 4, 8, 128), (16, 16, 1, 1)],
)
def test_accumulation_steps_are_the_batch_over_the_micro_step(batch, per_device, processes, steps):
    assert derive_accumulation(batch, per_device, processes) == steps


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            (256, 1, 24),
            "24 sequences per micro-step, and 256 is not a multiple of 24. Use global_batch_size 240 "
            "or 264; or a launch on 16 or 32 processes.",
        ),
        (
            (256, 3, 8),
            "Use per_device_train_batch_size one of 1, 2, 4, 8, 16, 32; or global_batch_size 240 or 264.",
        ),
        (
            (8, 16, 1),
            "Use per_device_train_batch_size one of 1, 2, 4, 8; or global_batch_size 16.",
        ),  # < 1 micro-step
        ((0, 1, 8), "global_batch_size must be a positive integer"),
    ],
)
def test_a_batch_that_cannot_be_met_says_what_to_change(args, message):
    with pytest.raises(ValueError) as error:
        derive_accumulation(*args)
    assert message in str(error.value)


def test_paper_recipes_train_the_same_batch_on_16_processes_as_on_8():
    """Through the start-up a launch runs (the stage's parser, TrainingArguments, accelerate's state),
    on a simulated process group of 8, 16 and 24 ranks."""
    requests = [("sft", ["--config", SFT_PAPER]), ("grpo", ["--config", GRPO_PAPER])]
    (sft8, grpo8), (sft16, grpo16) = (launch_settings(n, requests) for n in (8, 16))
    sft8, sft16, grpo8, grpo16 = (r["fields"] for r in (sft8, sft16, grpo8, grpo16))
    assert (sft8["processes"], sft16["processes"]) == (8, 16)
    assert (sft8["gradient_accumulation_steps"], sft16["gradient_accumulation_steps"]) == (32, 16)
    assert sft8["sequences_per_step"] == sft16["sequences_per_step"] == 256
    # GRPO: 1,024 prompts x 16 per generation, 256 prompts per update, 4 updates per generation.
    assert (grpo8["gradient_accumulation_steps"], grpo16["gradient_accumulation_steps"]) == (128, 64)
    assert (grpo8["steps_per_generation"], grpo16["steps_per_generation"]) == (512, 256)
    for grpo in (grpo8, grpo16):
        assert grpo["sequences_per_step"] == 4096 and grpo["prompts_per_generation"] == 1024
        assert grpo["updates_per_generation"] == 4
    sft24, grpo24 = launch_settings(24, requests)
    assert "global_batch_size 256 cannot be met exactly" in sft24["error"]
    assert "a launch on 16 or 32 processes" in sft24["error"] and "config_support8.yaml" in sft24["error"]
    assert (
        "global_batch_size 4096 cannot be met exactly: per_device_train_batch_size 4 x 24" in grpo24["error"]
    )


def test_a_launch_whose_process_group_disagrees_with_world_size_is_refused():
    """WORLD_SIZE says 16 but the process group has 8 ranks: the batch would be derived for the wrong world."""
    (result,) = launch_settings(8, [("sft", ["--config", SFT_PAPER])], world_size_env=16)
    assert (
        "global_batch_size was derived for 16 processes (WORLD_SIZE) but the process group has 8"
        in result["error"]
    )


def test_global_batch_and_accumulation_steps_cannot_both_be_set():
    with pytest.raises(
        RecipeError,
        match="gives gradient_accumulation_steps 4 on 2 processes, but gradient_accumulation_steps is set to 3: set only one",
    ):
        with planned_world_size(2):
            parse_recipe(sft.make_parser(), ["--config", TINY_SFT, "--global_batch_size", "16",
                                             "--per_device_train_batch_size", "2", "--gradient_accumulation_steps", "3"])  # fmt: skip
    with planned_world_size(2):
        _, args, _ = parse_recipe(sft.make_parser(), ["--config", TINY_SFT, "--global_batch_size", "16",
                                                      "--per_device_train_batch_size", "2",
                                                      "--gradient_accumulation_steps", "1"])  # fmt: skip
    assert args.gradient_accumulation_steps == 4
