"""SIGTERM during training: a checkpoint at the step's end, `preempted.json`, exit 143; `auto` resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from raml_recipes.training.preemption import resume_checkpoint

from .conftest import ROOT


def test_auto_resumes_from_the_last_checkpoint_or_starts_fresh(tmp_path):
    args = SimpleNamespace(
        resume_from_checkpoint="auto", output_dir=str(tmp_path / "missing"), process_index=0
    )
    assert resume_checkpoint(args) is None
    args.output_dir = str(tmp_path)
    assert resume_checkpoint(args) is None  # a folder with no checkpoint yet
    for step in (4, 12):
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    assert resume_checkpoint(args) == str(tmp_path / "checkpoint-12")
    # A save cut short (model files, no trainer state yet) is passed over for the last complete one.
    (tmp_path / "checkpoint-16").mkdir()
    (tmp_path / "checkpoint-16" / "config.json").write_text("{}")
    assert resume_checkpoint(args) == str(tmp_path / "checkpoint-12")
    args.resume_from_checkpoint = str(tmp_path / "checkpoint-4")  # an explicit path is kept
    assert resume_checkpoint(args) == str(tmp_path / "checkpoint-4")


@pytest.mark.slow
def test_sigterm_saves_a_checkpoint_and_auto_resumes_to_the_planned_step(tmp_path):
    output_dir = tmp_path / "run"
    # 8 questions x 2 samples / 8 per step = 2 steps per epoch: 60 steps.
    command, env = _tiny_sft(output_dir)
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    losses = 0
    for line in process.stdout:
        losses += "'loss'" in line
        if losses == 5:
            process.send_signal(signal.SIGTERM)
            process.send_signal(signal.SIGTERM)  # a launcher forwarding the signal again changes nothing
    assert process.wait(timeout=120) == 143

    marker = json.loads((output_dir / "preempted.json").read_text())
    stopped = marker["global_step"]
    assert 5 <= stopped < 60
    assert marker["checkpoint"] == str(output_dir / f"checkpoint-{stopped}")
    assert (output_dir / f"checkpoint-{stopped}" / "optimizer.pt").is_file()
    assert not (output_dir / "model.safetensors").exists()  # not finished: no final model, no metrics
    assert not (output_dir / "metrics.json").exists()

    resumed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"Resuming from {output_dir / f'checkpoint-{stopped}'}" in resumed.stdout
    metrics = json.loads((output_dir / "metrics.json").read_text())
    assert metrics["global_step"] == 60 and not (output_dir / "preempted.json").exists()
    steps = [entry["step"] for entry in metrics["log_history"] if "loss" in entry]
    assert steps == list(range(1, 61))  # every step logged once: none lost, none repeated


def _tiny_sft(output_dir):
    command = [
        sys.executable, "-m", "raml_recipes.scripts.sft", "--config", "recipes/tiny/sft/config_demo.yaml",
        "--output_dir", str(output_dir), "--max_questions", "8", "--num_train_epochs", "30",
        "--logging_steps", "1", "--disable_tqdm", "true", "--resume_from_checkpoint", "auto",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    return command, env


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_like_sigterm_and_a_second_stops_at_once(tmp_path):
    output_dir = tmp_path / "run"
    command, env = _tiny_sft(output_dir)
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines, losses = [], 0
    for line in process.stdout:
        lines.append(line)
        if "'loss'" in line:
            losses += 1
            if losses == 3:  # once: a second Ctrl-C means "stop at once"
                process.send_signal(signal.SIGINT)
    assert process.wait(timeout=120) == 130, "".join(lines)[-3000:]
    text = "".join(lines)
    assert "Ctrl-C: saving a checkpoint at the end of this step" in text and "Traceback" not in text
    marker = json.loads((output_dir / "preempted.json").read_text())
    assert marker["signal"] == "SIGINT" and (output_dir / f"checkpoint-{marker['global_step']}" / "optimizer.pt").is_file()
    assert f"Stopped by SIGINT at step {marker['global_step']}" in text

    # The run resumes from that checkpoint; two Ctrl-C in a row stop it without waiting for the step.
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines, losses = [], 0
    for line in process.stdout:
        lines.append(line)
        if "'loss'" in line:
            losses += 1
            if losses == 2:
                process.send_signal(signal.SIGINT)
                time.sleep(0.05)  # the first handled, mid-step
                process.send_signal(signal.SIGINT)
    code = process.wait(timeout=120)
    text = "".join(lines)
    checkpoint = output_dir / f"checkpoint-{marker['global_step']}"
    assert f"Resuming from {checkpoint}" in text
    assert code != 0 and "KeyboardInterrupt" in text, text[-3000:]
    assert not (output_dir / "model.safetensors").exists()  # never finished


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small filesystem (the full disk) needs root")
def test_a_full_disk_during_a_checkpoint_save_stops_in_one_line_naming_the_checkpoint_to_resume(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    # 3 MiB: the tiny model's checkpoints (about 1.3 MiB each with the optimizer state) soon fill it.
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3M", "tmpfs", str(disk)], check=True)
    try:
        command, env = _tiny_sft(disk / "run")
        command += ["--num_train_epochs", "1", "--save_strategy", "steps", "--save_steps", "1"]
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
        assert result.returncode == 1
        (line,) = [line for line in result.stderr.splitlines() if "error:" in line]
        assert "Traceback" not in result.stderr, result.stderr[-2000:]
        assert f"{disk / 'run'}: the disk filled up while the run was writing" in line
        checkpoints = sorted((disk / "run").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
        complete = [c for c in checkpoints if (c / "trainer_state.json").is_file()]
        assert complete  # the disk filled during a later save (a checkpoint or the final model)
        assert f"last complete checkpoint: {complete[-1]}, --resume_from_checkpoint auto continues" in line
    finally:
        subprocess.run(["umount", str(disk)])
