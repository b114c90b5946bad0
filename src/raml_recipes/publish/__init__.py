"""`raml publish`: model cards and Hub uploads for trained models, from the run records in `raml_run.json`.

- `records`: the checks on a model folder and its evaluation folders;
- `card`: `build_model_card`, the card (metadata, lineage, the exact recipes, evaluation results);
- `upload`: `plan_upload` / `write_dry_run` (what would go where, without the network) and `publish`
  (create the repo and branch, upload the folder and the card, retrying transient failures).

The training callback that publishes each checkpoint to its own branch is
`raml_recipes.training.callbacks.PushToHubRevisionCallback`.
"""

from .card import PAPER_TITLE, PAPER_URL, build_model_card
from .records import PublishError, check_evaluation_of, check_repo_id, load_evaluations, looks_like_hub_id
from .upload import EXCLUDED_PATTERNS, UploadPlan, plan_upload, publish, with_retries, write_dry_run

__all__ = ["EXCLUDED_PATTERNS", "PAPER_TITLE", "PAPER_URL", "PublishError", "UploadPlan", "build_model_card",
           "check_evaluation_of", "check_repo_id", "load_evaluations", "looks_like_hub_id", "plan_upload", "publish",
           "with_retries", "write_dry_run"]  # fmt: skip
