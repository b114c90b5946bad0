"""Publish a trained model to the Hugging Face Hub with a model card built from its run record.

```bash
# Look first: writes README.md (the card) and upload_plan.json, touches no network
raml publish outputs/tiny/sft --repo_id me/tiny-sft --evaluation outputs/eval/sft --dry_run outputs/publish
# Upload (needs `hf auth login`); a checkpoint to its own branch main-step-500
raml publish outputs/Qwen2.5-7B/sft --repo_id me/qwen-sft --evaluation outputs/eval/qwen-sft
raml publish outputs/Qwen2.5-7B/sft/checkpoint-500 --repo_id me/qwen-sft --step 500
```
The card holds the lineage (base model -> SFT(k) -> GRPO(k)), each stage's exact recipe YAML and
command-line overrides, and the evaluation results of each --evaluation folder (`raml evaluate`).
Optimizer, scheduler and RNG states, DeepSpeed shards and checkpoint-N subfolders are not uploaded.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from raml_recipes.recipes import ArgumentParser


def main(args: argparse.Namespace) -> str:
    from raml_recipes.errors import RecipeError
    from raml_recipes.publish import PublishError, build_model_card, plan_upload, publish, write_dry_run

    try:
        plan = plan_upload(
            args.model_dir, repo_id=args.repo_id, revision=args.revision, step=args.step, private=args.private
        )
        card = build_model_card(
            args.model_dir,
            repo_id=args.repo_id,
            evaluations=args.evaluation,
            license=args.license,
            revision=plan.revision,
        )
        summary = f"{len(plan.files)} files ({_size(plan)}) + README.md -> {plan.repo_id}@{plan.revision}: {plan.commit_message}"
        if args.dry_run is not None:
            out = write_dry_run(plan, card, args.dry_run)
            print(f"Dry run written to {out}")
            print(f"Would upload {summary}")
            return str(out)
        _check_online()
        url = publish(plan, card=card, overwrite=args.overwrite)
    except PublishError as error:
        raise RecipeError(str(error)) from None
    except _hub_errors() as error:  # no token, no permission, offline: the user's to fix, in one line
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise RecipeError(f"upload to {args.repo_id} failed: {first_line}") from None
    print(f"Uploaded {summary}")
    print(url)
    return url


def _size(plan) -> str:
    total = sum((plan.folder / name).stat().st_size for name in plan.files)
    return f"{total / 2**20:.1f} MiB"


def _check_online() -> None:
    from huggingface_hub import constants

    from raml_recipes.errors import RecipeError

    if constants.is_offline_mode():
        raise RecipeError(
            "cannot publish: offline mode is on (HF_HUB_OFFLINE=1); unset it, or pass --dry_run OUT_DIR to "
            "write the card and the upload plan locally"
        )


def _hub_errors() -> tuple[type[BaseException], ...]:
    from huggingface_hub.errors import HfHubHTTPError, LocalTokenNotFoundError, OfflineModeIsEnabled

    return (HfHubHTTPError, LocalTokenNotFoundError, OfflineModeIsEnabled)


def make_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "model_dir", type=Path, help="a run's output_dir (or one of its checkpoint-N folders)"
    )
    parser.add_argument(
        "--repo_id", required=True, help="OWNER/NAME of the Hub model repo (created if missing)"
    )
    parser.add_argument("--revision", default="main", help="branch to upload to (default: main)")
    parser.add_argument(
        "--step",
        type=int,
        default=None,
        metavar="N",
        help="checkpoint step: upload to branch <revision>-step-<N> instead",
    )
    parser.add_argument(
        "--evaluation",
        type=Path,
        action="append",
        default=[],
        metavar="EVAL_DIR",
        help="an `raml evaluate` output_dir whose model_index.json goes in the card (repeat)",
    )
    parser.add_argument(
        "--license", default="apache-2.0", help="license id for the card (default: apache-2.0)"
    )
    parser.add_argument("--private", action="store_true", help="create the repo private")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace a branch other than main that exists"
    )
    parser.add_argument(
        "--dry_run",
        type=Path,
        default=None,
        metavar="OUT_DIR",
        help="write README.md and upload_plan.json to OUT_DIR instead of uploading",
    )
    return parser


def cli(argv: list[str] | None = None, prog: str | None = None) -> int:
    main(make_parser(prog).parse_args(argv))
    return 0


if __name__ == "__main__":
    import sys

    from raml_recipes.user_errors import run

    sys.exit(run(cli, "raml publish"))
