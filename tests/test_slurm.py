"""The Slurm jobs in slurm/, submitted to a real one-node cluster (slurm/local_cluster.sh).

Each job runs the tiny recipes; the tests read Slurm's own view of the job (`scontrol show job`) and
the files the job left. `.ci/run` starts the cluster with two nodes (two slurmd on this machine, so
that multi-node jobs run for real); elsewhere the fixture starts it when it can (root, Debian
packages), and the tests are skipped, saying why, when it cannot.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

TINY_SFT = "recipes/tiny/sft/config_demo.yaml"
# 32 questions x 2 samples = 64 per epoch; 2 ranks x 8 = 16 per step: 4 steps per epoch, 40 in all.
RUN = ["--num_train_epochs", "10", "--logging_steps", "1", "--disable_tqdm", "true"]
STEPS = 40


def _usable_nodes() -> int:
    if shutil.which("sinfo") is None:
        return 0
    result = subprocess.run(["sinfo", "--noheader", "--format=%T %D"], capture_output=True, text=True)
    states = [line.split() for line in result.stdout.splitlines()] if result.returncode == 0 else []
    return sum(int(count) for state, count in states if state.startswith(("idle", "mixed", "allocated")))


@pytest.fixture(scope="session")
def slurm_cluster() -> int:
    """The number of usable nodes; starts the local cluster (2 nodes) when none runs."""
    if _usable_nodes() == 0:
        if os.geteuid() != 0:
            pytest.skip(
                "no Slurm cluster, and starting the local one needs root: bash slurm/local_cluster.sh start 2"
            )
        started = subprocess.run(
            ["bash", "slurm/local_cluster.sh", "start", "2"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if started.returncode != 0:
            pytest.skip(f"the local Slurm cluster could not start: {started.stderr.strip()[-500:]}")
    return _usable_nodes()


@pytest.fixture
def two_nodes(slurm_cluster):
    if slurm_cluster < 2:
        pytest.skip("needs 2 Slurm nodes: sudo bash slurm/local_cluster.sh start 2")


def submit(script: str, *args: str, log: Path, sbatch_options: tuple[str, ...] = ()) -> str:
    """sbatch from the repository root (as users do), the log redirected to `log`; returns the job id."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1"}
    command = ["sbatch", "--parsable", f"--output={log}", *sbatch_options, script, *args]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, check=True)
    return result.stdout.strip().split(";")[0]


def job_fields(job_id: str) -> dict[str, str]:
    """`scontrol show job` as a dict; for an array, the fields of each task under its task id."""
    out = subprocess.run(
        ["scontrol", "show", "job", "--oneliner", job_id], capture_output=True, text=True, check=True
    ).stdout
    return dict(re.findall(r"(\w+)=(\S*)", out.splitlines()[0]))


def array_tasks(job_id: str) -> list[dict[str, str]]:
    out = subprocess.run(
        ["scontrol", "show", "job", "--oneliner", job_id], capture_output=True, text=True, check=True
    ).stdout
    return [dict(re.findall(r"(\w+)=(\S*)", line)) for line in out.splitlines() if line.strip()]


FINAL = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL")


def wait_for(job_id: str, timeout: float = 300) -> list[dict[str, str]]:
    """Wait until every task of the job is in a final state (a requeued job passes through PENDING)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tasks = array_tasks(job_id)
        if tasks and all(task["JobState"] in FINAL for task in tasks):
            return tasks
        time.sleep(1)
    subprocess.run(["scancel", job_id])
    raise AssertionError(f"job {job_id} did not finish in {timeout}s: {[t['JobState'] for t in tasks]}")


def wait_for_log(log: Path, pattern: str, count: int, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.is_file() and log.read_text(errors="replace").count(pattern) >= count:
            return
        time.sleep(0.2)
    raise AssertionError(
        f"{log} never showed {count} x {pattern!r}:\n{log.read_text()[-3000:] if log.is_file() else ''}"
    )


def final_weights(output_dir: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(output_dir / "model.safetensors")


@pytest.fixture(scope="module")
def uninterrupted(slurm_cluster, tmp_path_factory):
    """The tiny SFT recipe on 2 CPU ranks through train.slurm, run to the end, saving every 20 steps."""
    folder = tmp_path_factory.mktemp("train-slurm")
    output_dir, log = folder / "run", folder / "train.out"
    job = submit(
        "slurm/train.slurm", "sft", TINY_SFT, "accelerate_configs/cpu.yaml",
        "--output_dir", str(output_dir), "--save_strategy", "steps", "--save_steps", "20", *RUN, log=log,
    )  # fmt: skip
    (task,) = wait_for(job)
    return task, output_dir, log


def test_train_job_completes_and_writes_checkpoints(uninterrupted):
    task, output_dir, log = uninterrupted
    assert task["JobState"] == "COMPLETED", log.read_text()[-3000:]
    assert task["ExitCode"] == "0:0" and task["Restarts"] == "0"
    assert (output_dir / "checkpoint-20" / "optimizer.pt").is_file()
    assert (output_dir / f"checkpoint-{STEPS}" / "trainer_state.json").is_file()
    metrics = json.loads((output_dir / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["global_step"] == STEPS
    text = log.read_text()
    # Gradient accumulation was read from the recipe (overrides applied) and given to accelerate.
    assert "== train.slurm: job" in text and "== train.slurm: exit 0" in text
    assert json.loads((output_dir / "raml_run.json").read_text())["recipe_path"] == TINY_SFT


def test_sigterm_mid_run_requeues_and_resumes_to_the_same_model(uninterrupted, tmp_path):
    _, reference_dir, _ = uninterrupted
    output_dir, log = tmp_path / "run", tmp_path / "train.out"
    job = submit(
        "slurm/train.slurm", "sft", TINY_SFT, "accelerate_configs/cpu.yaml",
        "--output_dir", str(output_dir), "--save_strategy", "no", *RUN, log=log,
    )  # fmt: skip
    wait_for_log(log, "'loss'", count=10)  # a quarter of the way in
    subprocess.run(["scancel", "--signal=TERM", job], check=True)  # what --signal=TERM@120 sends
    (task,) = wait_for(job)

    text = log.read_text()
    assert task["JobState"] == "COMPLETED", text[-3000:]
    assert int(task["Restarts"]) == 1
    stopped = re.search(r"\"global_step\":(\d+)", text)
    assert stopped and 0 < int(stopped.group(1)) < STEPS, text[-3000:]
    assert "requeueing job" in text
    assert f"Resuming from {output_dir}/checkpoint-{stopped.group(1)}" in text
    assert not (output_dir / "preempted.json").exists()
    metrics = json.loads((output_dir / "metrics.json").read_text())
    assert metrics["global_step"] == STEPS
    # The resumed run replays the same support-set draws and batches from the same state: same model.
    reference, resumed = final_weights(reference_dir), final_weights(output_dir)
    assert reference.keys() == resumed.keys()
    assert all((reference[name] - resumed[name]).abs().max().item() < 1e-6 for name in reference)


def test_two_node_job_trains_one_model_over_both_nodes(two_nodes, uninterrupted, tmp_path):
    """One `accelerate launch` per node (srun), machine ranks from Slurm, the main address from the first node."""
    _, reference_dir, _ = uninterrupted
    output_dir, log = tmp_path / "run", tmp_path / "train.out"
    job = submit(
        "slurm/train.slurm", "sft", TINY_SFT, "accelerate_configs/cpu.yaml",
        "--output_dir", str(output_dir), "--save_strategy", "no", *RUN, log=log, sbatch_options=("--nodes=2",),
    )  # fmt: skip
    (task,) = wait_for(job)
    assert task["JobState"] == "COMPLETED", log.read_text()[-3000:]
    assert task["NumNodes"] == "2"
    metrics = json.loads((output_dir / "metrics.json").read_text())
    # 2 machines x 1 process: the same 2-rank run as on one node, so the same model.
    assert metrics["world_size"] == 2 and metrics["global_step"] == STEPS
    reference, trained = final_weights(reference_dir), final_weights(output_dir)
    assert all((reference[name] - trained[name]).abs().max().item() < 1e-6 for name in reference)


def test_grpo_server_mode_without_vllm_fails_at_once_saying_what_to_install(two_nodes, tmp_path):
    """No vLLM here (it needs CUDA): the job stops while reading the recipe, before starting any node."""
    log = tmp_path / "grpo.out"
    job = submit(
        "slurm/train.slurm", "grpo", "recipes/tiny/grpo/config_demo.yaml", "accelerate_configs/cpu.yaml",
        "--output_dir", str(tmp_path / "run"), "--use_vllm", "true", "--vllm_mode", "server",
        log=log, sbatch_options=("--nodes=2",),
    )  # fmt: skip
    (task,) = wait_for(job, timeout=120)
    text = log.read_text()
    assert task["JobState"] == "FAILED", text[-3000:]
    assert "use_vllm is true" in text and "pip install 'raml-recipes[vllm]'" in text
    assert not (tmp_path / "run").exists()


def test_train_job_with_a_bad_recipe_key_fails_naming_it(slurm_cluster, tmp_path):
    log = tmp_path / "bad.out"
    job = submit(
        "slurm/train.slurm", "sft", TINY_SFT, "accelerate_configs/cpu.yaml", "--support_sise", "4", log=log
    )
    (task,) = wait_for(job, timeout=120)
    assert task["JobState"] == "FAILED"
    assert "support_sise" in log.read_text()


def test_evaluate_job_completes(slurm_cluster, tmp_path):
    output_dir, log = tmp_path / "eval", tmp_path / "eval.out"
    job = submit(
        "slurm/evaluate.slurm",
        "recipes/tiny/evaluate/config_demo.yaml",
        "--output_dir",
        str(output_dir),
        log=log,
    )
    (task,) = wait_for(job)
    assert task["JobState"] == "COMPLETED", log.read_text()[-3000:]
    summary = json.loads((output_dir / "summary.json").read_text())
    assert summary["benchmarks"]["gsm8k"]["questions"] == 24


def test_summarize_array_job_assembles_both_shards(slurm_cluster, tmp_path):
    output_dir = tmp_path / "summaries"
    job = submit(
        "slurm/summarize.slurm", "recipes/tiny/summarize/config_demo.yaml", "--output_dir", str(output_dir),
        log=tmp_path / "summarize-%a.out", sbatch_options=("--array=0-1",),
    )  # fmt: skip
    tasks = wait_for(job)
    assert sorted(task["ArrayTaskId"] for task in tasks) == ["0", "1"]
    assert all(task["JobState"] == "COMPLETED" for task in tasks), (tmp_path / "summarize-0.out").read_text()
    shards = sorted(path.name for path in output_dir.glob("rows-*.jsonl"))
    assert shards == ["rows-00000-of-00002.jsonl", "rows-00001-of-00002.jsonl"]
    rows = [json.loads(line) for line in (output_dir / "trajectories.jsonl").read_text().splitlines()]
    summary = json.loads((output_dir / "summary.json").read_text())
    # Every question once, from one shard or the other, in the dataset the last task assembled.
    assert len({row["id"] for row in rows}) == len(rows) == summary["questions_written"] == 32
