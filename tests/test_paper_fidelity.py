"""The paper recipes hold the values docs/paper_fidelity.md says they hold, as their launch reads them.

Each table row of the page names recipes (globs under recipes/) and a `key = value`; the recipe is
parsed with its stage's own parser, as rank 0 of its documented launch (the accelerate config in its
header) would parse it, and the effective value must equal the cell's. A recipe edited without the
page, or the page without the recipe, fails here.
"""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass, fields
from pathlib import Path

import pytest
import yaml

from raml_recipes import prompts
from raml_recipes.probe.config import ProbeConfig
from raml_recipes.recipes import parse_recipe
from raml_recipes.scripts import evaluate, rollouts, summarize

from .conftest import ROOT
from .launch_settings import launch_settings

PAGE = ROOT / "docs" / "paper_fidelity.md"
RECIPES = ROOT / "recipes"
PAPER_RECIPES = sorted(p for p in RECIPES.glob("*/*/config_*.yaml") if p.parts[-3].startswith("Qwen"))
TRAINING_STAGES = ("sft", "grpo")
PARSERS = {
    "evaluate": evaluate.make_parser,
    "rollouts": rollouts.make_parser,
    "summarize": summarize.make_parser,
}
PROBE_DEFAULTS = "(probe defaults)"


@dataclass(frozen=True)
class Row:
    line: int
    setting: str
    recipes: tuple[str, ...]
    key: str | None
    value: str | None


def _cells(line: str) -> list[str]:
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


def fidelity_rows() -> list[Row]:
    rows = []
    for number, line in enumerate(PAGE.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.startswith("|") or line.startswith("|---") or line.startswith("| Setting"):
            continue
        cells = _cells(line)
        assert len(cells) == 6, f"{PAGE.name}:{number}: expected 6 cells, got {len(cells)}"
        recipes = tuple(re.findall(r"`([^`]+\.yaml)`", cells[3])) or (
            (PROBE_DEFAULTS,) if PROBE_DEFAULTS in cells[3] else ()
        )
        pair = re.fullmatch(r"`(\w+) = (.+)`", cells[4])
        rows.append(Row(number, cells[0], recipes, pair[1] if pair else None, pair[2] if pair else None))
    return rows


def expected_value(text: str):
    if text.startswith("prompts."):
        value = getattr(prompts, text.removeprefix("prompts."))
        return list(value) if isinstance(value, tuple) else value
    return yaml.safe_load(text)


def documented_processes(recipe: Path) -> int | None:
    """Processes of the launch a training recipe's header documents (its accelerate config's)."""
    match = re.search(r"--config_file (accelerate_configs/\S+\.yaml)", recipe.read_text())
    if match is None:
        return None
    return yaml.safe_load((ROOT / match[1]).read_text())["num_processes"]


def _plain(value):
    value = getattr(value, "value", value)
    return list(value) if isinstance(value, tuple) else value


@functools.cache
def effective_settings() -> dict[str, dict]:
    """recipe path (under recipes/) -> every effective field, for every paper recipe."""
    settings, launches = {}, {}
    for recipe in PAPER_RECIPES:
        stage, name = recipe.parent.name, str(recipe.relative_to(RECIPES))
        if stage in TRAINING_STAGES:
            processes = documented_processes(recipe)
            assert processes, f"{name}: its header documents no launch (--config_file accelerate_configs/...)"
            launches.setdefault(processes, []).append((name, stage))
        else:
            parsed = parse_recipe(PARSERS[stage](), ["--config", str(recipe)])
            settings[name] = {f.name: _plain(getattr(obj, f.name)) for obj in parsed for f in fields(obj)}
    for processes, group in launches.items():
        results = launch_settings(
            processes, [(stage, ["--config", str(RECIPES / name)]) for name, stage in group]
        )
        for (name, _), result in zip(group, results, strict=True):
            assert "fields" in result, (
                f"{name} does not start on {processes} processes: {result.get('error')}"
            )
            settings[name] = result["fields"]
    probe = ProbeConfig(probe="reflection", model_name_or_path="m", output_dir="o")
    settings[PROBE_DEFAULTS] = {f.name: _plain(getattr(probe, f.name)) for f in fields(probe)}
    return settings


def _same(actual, expected) -> bool:
    if isinstance(expected, float) or isinstance(actual, float):
        return isinstance(actual, (int, float)) and actual == pytest.approx(expected)
    return actual == expected


def mismatches(rows: list[Row], settings: dict[str, dict]) -> list[str]:
    found = []
    for row in rows:
        if row.key is None:
            continue
        for pattern in row.recipes:
            names = (
                [pattern]
                if pattern == PROBE_DEFAULTS
                else sorted(str(p.relative_to(RECIPES)) for p in RECIPES.glob(pattern))
            )
            if not names:
                found.append(f"line {row.line} ({row.setting}): no recipe matches {pattern}")
            for name in names:
                values = settings[name]
                if row.key not in values:
                    found.append(f"line {row.line} ({row.setting}): {name} has no key {row.key}")
                elif not _same(values[row.key], expected_value(row.value)):
                    found.append(
                        f"line {row.line} ({row.setting}): {name} has {row.key} = {values[row.key]!r}, "
                        f"the page says {row.value}"
                    )
    return found


def test_the_page_has_checked_rows_for_every_paper_recipe():
    rows = fidelity_rows()
    checked = [row for row in rows if row.key is not None]
    assert len(checked) > 80
    for recipe in PAPER_RECIPES:
        name = str(recipe.relative_to(RECIPES))
        assert any(recipe.match(pattern) or name == pattern for row in checked for pattern in row.recipes), (
            name
        )
    assert "docs/paper_fidelity.md" in (ROOT / "README.md").read_text()


def test_every_paper_recipe_holds_the_values_the_page_gives():
    assert mismatches(fidelity_rows(), effective_settings()) == []


@pytest.mark.parametrize(
    ("recipe", "key", "value"),
    [
        ("Qwen2.5-7B/sft/config_support8.yaml", "learning_rate", 2e-5),
        (
            "Qwen2.5-7B/sft/config_support32.yaml",
            "sequences_per_step",
            128,
        ),  # a launch that trains half the batch
        (
            "Qwen2.5-7B/grpo/config_zero.yaml",
            "system_prompt",
            prompts.GRPO_SYSTEM_PROMPT.replace("\n    \n", "\n\n"),
        ),
        ("Qwen2.5-7B/evaluate/config_paper.yaml", "top_p", 0.8),
        (PROBE_DEFAULTS, "definition", "text"),
    ],
)
def test_a_recipe_that_drifts_from_the_page_is_named(recipe, key, value):
    settings = copy.deepcopy(effective_settings())
    settings[recipe][key] = value
    found = mismatches(fidelity_rows(), settings)
    assert found and all(recipe in line and key in line for line in found), found


def test_prompt_constants_keep_the_official_spacing():
    """The official strings, character for character where a tidy copy would differ."""
    assert "structured steps:\n    \n1. **Reasoning Process**" in prompts.GRPO_SYSTEM_PROMPT
    assert (
        "structured steps:\n\n1. **Reasoning Process**: The Assistant comprehensively"
        in prompts.EVAL_SYSTEM_PROMPT
    )
    assert prompts.SFT_QWEN72B_PROMPT.endswith(
        "Here is the problem: \n\n{problem}"
    )  # a space before the newlines
    assert prompts.GRPO_SYSTEM_PROMPT.endswith("The answer is \\boxed{...final answer...}\n</conclusion>")
    assert (
        "\\boxed{...final answer...}" in prompts.EVAL_SYSTEM_PROMPT
        and "<think>" not in prompts.EVAL_SYSTEM_PROMPT
    )
    assert prompts.SFT_DISTILL_SYSTEM_PROMPT.endswith("<think>\n...\n</think>\n<answer>\n...\n</answer>")
