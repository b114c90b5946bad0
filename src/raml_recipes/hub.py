"""Model cards and Hub uploads for trained models, from the run records in `raml_run.json`.

- `build_model_card`: the card (metadata, lineage, the exact recipes, evaluation results);
- `plan_upload` / `write_dry_run`: what would go where, written to disk without touching the network;
- `publish`: create the repo (and branch), upload the folder and the card, retrying transient failures;
- `PushToHubRevisionCallback`: publish each checkpoint to its own branch `<revision>-step-<N>` while training.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback

from .identity import input_digest, read_identity
from .lineage import (
    CHECKPOINT_DIR,
    RUN_RECORD,
    describe_lineage,
    describe_stage,
    find_run_record,
    read_lineage,
)
from .models.embedded import hub_id as embedded_hub_id

if TYPE_CHECKING:
    from huggingface_hub import EvalResult, HfApi, ModelCard

PAPER_TITLE = "Deciphering Trajectory-Aided LLM Reasoning: An Optimization Perspective"
PAPER_URL = "https://arxiv.org/abs/2505.19815"

# What never leaves the machine: states that only resume training (optimizer, scheduler, RNG), DeepSpeed
# ZeRO partitions (global_step*/) and torch.distributed `.distcp` shards (FSDP sharded states, which
# `from_pretrained` cannot load), and a run folder's own checkpoints. A folder's README.md is replaced by
# the generated card. Patterns are fnmatch-style on paths relative to the folder (`*` crosses `/`), the
# form `upload_folder(ignore_patterns=...)` applies, so the plan lists exactly what gets uploaded.
EXCLUDED_PATTERNS: tuple[str, ...] = (
    "optimizer.pt",
    "scheduler.pt",
    "rng_state*.pth",
    "global_step*/**",
    "*.distcp",
    "checkpoint-*/**",
    "README.md",
)
CARD_NAME = "README.md"


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


def load_evaluations(folders: Iterable[str | Path], model_dir: str | Path | None = None) -> tuple[list[EvalResult], list[dict]]:
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
        benchmarks = json.loads(summary_path.read_text(encoding="utf-8"))["benchmarks"] if summary_path.is_file() else {}
        for result in folder_results:
            counts = benchmarks.get(result.dataset_name, {})
            rows.append({"benchmark": result.dataset_name, "metric": result.metric_name or result.metric_type,
                         "value": result.metric_value, "questions": counts.get("questions", "?"),
                         "samples": counts.get("samples_per_question", "?")})  # fmt: skip
        results += folder_results
    return results, rows


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


@dataclass
class UploadPlan:
    """What `publish` uploads: `files` (relative to `folder`) plus the card as README.md, in one branch."""

    repo_id: str
    revision: str
    folder: Path
    files: list[str] = field(default_factory=list)
    commit_message: str = ""
    private: bool = False


def plan_upload(
    model_dir: str | Path,
    *,
    repo_id: str,
    revision: str = "main",
    step: int | None = None,
    private: bool = False,
) -> UploadPlan:
    """Which files of `model_dir` go to which branch: `revision`, or `<revision>-step-<step>` for a checkpoint."""
    from huggingface_hub.utils import DEFAULT_IGNORE_PATTERNS, filter_repo_objects

    check_repo_id(repo_id)
    folder = Path(model_dir)
    stages = model_lineage(folder)
    paths = [p.relative_to(folder).as_posix() for p in folder.glob("**/*") if p.is_file()]
    files = sorted(filter_repo_objects(paths, ignore_patterns=[*EXCLUDED_PATTERNS, *DEFAULT_IGNORE_PATTERNS]))
    if not files:
        raise PublishError(f"{folder}: nothing to upload once {', '.join(EXCLUDED_PATTERNS)} are left out")
    branch = revision if step is None else f"{revision}-step-{step}"
    message = f"raml-recipes: {describe_lineage(stages, with_base=False)}" + (
        f" step {step}" if step is not None else ""
    )
    return UploadPlan(repo_id, branch, folder, files, message, private)


def _transport_errors() -> tuple[type[BaseException], ...]:
    # Connection-level failures of the HTTP clients huggingface_hub may go through. Not the builtin
    # ConnectionError: huggingface_hub's OfflineModeIsEnabled is one, and retrying it cannot help.
    errors: list[type[BaseException]] = []
    try:
        import requests

        errors += [requests.exceptions.ConnectionError, requests.exceptions.Timeout]
    except ImportError:
        pass
    for module in ("httpx", "httpx2"):
        try:
            errors.append(__import__(module).TransportError)
        except (ImportError, AttributeError):
            pass
    return tuple(errors)


def is_transient(error: BaseException) -> bool:
    """Worth retrying: a connection failure, or the Hub answering 5xx or 429 (rate limit); never other 4xx."""
    from huggingface_hub.errors import HfHubHTTPError

    if isinstance(error, HfHubHTTPError):
        status = getattr(getattr(error, "response", None), "status_code", None)
        return status is not None and (status == 429 or status >= 500)
    return isinstance(error, _transport_errors())


def with_retries(
    action: Callable[[], Any],
    *,
    retries: int = 3,
    backoff: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """`action()`, retried up to `retries` times on transient errors, waiting backoff, 2*backoff, 4*backoff..."""
    for attempt in range(retries + 1):
        try:
            return action()
        except Exception as error:
            if attempt == retries or not is_transient(error):
                raise
            sleep(backoff * 2**attempt)


def publish(
    plan: UploadPlan,
    *,
    card: ModelCard,
    api: HfApi | None = None,
    overwrite: bool = False,
    retries: int = 3,
    backoff: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Upload `plan` and the card (as README.md) to the Hub; returns the URL of the last commit.

    A branch other than main that already exists is refused unless `overwrite`; with it, the branch is
    replaced: its files that the upload does not hold are deleted in the same commit. Two commits are
    made: the folder, then the card. Re-running after an interruption is safe: `upload_folder` skips
    files already committed with the same content (and, with hf_xet, data already uploaded), so only
    changed or missing files are sent again.
    """
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()

    def retrying(action: Callable[[], Any]) -> Any:
        return with_retries(action, retries=retries, backoff=backoff, sleep=sleep)

    repo_id, revision = plan.repo_id, plan.revision
    retrying(lambda: api.create_repo(repo_id, private=plan.private, exist_ok=True))
    replace = False
    if revision != "main":
        branches = {ref.name for ref in retrying(lambda: api.list_repo_refs(repo_id)).branches}
        if revision in branches:
            if not overwrite:
                raise PublishError(
                    f"revision {revision} already exists in {repo_id}; pass --overwrite to replace it"
                )
            replace = True
        retrying(lambda: api.create_branch(repo_id, branch=revision, exist_ok=True))
    retrying(
        lambda: api.upload_folder(
            folder_path=str(plan.folder),
            repo_id=repo_id,
            revision=revision,
            commit_message=plan.commit_message,
            # A fresh list per attempt: upload_folder appends its own defaults to the list it is given.
            ignore_patterns=list(EXCLUDED_PATTERNS),
            delete_patterns=["*"] if replace else None,
        )
    )
    commit = retrying(
        lambda: api.upload_file(
            path_or_fileobj=str(card).encode("utf-8"),
            path_in_repo=CARD_NAME,
            repo_id=repo_id,
            revision=revision,
            commit_message=f"{plan.commit_message} (model card)",
        )
    )
    return getattr(commit, "commit_url", None) or str(commit)


def write_dry_run(plan: UploadPlan, card: ModelCard, out_dir: str | Path) -> Path:
    """Write the card (README.md) and upload_plan.json into `out_dir`, to read before publishing."""
    from .data.io import write_json

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    card.save(out_dir / CARD_NAME)
    write_json(
        out_dir / "upload_plan.json",
        {
            "repo_id": plan.repo_id,
            "revision": plan.revision,
            "private": plan.private,
            "folder": str(plan.folder),
            "files": plan.files,
            "card": CARD_NAME,
            "commit_message": plan.commit_message,
            "excluded": list(EXCLUDED_PATTERNS),
        },
    )
    return out_dir


class PushToHubRevisionCallback(TrainerCallback):
    """Publish every saved checkpoint to branch `<hub_model_revision>-step-<N>` of `hub_model_id`.

    The main process uploads in a background thread, one checkpoint at a time, so training does not
    wait for the network (a long synchronous upload on rank 0 would also leave the other ranks waiting
    in a collective until the distributed timeout). Before the next save, the callback waits for the
    previous upload to end: checkpoint rotation (`save_total_limit`) can then never delete a folder
    that is still uploading. A failed upload (after `publish`'s retries) is logged and training goes
    on; the checkpoint stays on disk. A branch that already exists is replaced: after a resume the
    same step is the same training state.
    """

    def __init__(self, training_args, api: HfApi | None = None):
        if not getattr(training_args, "hub_model_id", None):
            raise ValueError(
                "push_to_hub_revision is set but hub_model_id is not: set hub_model_id to OWNER/NAME"
            )
        check_repo_id(training_args.hub_model_id)
        self.repo_id = training_args.hub_model_id
        self.revision = getattr(training_args, "hub_model_revision", "main") or "main"
        self.private = bool(getattr(training_args, "hub_private_repo", False))
        self.output_dir = Path(training_args.output_dir)
        self.api = api
        self._executor = None
        self._pending = None
        self.failures: list[str] = []

    def on_train_begin(self, args, state, control, **kwargs):
        # Fail before training rather than at the first save, hours later: cards need the run record.
        if state.is_world_process_zero and find_run_record(self.output_dir) is None:
            raise ValueError(
                f"push_to_hub_revision needs {self.output_dir / RUN_RECORD} before training starts "
                "(raml_recipes.lineage.write_run_record): each checkpoint's card is built from it"
            )

    def _upload(self, step: int) -> str:
        from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

        folder = self.output_dir / f"{PREFIX_CHECKPOINT_DIR}-{step}"
        plan = plan_upload(
            folder, repo_id=self.repo_id, revision=self.revision, step=step, private=self.private
        )
        card = build_model_card(folder, repo_id=self.repo_id, revision=plan.revision)
        return publish(plan, card=card, api=self.api, overwrite=True)

    def wait(self) -> None:
        """Block until the upload in flight (if any) has ended; record its failure, if it failed."""
        if self._pending is None:
            return
        pending, self._pending = self._pending, None
        try:
            pending.result()
        except Exception as error:  # noqa: BLE001 - any upload failure: keep training, keep the checkpoint
            import logging

            message = f"{self.repo_id}: checkpoint upload failed: {type(error).__name__}: {error}"
            self.failures.append(message)
            logging.getLogger(__name__).error(message)

    def on_step_end(self, args, state, control, **kwargs):
        if control.should_save:  # the save (and rotation) comes right after this step's callbacks
            self.wait()

    def on_save(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        from concurrent.futures import ThreadPoolExecutor

        self.wait()
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-upload")
        self._pending = self._executor.submit(self._upload, state.global_step)

    def on_train_end(self, args, state, control, **kwargs):
        self.wait()
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None


def hub_callbacks(training_args) -> list[TrainerCallback]:
    """The Hub callbacks a recipe asks for: [PushToHubRevisionCallback] when push_to_hub_revision is set."""
    if getattr(training_args, "push_to_hub_revision", False):
        return [PushToHubRevisionCallback(training_args)]
    return []
