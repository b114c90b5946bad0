"""What the Slurm job scripts run before any node starts: the recipe's settings and the server wait."""

from __future__ import annotations

import shlex
import socket
import subprocess
import sys

import pytest

from .conftest import ROOT


def job_settings(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "raml_recipes.job_settings", *argv], cwd=ROOT, capture_output=True, text=True
    )


def test_settings_apply_overrides_and_defaults_and_quote_for_the_shell(tmp_path):
    odd = tmp_path / "a folder; with $(spaces)"
    result = job_settings(
        "sft", "--config", "recipes/tiny/sft/config_demo.yaml", "--gradient_accumulation_steps", "4",
        "--output_dir", str(odd),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # stdout is only the assignments (libraries' import-time prints went to stderr): eval them.
    shell = f'{result.stdout}\nprintf \'%s\\n\' "$output_dir" "$gradient_accumulation_steps" "$model_name_or_path"'
    values = subprocess.run(
        ["bash", "-c", shell], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert values == [str(odd), "4", "embedded:tiny-llama"]


def test_grpo_settings_name_the_vllm_mode():
    result = job_settings("grpo", "--config", "recipes/tiny/grpo/config_demo.yaml")
    assert result.returncode == 0, result.stderr
    settings = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert settings["use_vllm"] == "false" and settings["vllm_mode"] == "colocate"
    assert settings["vllm_server_port"] == "8000"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["sft", "--config", "recipes/tiny/sft/config_demo.yaml", "--support_sise", "2"], "support_sise"),
        (["rlhf", "--config", "recipes/tiny/sft/config_demo.yaml"], "unknown stage 'rlhf'"),
        (["sft", "--config", "recipes/tiny/sft/missing.yaml"], "recipe file not found"),
    ],
)
def test_bad_settings_fail_in_one_line(argv, message):
    result = job_settings(*argv)
    assert result.returncode == 1 and result.stdout == ""
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("job_settings: error:")]
    assert message in line


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_server(url: str, timeout: int, server: str) -> subprocess.CompletedProcess:
    """slurm/common.sh's wait_for_server, against a real process started by `server` (bash)."""
    script = (
        f"source slurm/common.sh; ( {server} ) >/dev/null 2>&1 & server=$!; trap 'kill $server 2>/dev/null' EXIT; "
        f"wait_for_server {shlex.quote(url)} {timeout} $server"
    )
    return subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_the_job_waits_for_a_server_that_answers_late():
    port = free_port()
    result = wait_for_server(
        f"http://127.0.0.1:{port}/",
        30,
        f"(sleep 2; exec {sys.executable} -m http.server {port} --bind 127.0.0.1)",
    )
    assert result.returncode == 0, result.stderr
    assert "server ready after" in result.stdout and f"127.0.0.1:{port}" in result.stdout


def test_the_job_stops_at_once_when_the_server_exits():
    result = wait_for_server(f"http://127.0.0.1:{free_port()}/health", 600, "(sleep 1; exit 1)")
    assert result.returncode == 1
    assert "the server exited before answering" in result.stderr


def test_the_job_stops_when_the_server_never_answers():
    result = wait_for_server(f"http://127.0.0.1:{free_port()}/health", 2, "sleep 30")
    assert result.returncode == 1
    assert "no answer from" in result.stderr and "after 2s" in result.stderr


def test_processes_turn_a_global_batch_into_the_accumulation_steps_of_that_launch():
    """train.slurm reads the recipe for the processes it will launch: 16 per step on 2, 4 or 8 processes."""
    argv = ["--config", "recipes/tiny/sft/config_demo.yaml", "--global_batch_size", "16",
            "--per_device_train_batch_size", "2", "--gradient_accumulation_steps", "1"]  # fmt: skip
    for processes, steps in ((2, 4), (4, 2), (8, 1)):
        result = job_settings("sft", "--processes", str(processes), *argv)
        assert result.returncode == 0, result.stderr
        assert f"gradient_accumulation_steps={steps}" in result.stdout.splitlines()
    result = job_settings("sft", "--processes", "3", *argv)
    assert result.returncode == 1 and result.stdout == ""
    assert "global_batch_size 16 cannot be met exactly: per_device_train_batch_size 2 x 3 processes" in result.stderr
    assert "a launch on 2 or 4 processes" in result.stderr
    assert job_settings("sft", "--processes", "0", *argv).returncode == 2
