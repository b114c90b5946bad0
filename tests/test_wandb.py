"""Weights & Biases logging: recipe wandb_* fields -> WANDB_* environment, and real offline runs of
`raml sft`, `raml grpo` and `raml summarize`, read back from the run's transaction log (`run-<id>.wandb`)."""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from raml_recipes.configs import init_wandb_env

from .conftest import ROOT

WANDB_VARS = ("WANDB_ENTITY", "WANDB_PROJECT", "WANDB_RUN_GROUP")


# --- Reading an offline run ---------------------------------------------------------------------------
# wandb 0.31 has no Python reader for its transaction log (the old wandb/sdk/internal/datastore.py is
# gone; wandb-core, in Go, writes and syncs it). The format is unchanged: a 7-byte header
# (b":W&B", magic 0xBEE1, version 0), then LevelDB-log records in 32 KiB blocks, each a 7-byte header
# (CRC-32 of type byte + data, uint16 length, uint8 type: 1 full, 2 first, 3 middle, 4 last) and a
# piece of a serialized `wandb_internal_pb2.Record`.

BLOCK_SIZE = 32 * 1024
HEADER_SIZE = 7


def transaction_records(path: Path):
    """Every `Record` protobuf of a run-*.wandb file, checksums checked."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    ident, magic, version = struct.unpack("<4sHB", data[:HEADER_SIZE])
    assert (ident, magic, version) == (b":W&B", 0xBEE1, 0), f"{path}: not a wandb transaction log"
    position, pending = HEADER_SIZE, b""
    while position + HEADER_SIZE <= len(data):
        left_in_block = BLOCK_SIZE - position % BLOCK_SIZE
        if left_in_block < HEADER_SIZE:  # the block's tail is zero padding
            position += left_in_block
            continue
        checksum, length, kind = struct.unpack("<IHB", data[position : position + HEADER_SIZE])
        if (checksum, length, kind) == (0, 0, 0):
            break
        chunk = data[position + HEADER_SIZE : position + HEADER_SIZE + length]
        assert zlib.crc32(chunk, zlib.crc32(bytes([kind]))) == checksum, f"{path}: bad checksum at {position}"
        position += HEADER_SIZE + length
        if kind == 1:
            yield wandb_internal_pb2.Record.FromString(chunk)
        elif kind == 2:
            pending = chunk
        elif kind == 3:
            pending += chunk
        elif kind == 4:
            yield wandb_internal_pb2.Record.FromString(pending + chunk)
            pending = b""
        else:
            raise AssertionError(f"{path}: unknown record type {kind} at {position}")


def _items(items) -> dict:
    """Config, history or summary items as a dict; a nested value (an image's path, size...) is sent as
    one item per leaf under `nested_key` [name, field]: rebuilt here as {name: {field: value}}."""
    result: dict = {}
    for item in items:
        *parents, leaf = [item.key] if item.key else list(item.nested_key)
        node = result
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = json.loads(item.value_json)
    return result


def read_offline_run(wandb_dir: Path) -> SimpleNamespace:
    """The one offline run under `wandb_dir`: its run record, config, history rows, summary and folder."""
    runs = sorted(Path(wandb_dir).glob("wandb/offline-run-*/run-*.wandb"))
    assert len(runs) == 1, f"expected one offline run under {wandb_dir}, found {runs}"
    run, config, history, summary = None, {}, [], {}
    for record in transaction_records(runs[0]):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run = record.run
            config.update(_items(run.config.update))
        elif kind == "config":
            config.update(_items(record.config.update))
        elif kind == "history":
            history.append(_items(record.history.item))
        elif kind == "summary":
            summary.update(_items(record.summary.update))
    assert run is not None, f"{runs[0]}: no run record"
    return SimpleNamespace(
        project=run.project, entity=run.entity, group=run.run_group, job_type=run.job_type,
        config=config, history=history, summary=summary, folder=runs[0].parent,
    )  # fmt: skip


def values(history: list[dict], key: str) -> list:
    return [row[key] for row in history if key in row]


def flush_wandb() -> None:
    """Finish any open run and stop wandb-core, waiting for it to write everything out.

    The Trainer's WandbCallback never finishes its run (the process exit does, through wandb's atexit
    hook): `wandb.finish()` does, and clears `wandb.run`. `wandb.teardown()` (what the atexit hook
    calls) then waits for wandb-core and drops wandb's process-wide settings, which are read from the
    environment once, so the next test's WANDB_DIR and WANDB_* are taken up.
    """
    import wandb

    if wandb.run is not None:
        wandb.finish()
    wandb.teardown()


@pytest.fixture
def wandb_dir(tmp_path, monkeypatch):
    """Offline W&B writing under tmp_path, from the repository root; the WANDB_* variables the code
    under test exports are undone afterwards."""
    flush_wandb()  # settings another test's run left behind
    for variable in WANDB_VARS:  # set-then-delete records the variable, so a later export is undone too
        monkeypatch.setenv(variable, "unset")
        monkeypatch.delenv(variable)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.chdir(ROOT)
    yield tmp_path
    flush_wandb()


# --- init_wandb_env -----------------------------------------------------------------------------------


def recipe(report_to, **wandb_fields):
    fields = dict(wandb_entity=None, wandb_project=None, wandb_run_group=None)
    return SimpleNamespace(report_to=report_to, **{**fields, **wandb_fields})


@pytest.fixture
def clean_env(monkeypatch):
    for variable in WANDB_VARS:
        monkeypatch.setenv(variable, "unset")
        monkeypatch.delenv(variable)
    return monkeypatch


@pytest.mark.parametrize("report_to", [["wandb"], "wandb", ["tensorboard", "wandb"], "all", ["all"]])
def test_recipe_values_are_exported_for_wandb(clean_env, report_to):
    init_wandb_env(recipe(report_to, wandb_entity="team", wandb_project="proj", wandb_run_group="grp"))
    assert [os.environ.get(v) for v in WANDB_VARS] == ["team", "proj", "grp"]


def test_recipe_value_wins_and_unset_keeps_the_environment(clean_env):
    clean_env.setenv("WANDB_ENTITY", "cluster-team")
    clean_env.setenv("WANDB_PROJECT", "env-project")
    init_wandb_env(recipe(["wandb"], wandb_project="proj"))
    assert os.environ["WANDB_PROJECT"] == "proj"
    assert os.environ["WANDB_ENTITY"] == "cluster-team"
    assert "WANDB_RUN_GROUP" not in os.environ


@pytest.mark.parametrize("report_to", [[], ["none"], "none", None, ["tensorboard"]])
def test_nothing_is_exported_without_wandb(clean_env, report_to):
    clean_env.setenv("WANDB_PROJECT", "env-project")
    init_wandb_env(recipe(report_to, wandb_entity="team", wandb_project="proj", wandb_run_group="grp"))
    assert os.environ["WANDB_PROJECT"] == "env-project"
    assert "WANDB_ENTITY" not in os.environ and "WANDB_RUN_GROUP" not in os.environ


def test_stage_parsers_take_the_wandb_fields():
    from raml_recipes.scripts.grpo import make_parser as grpo_parser
    from raml_recipes.scripts.sft import make_parser as sft_parser
    from raml_recipes.scripts.summarize import make_parser as summarize_parser

    overrides = ["--wandb_entity", "e", "--wandb_project", "p", "--wandb_run_group", "g"]
    for parser, stage, position in (
        (sft_parser, "sft", 1),
        (grpo_parser, "grpo", 1),
        (summarize_parser, "summarize", 0),
    ):
        args = parser().parse_args_and_config(
            ["--config", f"recipes/tiny/{stage}/config_demo.yaml", *overrides]
        )
        parsed = args[position]
        assert (parsed.wandb_entity, parsed.wandb_project, parsed.wandb_run_group) == ("e", "p", "g"), stage
    (summarize,) = summarize_parser().parse_args_and_config(
        ["--config", "recipes/tiny/summarize/config_demo.yaml"]
    )
    assert summarize.report_to == ["none"]


def test_gpu_recipes_log_to_the_raml_recipes_project():
    recipes = sorted((ROOT / "recipes" / "Qwen2.5-7B").glob("sft/*.yaml")) + sorted(
        (ROOT / "recipes" / "Qwen2.5-7B").glob("grpo/*.yaml")
    )
    assert len(recipes) == 7  # SFT: k = 1, 8, 32, the 72B data, the summaries student; GRPO: zero, cold start
    for path in recipes:
        settings = yaml.safe_load(path.read_text())
        assert settings["report_to"] == "wandb", path
        assert settings["wandb_project"] == "raml-recipes", path
        assert settings["wandb_run_group"].startswith("qwen2.5-7b-"), path


# --- Real offline runs --------------------------------------------------------------------------------


def test_sft_run_logs_support_metrics_to_the_recipes_project(wandb_dir, monkeypatch):
    from raml_recipes.scripts.sft import cli

    monkeypatch.setenv("WANDB_PROJECT", "env-project")  # the recipe's wandb_project wins over it
    monkeypatch.setenv("WANDB_ENTITY", "env-team")  # no recipe value: the environment's is kept
    cli([
        "--config", "recipes/tiny/sft/config_demo.yaml", "--output_dir", str(wandb_dir / "sft"),
        "--report_to", "wandb", "--wandb_project", "raml-test", "--wandb_run_group", "grp",
        "--max_questions", "8", "--num_train_epochs", "1", "--logging_steps", "1", "--disable_tqdm", "true",
    ])  # fmt: skip
    flush_wandb()
    run = read_offline_run(wandb_dir)
    assert (run.project, run.group, run.entity) == ("raml-test", "grp", "env-team")
    # 8 questions x 2 samples / 8 per step = 2 steps, a log line each; support/* ride along with the loss.
    assert values(run.history, "train/global_step") == [1, 2, 2]  # two steps, then the train summary
    assert values(run.history, "train/support/k") == [2, 2]
    assert values(run.history, "train/support/questions") == [8, 8]
    assert values(run.history, "train/support/samples_per_question") == [2, 2]
    assert len(values(run.history, "train/loss")) == 2
    assert run.summary["train/support/k"] == 2 and "train_runtime" in run.summary
    assert run.config["support_size"] == 2 and run.config["wandb_project"] == "raml-test"
    assert run.config["report_to"] == ["wandb"]


def test_grpo_run_logs_rewards_and_support_metrics(wandb_dir):
    from raml_recipes.scripts.grpo import cli

    cli([
        "--config", "recipes/tiny/grpo/config_demo.yaml", "--output_dir", str(wandb_dir / "grpo"),
        "--report_to", "wandb", "--wandb_project", "raml-test", "--wandb_run_group", "grpo-grp",
        "--max_prompts", "2", "--max_steps", "1", "--logging_steps", "1", "--disable_tqdm", "true",
    ])  # fmt: skip
    flush_wandb()
    run = read_offline_run(wandb_dir)
    assert (run.project, run.group) == ("raml-test", "grpo-grp")
    (step,) = [row for row in run.history if "train/reward" in row]  # max_steps 1, logging_steps 1
    raml, overlong = step["train/rewards/raml/mean"], step["train/rewards/soft_overlong/mean"]
    assert -1.0 <= raml <= 1.0 and -1.0 <= overlong <= 0.0
    assert step["train/reward"] == pytest.approx(raml + overlong)  # the sum of the reward functions
    assert step["train/global_step"] == 1
    assert step["train/support/k"] == 2.0
    assert step["train/support/selected_tokens"] > 0
    assert 0.0 < step["train/support/selected_token_fraction"] <= 1.0
    assert run.config["support_size"] == 2 and run.config["num_generations"] == 4


def test_summarize_logs_the_compression_numbers(wandb_dir):
    from raml_recipes.scripts.summarize import cli

    output_dir = wandb_dir / "summarize"
    cli([
        "--config", "recipes/tiny/summarize/config_demo.yaml", "--output_dir", str(output_dir),
        "--max_questions", "8", "--report_to", "wandb", "--wandb_project", "raml-test",
        "--wandb_run_group", "grp",
    ])  # fmt: skip
    import wandb

    assert wandb.run is None  # the summarize run finishes itself
    flush_wandb()
    summary = json.loads((output_dir / "summary.json").read_text())
    run = read_offline_run(wandb_dir)
    assert (run.project, run.group, run.job_type) == ("raml-test", "grp", "summarize")
    assert run.config["method"] == "rules" and run.config["max_questions"] == 8
    (logged,) = [row for row in run.history if any(k.startswith("compression/") for k in row)]
    expected = {
        "compression/questions": summary["questions"],
        "compression/questions_written": summary["questions_written"],
        "compression/trajectories_kept": summary["trajectories_kept"],
        "compression/trajectories_rejected": summary["trajectories_rejected"],
        "compression/preserved": summary["preserved"],
        "compression/kept/compression_ratio_mean": summary["kept"]["compression_ratio_mean"],
        "compression/kept/compression_ratio_median": summary["kept"]["compression_ratio_median"],
        "compression/kept/tokens_kept_median": summary["kept"]["tokens_kept_median"],
        "compression/all/compression_ratio_mean": summary["all"]["compression_ratio_mean"],
        "compression/all/trajectories": summary["all"]["trajectories"],
    }
    assert {key: logged.get(key) for key in expected} == expected
    assert summary["trajectories_kept"] > 0 and summary["kept"]["compression_ratio_mean"] > 1.0
    assert not any(
        key in logged for key in ("compression/method", "compression/dataset", "compression/rules")
    )
    image = logged["compression/length_ratios"]
    assert image["_type"] == "image-file"
    assert (run.folder / "files" / image["path"]).stat().st_size > 1000
