"""Run records, model cards, upload plans and Hub publishing, against a fake Hub API (no network)."""

from __future__ import annotations

import inspect
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from raml_recipes.lineage import RUN_RECORD, describe_lineage, read_lineage, write_run_record
from raml_recipes.publish import (
    EXCLUDED_PATTERNS,
    PublishError,
    build_model_card,
    plan_upload,
    publish,
    write_dry_run,
)
from raml_recipes.training.callbacks import PushToHubRevisionCallback, hub_callbacks

ROOT = Path(__file__).resolve().parents[1]
SFT_RECIPE = "recipes/tiny/sft/config_demo.yaml"
GRPO_RECIPE = "recipes/tiny/grpo/config_demo.yaml"
GRPO_K = 1  # the GRPO stage's --support_size override (its recipe says 2)


def recipe(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text())


@pytest.fixture
def runs(tiny_model_dir, tmp_path, monkeypatch) -> SimpleNamespace:
    """An SFT run folder from the tiny model, and a GRPO run folder started from it (lineage nests)."""
    monkeypatch.chdir(ROOT)  # recipe paths are recorded as given, relative to the repository
    sft, grpo = tmp_path / "sft", tmp_path / "grpo"
    for folder in (sft, grpo):
        shutil.copytree(tiny_model_dir, folder)
    sft_recipe, grpo_recipe = recipe(SFT_RECIPE), recipe(GRPO_RECIPE)
    write_run_record(
        sft, stage="sft", recipe_path=SFT_RECIPE, argv=["--config", SFT_RECIPE, "--output_dir", str(sft)],
        model_name_or_path=sft_recipe["model_name_or_path"], dataset_name=sft_recipe["dataset_name"],
        support_size=sft_recipe["support_size"],
    )  # fmt: skip
    write_run_record(
        grpo, stage="grpo", recipe_path=GRPO_RECIPE,
        argv=[f"--config={GRPO_RECIPE}", "--model_name_or_path", str(sft), "--support_size", str(GRPO_K)],
        model_name_or_path=str(sft), dataset_name=grpo_recipe["dataset_name"], support_size=GRPO_K,
        extra={"world_size": 1},
    )  # fmt: skip
    return SimpleNamespace(sft=sft, grpo=grpo, sft_k=sft_recipe["support_size"], tmp=tmp_path)


def write_evaluation(
    folder: Path, dataset: str, hub_dataset: str, metrics: dict[str, float], model: Path | None = None,
    questions: int = 8,
) -> Path:
    """An `raml evaluate` output folder of `model`: its model_index.json and summary.json's counts in the
    format evaluation/report.py writes, and its identity as evaluation/runner.py records it."""
    from raml_recipes.identity import check_identity, make_identity

    folder.mkdir(parents=True)
    if model is not None:
        check_identity(folder, make_identity("evaluate", {}, {"model": str(model)}))
    summary = {"benchmarks": {dataset: {"questions": questions, "samples_per_question": 2}}}
    (folder / "summary.json").write_text(json.dumps(summary))
    index = [
        {
            "name": "/somewhere/model",
            "results": [
                {
                    "task": {"type": "text-generation", "name": "Math reasoning"},
                    "dataset": {"name": dataset, "type": hub_dataset},
                    "metrics": [{"type": k, "value": v, "name": f"{k} (n=2)"} for k, v in metrics.items()],
                }
            ],
        }
    ]
    (folder / "model_index.json").write_text(json.dumps(index))
    return folder


# ---------------------------------------------------------------- lineage


def test_lineage_nests_stages_oldest_first(runs):
    stages = read_lineage(runs.grpo)
    assert [s["stage"] for s in stages] == ["sft", "grpo"]
    assert all("parent" not in s for s in stages)
    sft, grpo = stages
    assert sft["recipe_yaml"] == (ROOT / SFT_RECIPE).read_text()
    assert grpo["recipe_yaml"] == (ROOT / GRPO_RECIPE).read_text()
    assert sft["overrides"] == ["--output_dir", str(runs.sft)]
    assert grpo["overrides"] == ["--model_name_or_path", str(runs.sft), "--support_size", str(GRPO_K)]
    assert grpo["world_size"] == 1 and sft["raml_recipes_version"] != ""
    assert describe_lineage(stages) == f"embedded:tiny-llama -> SFT(k={runs.sft_k}) -> GRPO(k={GRPO_K})"
    assert describe_lineage(stages, with_base=False) == f"SFT(k={runs.sft_k}) -> GRPO(k={GRPO_K})"
    # The parent record is copied in whole, so the chain survives the SFT folder's removal.
    record = json.loads((runs.grpo / RUN_RECORD).read_text())
    assert record["parent"] == json.loads((runs.sft / RUN_RECORD).read_text())
    shutil.rmtree(runs.sft)
    assert [s["stage"] for s in read_lineage(runs.grpo)] == ["sft", "grpo"]


def test_lineage_edge_cases(runs):
    assert read_lineage(runs.tmp / "no-such-run") == []
    assert describe_lineage([]) == ""
    assert describe_lineage(
        [{"stage": "sft", "support_size": None, "model_name_or_path": "Qwen/Qwen2.5-7B"}]
    ) == ("Qwen/Qwen2.5-7B -> SFT(k=all)")
    # A checkpoint folder has no record of its own: its run folder's describes it.
    (runs.grpo / "checkpoint-4").mkdir()
    assert [s["stage"] for s in read_lineage(runs.grpo / "checkpoint-4")] == ["sft", "grpo"]
    with pytest.raises(ValueError, match="replace recorded fields"):
        write_run_record(
            runs.tmp / "x", stage="sft", recipe_path=None, argv=[], model_name_or_path="m", dataset_name="d",
            support_size=None, extra={"stage": "grpo"},
        )  # fmt: skip


# ---------------------------------------------------------------- model card


def test_model_card_metadata_body_and_evaluations(runs):
    from huggingface_hub import ModelCard
    from huggingface_hub.repocard_data import eval_results_to_model_index, model_index_to_eval_results

    evaluations = [
        write_evaluation(runs.tmp / "eval-a", "gsm8k", "openai/gsm8k", {"pass@1": 31.25, "maj@2": 37.5}, runs.grpo),
        write_evaluation(runs.tmp / "eval-b", "math500", "HuggingFaceH4/MATH-500", {"pass@1": 12.5}, runs.grpo, 500),
    ]
    card = build_model_card(runs.grpo, repo_id="me/tiny", evaluations=evaluations)
    text = str(card)
    reloaded = ModelCard(text)
    assert str(reloaded) == text
    data = reloaded.data
    assert data.license == "apache-2.0"
    assert data.tags == ["raml-recipes", "trl", "sft", "grpo", "math-reasoning"]
    assert data.library_name == "transformers" and data.pipeline_tag == "text-generation"
    assert "base_model" not in data.to_dict()  # embedded:tiny-llama is no Hub id
    assert "datasets" not in data.to_dict()  # both training sets are local files

    # card.validate() posts to the Hub (huggingface_hub/repocard.py): check the metadata offline instead.
    header = yaml.safe_load(text.split("---\n")[1])
    index = header["model-index"]
    assert index[0]["name"] == "me/tiny"
    name, results = model_index_to_eval_results(index)
    assert name == "me/tiny"
    assert [(r.dataset_type, r.metric_type, r.metric_value) for r in results] == [
        ("openai/gsm8k", "pass@1", 31.25), ("openai/gsm8k", "maj@2", 37.5), ("HuggingFaceH4/MATH-500", "pass@1", 12.5),
    ]  # fmt: skip
    assert eval_results_to_model_index(name, results) == index

    body = reloaded.text
    for path in (SFT_RECIPE, GRPO_RECIPE):
        assert f"Recipe `{path}`" in body
        assert (ROOT / path).read_text().rstrip() in body
    assert f"`embedded:tiny-llama -> SFT(k={runs.sft_k}) -> GRPO(k={GRPO_K})`" in body
    assert f"--support_size {GRPO_K}" in body
    assert "2505.19815" in body and "Deciphering Trajectory-Aided LLM Reasoning" in body
    assert "| gsm8k | pass@1 (n=2) | 31.25 | 8 | 2 |" in body
    assert "| math500 | pass@1 (n=2) | 12.50 | 500 | 2 |" in body
    assert 'pipeline("text-generation", model="me/tiny")' in body


def test_model_card_hub_base_model_and_datasets(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(tiny_model_dir, tmp_path / "m")
    write_run_record(
        tmp_path / "m", stage="sft", recipe_path=None, argv=["--support_size", "8"],
        model_name_or_path="Qwen/Qwen2.5-0.5B", dataset_name="openai/gsm8k", support_size=8,
    )  # fmt: skip
    card = build_model_card(tmp_path / "m", repo_id="me/qwen-sft", license="mit", revision="main-step-8")
    data = card.data
    assert data.base_model == "Qwen/Qwen2.5-0.5B"
    assert data.datasets == ["openai/gsm8k"]
    assert data.license == "mit"
    assert "model-index" not in data.to_dict()
    assert "## Evaluation" not in card.text
    assert "No recipe file" in card.text
    assert 'revision="main-step-8"' in card.text


def test_model_card_names_the_missing_file(runs, tmp_path):
    bare = tmp_path / "bare"
    shutil.copytree(runs.sft, bare)
    (bare / RUN_RECORD).unlink()
    with pytest.raises(ValueError, match=r"has no raml_run\.json.*`raml sft` / `raml grpo`"):
        build_model_card(bare, repo_id="me/tiny")
    (bare / "config.json").unlink()
    with pytest.raises(ValueError, match=r"has no config\.json"):
        build_model_card(bare, repo_id="me/tiny")
    with pytest.raises(ValueError, match="no model_index.json"):
        build_model_card(runs.sft, repo_id="me/tiny", evaluations=[tmp_path])


def test_a_card_takes_only_evaluations_of_its_own_model(runs, tmp_path):
    """An evaluation of another model (here the SFT model, published as the GRPO one) or of an
    unknown one is refused, naming the folder and what it scored."""
    of_sft = write_evaluation(tmp_path / "eval-sft", "gsm8k", "openai/gsm8k", {"pass@1": 10.0}, runs.sft)
    with pytest.raises(ValueError, match=rf"{of_sft} scored {runs.sft}, not the model in {runs.grpo}"):
        build_model_card(runs.grpo, repo_id="me/tiny", evaluations=[of_sft])
    unknown = write_evaluation(tmp_path / "eval-old", "gsm8k", "openai/gsm8k", {"pass@1": 10.0})
    with pytest.raises(ValueError, match=rf"{unknown} does not record which model it scored"):
        build_model_card(runs.grpo, repo_id="me/tiny", evaluations=[unknown])
    # A copy of the model elsewhere is the same model: its files are what counts, not its path.
    copy = tmp_path / "copy"
    shutil.copytree(runs.grpo, copy)
    of_copy = write_evaluation(tmp_path / "eval-copy", "gsm8k", "openai/gsm8k", {"pass@1": 10.0}, copy)
    assert "| gsm8k | pass@1 (n=2) | 10.00 | 8 | 2 |" in build_model_card(runs.grpo, repo_id="me/t", evaluations=[of_copy]).text


# ---------------------------------------------------------------- upload plan


def add_training_states(folder: Path) -> list[str]:
    """Training-only files a run folder holds beside the model; returns the model files."""
    model_files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    for name in ("optimizer.pt", "scheduler.pt", "rng_state_0.pth", "rng_state_1.pth", "README.md"):
        (folder / name).write_bytes(b"x")
    (folder / "global_step8").mkdir()
    for name in ("zero_pp_rank_0_mp_rank_00_optim_states.pt", "zero_pp_rank_0_mp_rank_00_model_states.pt"):
        (folder / "global_step8" / name).write_bytes(b"x")
    (folder / "optimizer_0").mkdir()
    (folder / "optimizer_0" / "__0_0.distcp").write_bytes(b"x")
    shutil.copytree(
        folder, folder.parent / "tmp-checkpoint", ignore=shutil.ignore_patterns("global_step*", RUN_RECORD)
    )
    (folder.parent / "tmp-checkpoint").rename(folder / "checkpoint-4")
    return model_files


def test_plan_upload_lists_only_model_files(runs):
    model_files = add_training_states(runs.grpo)
    assert RUN_RECORD in model_files and "config.json" in model_files
    plan = plan_upload(runs.grpo, repo_id="me/tiny")
    assert plan.files == model_files
    assert plan.revision == "main" and plan.repo_id == "me/tiny" and plan.folder == runs.grpo
    assert plan.commit_message == f"raml-recipes: SFT(k={runs.sft_k}) -> GRPO(k={GRPO_K})"

    step = plan_upload(runs.grpo, repo_id="me/tiny", step=500, private=True)
    assert step.revision == "main-step-500" and step.private
    assert step.commit_message == f"raml-recipes: SFT(k={runs.sft_k}) -> GRPO(k={GRPO_K}) step 500"
    assert plan_upload(runs.grpo, repo_id="me/tiny", revision="v1", step=500).revision == "v1-step-500"

    # A checkpoint folder inside the run: its own files, the run's lineage.
    checkpoint = plan_upload(runs.grpo / "checkpoint-4", repo_id="me/tiny", step=4)
    assert checkpoint.files == [f for f in model_files if f != RUN_RECORD]
    assert checkpoint.commit_message.endswith("GRPO(k=1) step 4")


@pytest.mark.parametrize("repo_id", ["tiny", "me/you/tiny", "me/bad..name", "me/-x"])
def test_plan_upload_refuses_bad_repo_ids(runs, repo_id):
    with pytest.raises(PublishError, match="repo id"):
        plan_upload(runs.sft, repo_id=repo_id)


def test_dry_run_writes_card_and_plan(runs, tmp_path):
    plan = plan_upload(runs.sft, repo_id="me/tiny", step=3)
    card = build_model_card(runs.sft, repo_id="me/tiny", revision=plan.revision)
    out = write_dry_run(plan, card, tmp_path / "dry")
    assert (out / "README.md").read_text() == str(card)
    written = json.loads((out / "upload_plan.json").read_text())
    assert written["files"] == plan.files and written["revision"] == "main-step-3"
    assert written["excluded"] == list(EXCLUDED_PATTERNS) and written["commit_message"] == plan.commit_message


# ---------------------------------------------------------------- publish


def http_error(status: int):
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    request = httpx2.Request("POST", "https://huggingface.co/api/models/me/tiny/commit/main")
    return HfHubHTTPError(f"{status} Server said no", response=httpx2.Response(status, request=request))


class FakeHubApi:
    """Records calls (checked against the real HfApi signatures) and fails on demand, per method."""

    def __init__(self, branches=("main",), failures: dict[str, list[Exception]] | None = None):
        self.branches = list(branches)
        self.failures = {name: list(errors) for name, errors in (failures or {}).items()}
        self.calls: list[tuple[str, dict]] = []
        self.uploaded: dict[str, list[str]] = {}
        self.cards: dict[str, str] = {}

    def _call(self, name: str, *args, **kwargs) -> dict:
        from huggingface_hub import HfApi

        bound = inspect.signature(getattr(HfApi, name)).bind(
            self, *args, **kwargs
        )  # TypeError if HfApi would refuse
        arguments = {k: v for k, v in bound.arguments.items() if k != "self"}
        self.calls.append((name, arguments))
        if self.failures.get(name):
            raise self.failures[name].pop(0)
        return arguments

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def last(self, name: str) -> dict:
        return [arguments for n, arguments in self.calls if n == name][-1]

    def create_repo(self, *args, **kwargs):
        self._call("create_repo", *args, **kwargs)

    def list_repo_refs(self, *args, **kwargs):
        self._call("list_repo_refs", *args, **kwargs)
        return SimpleNamespace(branches=[SimpleNamespace(name=b) for b in self.branches], tags=[])

    def create_branch(self, *args, **kwargs):
        arguments = self._call("create_branch", *args, **kwargs)
        if arguments["branch"] not in self.branches:
            self.branches.append(arguments["branch"])

    def upload_folder(self, *args, **kwargs):
        from huggingface_hub.utils import filter_repo_objects

        arguments = self._call("upload_folder", *args, **kwargs)
        folder = Path(arguments["folder_path"])
        paths = [p.relative_to(folder).as_posix() for p in sorted(folder.glob("**/*")) if p.is_file()]
        self.uploaded[arguments["revision"]] = list(
            filter_repo_objects(paths, ignore_patterns=arguments["ignore_patterns"])
        )
        return SimpleNamespace(commit_url=f"https://huggingface.co/me/tiny/commit/folder-{len(self.calls)}")

    def upload_file(self, *args, **kwargs):
        arguments = self._call("upload_file", *args, **kwargs)
        self.cards[arguments["revision"]] = arguments["path_or_fileobj"].decode("utf-8")
        return SimpleNamespace(commit_url=f"https://huggingface.co/me/tiny/commit/card-{len(self.calls)}")


def test_publish_to_main(runs):
    add_training_states(runs.grpo)
    plan = plan_upload(runs.grpo, repo_id="me/tiny", private=True)
    card = build_model_card(runs.grpo, repo_id="me/tiny")
    api = FakeHubApi()
    url = publish(plan, card=card, api=api, sleep=pytest.fail)
    assert api.names() == ["create_repo", "upload_folder", "upload_file"]  # no branch work for main
    assert api.last("create_repo") == {"repo_id": "me/tiny", "private": True, "exist_ok": True}
    folder = api.last("upload_folder")
    assert folder["folder_path"] == str(runs.grpo) and folder["revision"] == "main"
    assert folder["ignore_patterns"] == list(EXCLUDED_PATTERNS) and folder["delete_patterns"] is None
    assert folder["commit_message"] == plan.commit_message
    assert api.uploaded["main"] == plan.files  # the plan is what upload_folder really sends
    assert api.last("upload_file")["path_in_repo"] == "README.md"
    assert api.cards["main"] == str(card)
    assert url.endswith("card-3")


def test_publish_step_branch_refuses_then_overwrites(runs):
    plan = plan_upload(runs.sft, repo_id="me/tiny", step=500)
    card = build_model_card(runs.sft, repo_id="me/tiny", revision=plan.revision)
    api = FakeHubApi()
    publish(plan, card=card, api=api)
    assert api.names() == ["create_repo", "list_repo_refs", "create_branch", "upload_folder", "upload_file"]
    assert api.last("create_branch") == {"repo_id": "me/tiny", "branch": "main-step-500", "exist_ok": True}
    assert api.last("upload_folder")["revision"] == "main-step-500"
    assert "main-step-500" in api.cards

    api.calls.clear()
    with pytest.raises(
        PublishError, match="revision main-step-500 already exists in me/tiny; pass --overwrite"
    ):
        publish(plan, card=card, api=api)
    assert "upload_folder" not in api.names()

    api.calls.clear()
    publish(plan, card=card, api=api, overwrite=True)
    assert api.names()[-2:] == ["upload_folder", "upload_file"]
    assert api.last("upload_folder")["delete_patterns"] == ["*"]  # replaced: stale files go


def test_publish_retries_transient_errors_only(runs):
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    plan = plan_upload(runs.sft, repo_id="me/tiny")
    card = build_model_card(runs.sft, repo_id="me/tiny")

    sleeps: list[float] = []
    api = FakeHubApi(
        failures={"upload_folder": [http_error(503), http_error(503)], "create_repo": [http_error(429)]}
    )
    publish(plan, card=card, api=api, backoff=2.0, sleep=sleeps.append)
    assert api.names().count("upload_folder") == 3 and api.names().count("create_repo") == 2
    assert sleeps == [2.0, 2.0, 4.0]  # create_repo's one retry, then upload_folder's two
    assert api.uploaded["main"] == plan.files

    sleeps.clear()
    api = FakeHubApi(failures={"upload_file": [httpx2.ConnectError("reset")]})
    publish(plan, card=card, api=api, sleep=sleeps.append)
    assert api.names().count("upload_file") == 2 and sleeps == [2.0]

    for error in (http_error(403), OfflineModeIsEnabled("offline")):
        sleeps.clear()
        api = FakeHubApi(failures={"upload_folder": [error]})
        with pytest.raises(type(error)):
            publish(plan, card=card, api=api, sleep=sleeps.append)
        assert api.names().count("upload_folder") == 1 and sleeps == []

    api = FakeHubApi(failures={"upload_folder": [http_error(500)] * 3})
    with pytest.raises(HfHubHTTPError):
        publish(plan, card=card, api=api, retries=2, backoff=1.0, sleep=sleeps.append)
    assert api.names().count("upload_folder") == 3 and sleeps == [1.0, 2.0]


# ---------------------------------------------------------------- callback


def test_callback_publishes_each_checkpoint_from_a_real_trainer(runs, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, Trainer

    from raml_recipes.training.sft_config import SupportSetSFTConfig

    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(runs.sft / RUN_RECORD, run / RUN_RECORD)  # a run records itself before training
    args = SupportSetSFTConfig(
        output_dir=str(run), max_steps=2, save_strategy="steps", save_steps=2, per_device_train_batch_size=2,
        use_cpu=True, report_to="none", logging_strategy="no", activation_checkpointing=False,
        push_to_hub_revision=True, hub_model_id="me/tiny",
    )  # fmt: skip
    assert [type(c) for c in hub_callbacks(args)] == [PushToHubRevisionCallback]
    args.push_to_hub_revision = False
    assert hub_callbacks(args) == []

    api = FakeHubApi()
    ids = torch.arange(8).tolist()
    trainer = Trainer(
        model=AutoModelForCausalLM.from_pretrained(runs.sft),
        args=args,
        train_dataset=[{"input_ids": ids, "labels": ids}] * 4,
        callbacks=[PushToHubRevisionCallback(args, api=api)],
    )
    trainer.train()
    checkpoint = run / "checkpoint-2"
    assert (checkpoint / "optimizer.pt").is_file()
    folder = api.last("upload_folder")
    assert folder["folder_path"] == str(checkpoint) and folder["revision"] == "main-step-2"
    uploaded = api.uploaded["main-step-2"]
    assert "model.safetensors" in uploaded and "config.json" in uploaded
    assert not {"optimizer.pt", "scheduler.pt", "rng_state.pth"} & set(uploaded)
    assert api.last("create_branch")["branch"] == "main-step-2"
    card = api.cards["main-step-2"]
    assert "checkpoint at training step 2" in card and SFT_RECIPE in card and 'revision="main-step-2"' in card


def test_callback_checks(runs, tmp_path):
    from transformers import TrainerControl, TrainerState

    with pytest.raises(ValueError, match="hub_model_id"):
        PushToHubRevisionCallback(SimpleNamespace(hub_model_id=None, output_dir=str(tmp_path)))
    args = SimpleNamespace(hub_model_id="me/tiny", hub_model_revision="v2", output_dir=str(tmp_path))
    callback = PushToHubRevisionCallback(args, api=FakeHubApi())
    with pytest.raises(ValueError, match="raml_run.json before training"):
        callback.on_train_begin(args, TrainerState(), TrainerControl())

    shutil.copytree(runs.sft, tmp_path / "checkpoint-3")
    shutil.copy(runs.sft / RUN_RECORD, tmp_path / RUN_RECORD)
    api = FakeHubApi()
    callback = PushToHubRevisionCallback(args, api=api)
    callback.on_save(args, TrainerState(global_step=3, is_world_process_zero=False), TrainerControl())
    assert api.calls == []  # other ranks never upload
    callback.on_save(args, TrainerState(global_step=3), TrainerControl())
    callback.on_train_end(args, TrainerState(global_step=3), TrainerControl())  # waits for the upload thread
    assert api.last("upload_folder")["revision"] == "v2-step-3"
    assert callback.failures == []


def test_a_failed_checkpoint_upload_is_reported_and_training_goes_on(runs, tmp_path):
    from transformers import TrainerControl, TrainerState

    for step in (3, 6):
        shutil.copytree(runs.sft, tmp_path / f"checkpoint-{step}")
    shutil.copy(runs.sft / RUN_RECORD, tmp_path / RUN_RECORD)
    args = SimpleNamespace(hub_model_id="me/tiny", hub_model_revision="main", output_dir=str(tmp_path))
    api = FakeHubApi(failures={"upload_folder": [http_error(403)]})  # not transient: no retry
    callback = PushToHubRevisionCallback(args, api=api)
    callback.on_save(args, TrainerState(global_step=3), TrainerControl())
    # The next save waits for the upload in flight before the Trainer saves (and rotates) checkpoints.
    control = TrainerControl(should_save=True)
    callback.on_step_end(args, TrainerState(global_step=6), control)
    assert callback._pending is None and len(callback.failures) == 1 and "403" in callback.failures[0]
    callback.on_save(args, TrainerState(global_step=6), control)
    callback.on_train_end(args, TrainerState(global_step=6), TrainerControl())
    assert [c["revision"] for n, c in api.calls if n == "upload_folder"] == ["main-step-3", "main-step-6"]
    assert "main-step-6" in api.uploaded and len(callback.failures) == 1


# ---------------------------------------------------------------- command line and config


def test_cli_dry_run(runs, tmp_path, capsys):
    from raml_recipes.cli import main

    out = tmp_path / "dry"
    evaluation = write_evaluation(tmp_path / "eval", "gsm8k", "openai/gsm8k", {"pass@1": 25.0}, runs.grpo)
    code = main(
        [
            "publish",
            str(runs.grpo),
            "--repo_id",
            "me/tiny",
            "--evaluation",
            str(evaluation),
            "--dry_run",
            str(out),
        ]
    )
    assert code == 0
    stdout = capsys.readouterr().out
    assert str(out) in stdout and "me/tiny@main" in stdout
    readme = (out / "README.md").read_text()
    assert SFT_RECIPE in readme and GRPO_RECIPE in readme and "| gsm8k | pass@1 (n=2) | 25.00 | 8 | 2 |" in readme
    plan = json.loads((out / "upload_plan.json").read_text())
    assert plan["repo_id"] == "me/tiny" and "model.safetensors" in plan["files"]


@pytest.mark.parametrize(
    "case, message",
    [("no-record", "has no raml_run.json"), ("bad-repo", "repo id"), ("offline", "offline mode is on")],
)
def test_cli_user_errors_are_one_line(runs, tmp_path, capsys, monkeypatch, case, message):
    from huggingface_hub import constants

    from raml_recipes.cli import main

    model_dir, repo_id, extra = runs.sft, "me/tiny", ["--dry_run", str(tmp_path / "dry")]
    if case == "no-record":
        model_dir = tmp_path / "bare"
        shutil.copytree(runs.sft, model_dir, ignore=shutil.ignore_patterns(RUN_RECORD))
    elif case == "bad-repo":
        repo_id = "not a repo"
    else:
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
        extra = []
    assert main(["publish", str(model_dir), "--repo_id", repo_id, *extra]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("raml publish: error:") and message in err
    assert not (tmp_path / "dry").exists()


def test_sft_and_grpo_parsers_accept_hub_revision_fields(monkeypatch):
    from raml_recipes.scripts.grpo import make_parser as grpo_parser
    from raml_recipes.scripts.sft import make_parser as sft_parser

    monkeypatch.chdir(ROOT)
    _, sft, _ = sft_parser().parse_args_and_config(
        ["--config", SFT_RECIPE, "--push_to_hub_revision", "true", "--hub_model_id", "me/x"]
    )
    assert (
        sft.push_to_hub_revision is True and sft.hub_model_id == "me/x" and sft.hub_model_revision == "main"
    )
    assert sft.support_size == recipe(SFT_RECIPE)["support_size"]  # the recipe's own fields still parse
    _, grpo, _ = grpo_parser().parse_args_and_config(["--config", GRPO_RECIPE, "--hub_model_revision", "v2"])
    assert grpo.push_to_hub_revision is False and grpo.hub_model_revision == "v2"


def test_the_embedded_smollm2_is_named_by_its_hub_repository(tiny_model_dir, tmp_path):
    shutil.copytree(tiny_model_dir, tmp_path / "m")
    write_run_record(
        tmp_path / "m", stage="sft", recipe_path=None, argv=[], model_name_or_path="embedded:smollm2-135m",
        dataset_name="data/trajectories/gsm8k_train.jsonl", support_size=2,
    )  # fmt: skip
    card = build_model_card(tmp_path / "m", repo_id="me/smollm2-sft")
    assert card.data.base_model == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert "embedded:smollm2-135m -> SFT(k=2)" in card.text  # the lineage says what actually ran
