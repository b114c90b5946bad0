"""The package's structure: every import points down a declared order of layers, nothing imports in a
circle, and no recipe field is declared in two config classes (shared ones live in `configs.py`).

Imports are read from the source (`ast`), those inside functions and under TYPE_CHECKING included, so
a lazy import cannot hide an upward one.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "raml_recipes"

# Bottom to top. A unit is a top-level module or a subpackage of raml_recipes. Each layer may import
# its own layer (without a circle) and the layers below it, never a layer above.
LAYERS = [
    ["errors", "seeds", "paths", "plotting", "checks", "prompts", "models"],  # foundations
    ["rewards", "recipes"],  # grading; recipe files
    ["data"],  # records, loaders, benchmarks, support sets, mixtures
    ["identity", "lineage", "configs", "stages"],  # what made an output; the shared argument groups
    ["runs", "publish", "user_errors"],
    ["evaluation"],
    ["training", "probe", "summarize", "demo_report"],  # the stages built on evaluation
    ["scripts", "demo", "experiments", "job_settings", "cli"],  # entry points
]
LAYER_OF = {unit: number for number, units in enumerate(LAYERS) for unit in units}

# Fields that two config classes declare on purpose: one field each (not a block), with a meaning of
# the stage's own. Anything else declared twice belongs in a group of raml_recipes.configs.
STAGE_OWN_FIELDS = {
    "output_dir": "what each stage writes there differs (TRL's own for sft/grpo)",
    "max_questions": "questions of a file, of each benchmark, or of a mixture source",
    "eval_dataset_name": "held-out trajectories (sft) vs held-out prompts (grpo)",
    "support_size": "k of a question's trajectories (sft) vs k of G completions (grpo)",
    "max_thought_tokens": "the summarizer's cut vs the probe's cut, in different tokenizers",
    "seed": "the probe's perturbation seed (0) vs the sampling seed (42)",
    "prompt_template": "a mixture source's own template overrides the recipe's",
    "chat_template_path": "GRPO's model fields are TRL's ModelConfig, which lacks it",
}
CONFIG_MODULES = [
    "raml_recipes.configs",
    "raml_recipes.data.mixture",
    "raml_recipes.training.sft_config",
    "raml_recipes.training.grpo_config",
    "raml_recipes.evaluation.config",
    "raml_recipes.summarize.config",
    "raml_recipes.probe.config",
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The raml_recipes modules (or packages) `path` imports, relative imports resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("raml_recipes")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("raml_recipes"):
                for alias in node.names:  # `from . import x` may name a module
                    candidate = f"{target}.{alias.name}"
                    as_path = PACKAGE.parent / candidate.replace(".", "/")
                    found.add(
                        candidate if as_path.with_suffix(".py").is_file() or as_path.is_dir() else target
                    )
    return found


def unit(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in PACKAGE.rglob("*.py")}


def test_every_import_names_a_module_that_exists(graph):
    # A lazy import (inside a function) of a moved module fails only when that function runs.
    def exists(module: str) -> bool:
        path = PACKAGE.parent / module.replace(".", "/")
        return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()

    missing = [f"{source} imports {target}" for source, targets in graph.items() for target in targets
               if not exists(target)]  # fmt: skip
    assert missing == []


def test_every_unit_has_a_layer():
    units = {
        p.stem if p.is_file() else p.name for p in PACKAGE.iterdir() if not p.name.startswith(("_", "."))
    }
    units = {u for u in units if (PACKAGE / f"{u}.py").is_file() or (PACKAGE / u / "__init__.py").is_file()}
    assert units == set(LAYER_OF), (
        f"add to LAYERS: {sorted(units - set(LAYER_OF))}; gone: {sorted(set(LAYER_OF) - units)}"
    )


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return [
        f"{source} -> {target} (layer {LAYER_OF[unit(source)]} -> {LAYER_OF[unit(target)]})"
        for source, targets in graph.items()
        for target in targets
        if unit(source) and unit(target) and LAYER_OF[unit(target)] > LAYER_OF[unit(source)]
    ]


def test_no_module_imports_a_higher_layer(graph):
    assert upward_imports(graph) == []


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt, path + [nxt])):
                return found
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_no_import_circle_between_modules_or_between_packages(graph):
    assert _cycle(graph) is None
    packages = defaultdict(set)
    for source, targets in graph.items():
        for target in targets:
            if unit(source) and unit(target) and unit(source) != unit(target):
                packages[unit(source)].add(unit(target))
    assert _cycle(packages) is None


def test_the_checks_catch_an_upward_import_and_a_circle():
    # The two checks above on hand-made graphs: a data module importing a script (up), a script importing
    # data and a module of its own layer (down, level), and a 3-circle.
    assert upward_imports({"raml_recipes.data.io": {"raml_recipes.scripts.sft"}}) == [
        "raml_recipes.data.io -> raml_recipes.scripts.sft (layer 2 -> 7)"
    ]
    assert upward_imports({"raml_recipes.scripts.sft": {"raml_recipes.data.io", "raml_recipes.demo"}}) == []
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    src = PACKAGE / "training" / "support_timing.py"
    assert "raml_recipes.scripts.grpo" not in imports_of(src)  # the import that used to run upward


def test_no_config_field_is_declared_in_two_classes():
    declared = defaultdict(list)
    for name in CONFIG_MODULES:
        module = importlib.import_module(name)
        for cls in vars(module).values():
            if isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__module__ == name:
                for field_name in cls.__dict__.get("__annotations__", {}):
                    declared[field_name].append(f"{name}.{cls.__name__}")
    twice = {f: where for f, where in declared.items() if len(where) > 1 and f not in STAGE_OWN_FIELDS}
    assert twice == {}, "declare these once, in a group of raml_recipes.configs"
    unused = [f for f in STAGE_OWN_FIELDS if len(declared.get(f, [])) < 2]
    assert unused == [], "no longer declared twice: drop from STAGE_OWN_FIELDS"
