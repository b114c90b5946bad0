"""What a model folder says about itself before it is published: its run record and lineage, and the
`raml evaluate` folders that scored it (checked by content)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ..identity import input_digest, read_identity
from ..lineage import RUN_RECORD, find_run_record, read_lineage

if TYPE_CHECKING:
    from huggingface_hub import EvalResult


class PublishError(ValueError):
    """A model folder, evaluation folder, repo id or branch that cannot be published as asked."""


def looks_like_hub_id(name: str | None) -> bool:
    """True for 'owner/name' strings that are not local paths (nor files such as 'data/x.jsonl')."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if not name or name.count("/") != 1 or Path(name).suffix in (".jsonl", ".json", ".parquet"):
        return False
    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return not Path(name).exists()


def check_repo_id(repo_id: str) -> None:
    """Fail with PublishError unless `repo_id` is a valid OWNER/NAME (a namespace is required to publish)."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise PublishError(f"bad repo id: {error}") from None
    if repo_id.count("/") != 1:
        raise PublishError(f"repo id must be OWNER/NAME, got {repo_id!r}")


def model_lineage(model_dir: str | Path) -> list[dict]:
    """The folder's stages, after checking it is a saved model with a run record (or inside a run folder)."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise PublishError(f"model folder not found: {model_dir}")
    if not (model_dir / "config.json").is_file():
        raise PublishError(
            f"{model_dir} has no config.json: not a saved model (the output_dir of `raml sft` / `raml grpo`, "
            "or one of its checkpoint-N folders)"
        )
    if find_run_record(model_dir) is None:
        raise PublishError(
            f"{model_dir} has no {RUN_RECORD}: the run record written by `raml sft` / `raml grpo` into its "
            "output_dir, from which the card takes the recipe and lineage"
        )
    return read_lineage(model_dir)


def check_evaluation_of(folder: str | Path, model_dir: str | Path) -> None:
    """Fail with PublishError unless the `raml evaluate` folder scored this model, by content: its
    identity's model digest must be the published folder's (`raml_recipes.identity`)."""
    recorded = read_identity(folder)
    scored = (recorded or {}).get("inputs", {}).get("model")
    if scored is None:
        raise PublishError(
            f"{folder} does not record which model it scored (made before evaluations recorded it): "
            f"rerun `raml evaluate --model_name_or_path {model_dir}` into a new output_dir and pass that folder"
        )
    if scored["digest"] != input_digest(model_dir):
        raise PublishError(
            f"{folder} scored {scored['path']}, not the model in {model_dir} (their files differ): evaluate "
            f"this model (`raml evaluate --model_name_or_path {model_dir}`) and pass that folder"
        )


def load_evaluations(
    folders: Iterable[str | Path], model_dir: str | Path | None = None
) -> tuple[list[EvalResult], list[dict]]:
    """The results of each `raml evaluate` folder's model_index.json, merged in order, and one row per
    result for the card's table (benchmark, metric, value, questions, samples per question). With
    `model_dir`, each folder must have scored that model (`check_evaluation_of`)."""
    from huggingface_hub.repocard_data import model_index_to_eval_results

    results, rows = [], []
    for folder in folders:
        path = Path(folder) / "model_index.json"
        if not path.is_file():
            raise PublishError(
                f"{folder} has no model_index.json: pass the output_dir of an `raml evaluate` run"
            )
        if model_dir is not None:
            check_evaluation_of(folder, model_dir)
        try:
            _, folder_results = model_index_to_eval_results(json.loads(path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise PublishError(f"{path}: not a model-index list ({type(error).__name__}: {error})") from None
        summary_path = Path(folder) / "summary.json"
        benchmarks = (
            json.loads(summary_path.read_text(encoding="utf-8"))["benchmarks"]
            if summary_path.is_file()
            else {}
        )
        for result in folder_results:
            counts = benchmarks.get(result.dataset_name, {})
            rows.append({"benchmark": result.dataset_name, "metric": result.metric_name or result.metric_type,
                         "value": result.metric_value, "questions": counts.get("questions", "?"),
                         "samples": counts.get("samples_per_question", "?")})  # fmt: skip
        results += folder_results
    return results, rows
