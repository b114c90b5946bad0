"""Hub uploads: what goes where (`plan_upload`, `write_dry_run` without the network) and `publish`, which
creates the repo and branch and uploads the folder and the card, retrying transient failures."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..data.io import write_json
from ..lineage import describe_lineage
from .card import CARD_NAME
from .records import PublishError, check_repo_id, model_lineage

if TYPE_CHECKING:
    from huggingface_hub import HfApi, ModelCard

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
