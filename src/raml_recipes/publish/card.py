"""The model card: metadata, lineage, the exact recipes of every stage, evaluation results."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..lineage import CHECKPOINT_DIR, describe_lineage, describe_stage
from ..models.embedded import hub_id as embedded_hub_id
from .records import load_evaluations, looks_like_hub_id, model_lineage

if TYPE_CHECKING:
    from huggingface_hub import ModelCard

PAPER_TITLE = "Deciphering Trajectory-Aided LLM Reasoning: An Optimization Perspective"
PAPER_URL = "https://arxiv.org/abs/2505.19815"
CARD_NAME = "README.md"


def _fenced(text: str, language: str) -> str:
    # A fence longer than any backtick run inside, so a recipe with ``` in a comment cannot end the block.
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text.rstrip()}\n{fence}"


def _stage_section(number: int, stage: dict) -> str:
    dataset = stage.get("dataset_name")
    where = "Hub dataset" if looks_like_hub_id(dataset) else "local data"
    lines = [
        f"### {number}. {describe_stage(stage)}",
        "",
        f"- Starting model: `{stage.get('model_name_or_path')}`",
        f"- Data: `{dataset}` ({where})",
        f"- raml-recipes {stage.get('raml_recipes_version', 'unknown')}, run started {stage.get('created', '?')}",
    ]
    overrides = stage.get("overrides") or []
    lines.append(
        f"- Command-line overrides: `{shlex.join(overrides)}`"
        if overrides
        else "- Command-line overrides: none"
    )
    lines.append("")
    if stage.get("recipe_path"):
        lines += [f"Recipe `{stage['recipe_path']}`:", "", _fenced(stage.get("recipe_yaml") or "", "yaml")]
    else:
        lines.append("No recipe file: every setting came from the command line.")
    return "\n".join(lines)


def _value(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _evaluation_table(rows: list[dict]) -> str:
    lines = ["| benchmark | metric | value | questions | samples per question |", "|---|---|---:|---:|---:|"]
    for r in rows:
        cells = (r["benchmark"], r["metric"], _value(r["value"]), r["questions"], r["samples"])
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def build_model_card(
    model_dir: str | Path,
    *,
    repo_id: str,
    evaluations: Iterable[str | Path] = (),
    license: str = "apache-2.0",
    revision: str = "main",
) -> ModelCard:
    """The model card of a trained model folder (or checkpoint-N folder), from its run record.

    `revision` only changes the usage snippet, for cards pushed to a checkpoint branch.
    """
    from huggingface_hub import ModelCard, ModelCardData

    model_dir = Path(model_dir)
    stages = model_lineage(model_dir)
    results, table = load_evaluations(evaluations, model_dir)
    base = stages[0]["model_name_or_path"]
    base = embedded_hub_id(base) or base  # an embedded model's origin on the Hub
    datasets = list(
        dict.fromkeys(s["dataset_name"] for s in stages if looks_like_hub_id(s.get("dataset_name")))
    )
    data = ModelCardData(
        base_model=base if looks_like_hub_id(base) else None,
        license=license,
        datasets=datasets or None,
        library_name="transformers",
        pipeline_tag="text-generation",
        tags=["raml-recipes", "trl", *(str(s["stage"]).lower() for s in stages), "math-reasoning"],
        eval_results=results or None,
        model_name=repo_id if results else None,
    )
    checkpoint = CHECKPOINT_DIR.match(model_dir.name)
    sections = [
        f"# {repo_id}",
        f"This model was trained with raml-recipes, post-training recipes for math reasoning on TRL after "
        f'"{PAPER_TITLE}" ([arXiv 2505.19815]({PAPER_URL})).'
        + (
            f" This revision is the checkpoint at training step {model_dir.name.split('-')[1]}."
            if checkpoint
            else ""
        ),
        f"## Lineage\n\n`{describe_lineage(stages)}`",
        "## Training stages",
        *(_stage_section(number, stage) for number, stage in enumerate(stages, start=1)),
    ]
    if results:
        sections.append(
            f"## Evaluation\n\nEach number is of this model's files (checked by content), on the benchmark, "
            f"questions and samples given.\n\n{_evaluation_table(table)}"
        )
    revision_arg = f', revision="{revision}"' if revision != "main" else ""
    usage = (
        "from transformers import pipeline\n\n"
        f'generator = pipeline("text-generation", model="{repo_id}"{revision_arg})\n'
        'messages = [{"role": "user", "content": "What is 12 * 7 + 5?"}]\n'
        'print(generator(messages, max_new_tokens=1024)[0]["generated_text"][-1]["content"])'
    )
    sections.append(f"## How to use\n\n{_fenced(usage, 'python')}")
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n\n".join(sections) + "\n")
