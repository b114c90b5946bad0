"""Every output knows what made it: digests, identities, and training reruns into an existing folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from raml_recipes import identity
from raml_recipes.identity import (
    IDENTITY_FILE,
    OutputMismatch,
    check_identity,
    file_digest,
    identity_changes,
    input_digest,
    make_identity,
)
from raml_recipes.training.output_dir import training_settings

from .conftest import ROOT

# --- digests ----------------------------------------------------------------------------------------


def test_a_small_file_is_hashed_whole(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b"a" * 5000)
    before = file_digest(path)
    path.write_bytes(b"a" * 2500 + b"b" + b"a" * 2499)  # same size, one byte in the middle
    assert file_digest(path) != before


def test_a_large_file_is_sampled_in_spread_blocks(tmp_path, monkeypatch):
    # Scaled down: "large" above 4 KiB, 16 blocks of 64 bytes spread over the file.
    monkeypatch.setattr(identity, "WHOLE_FILE_LIMIT", 4096)
    monkeypatch.setattr(identity, "BLOCK", 64)
    size = 16 * 1024
    data = bytearray(os.urandom(size))
    path = tmp_path / "model.safetensors"
    path.write_bytes(bytes(data))
    base = file_digest(path)
    starts = [(size - 64) * i // 15 for i in range(16)]
    for offset in (0, size - 1, starts[7] + 10):  # first byte (a header), last byte, inside a middle block
        changed = bytearray(data)
        changed[offset] ^= 0xFF
        path.write_bytes(bytes(changed))
        assert file_digest(path) != base, offset
    # A byte no block covers is not seen: the price of a constant-time digest (weights change everywhere).
    gap = starts[7] + 64 + 5
    assert all(not s <= gap < s + 64 for s in starts)
    changed = bytearray(data)
    changed[gap] ^= 0xFF
    path.write_bytes(bytes(changed))
    assert file_digest(path) == base
    path.write_bytes(bytes(data) + b"\0")  # the size is part of it
    assert file_digest(path) != base


def test_a_folder_digest_covers_the_model_not_what_runs_write_beside_it(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.safetensors").write_bytes(b"weights-1")
    (model / "config.json").write_text("{}")
    base = input_digest(model)
    (model / "metrics.json").write_text('{"loss": 1}')
    (model / "checkpoint-3").mkdir()
    (model / "checkpoint-3" / "model.safetensors").write_bytes(b"other")
    (model / IDENTITY_FILE).write_text("{}")
    assert input_digest(model) == base
    (model / "model.safetensors").write_bytes(b"weights-2")  # retrained in place
    assert input_digest(model) != base
    (model / "model.safetensors").write_bytes(b"weights-1")
    (model / "tokenizer.json").write_text("{}")  # a file added to the model
    assert input_digest(model) != base
    assert input_digest("Qwen/Qwen2.5-7B") == "name:Qwen/Qwen2.5-7B" and input_digest(None) is None


# --- identities -------------------------------------------------------------------------------------


def test_identity_changes_name_each_setting_and_input(tmp_path):
    data = tmp_path / "data.jsonl"
    data.write_text('{"id": 1}\n')
    first = make_identity("sft", {"learning_rate": 1e-4, "support_size": 2}, {"data": data, "model": "m"})
    assert identity_changes(first, first) == []
    data.write_text('{"id": 2}\n')
    second = make_identity("sft", {"learning_rate": 2e-4, "support_size": 2}, {"data": data, "model": "m2"})
    assert identity_changes(first, second) == [
        "learning_rate 0.0001 -> 0.0002",
        f"data ({data}) has other contents than when this folder was made",
        "model m -> m2",
    ]


def test_check_identity_records_refuses_and_overwrites(tmp_path):
    out = tmp_path / "out"
    first = make_identity("evaluate", {"seed": 0}, {})
    assert check_identity(out, first) is False and json.loads((out / IDENTITY_FILE).read_text()) == first
    other = make_identity("evaluate", {"seed": 1}, {})
    # No outputs yet (the first run stopped before writing any, say on a mistyped path): nothing to
    # protect, the new identity is recorded.
    assert check_identity(out, other) is False and json.loads((out / IDENTITY_FILE).read_text()) == other
    check_identity(out, first)
    (out / "samples.jsonl").write_text("{}\n")
    assert check_identity(out, first) is False  # same identity: resume as before
    with pytest.raises(OutputMismatch, match=r"made from other settings or inputs \(seed 0 -> 1\): use another output_dir"):
        check_identity(out, other)
    assert json.loads((out / IDENTITY_FILE).read_text()) == first  # the refusal changed nothing
    assert check_identity(out, other, overwrite=True) is True
    assert json.loads((out / IDENTITY_FILE).read_text()) == other


def test_training_settings_leave_out_run_control_and_derived_accumulation():
    class Args:
        def to_dict(self):
            return {"learning_rate": 1e-4, "output_dir": "a", "logging_steps": 5, "save_steps": 10,
                    "report_to": ["wandb"], "global_batch_size": 16, "gradient_accumulation_steps": 4,
                    "eval_steps": 3, "support_size": 2}  # fmt: skip

    assert training_settings(Args()) == {"learning_rate": 1e-4, "global_batch_size": 16, "support_size": 2}


# --- training reruns, for real (tiny SFT) -----------------------------------------------------------

TINY = [sys.executable, "-m", "raml_recipes.cli", "sft", "--config", "recipes/tiny/sft/config_demo.yaml",
        "--max_questions", "8", "--num_train_epochs", "1", "--disable_tqdm", "true"]  # fmt: skip


def _sft(output_dir, *extra):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([*TINY, "--output_dir", str(output_dir), *extra], cwd=ROOT, capture_output=True,
                          text=True, env=env, timeout=300)  # fmt: skip


@pytest.mark.slow
def test_a_rerun_into_a_training_folder_resumes_only_its_own_run(tmp_path):
    out = tmp_path / "run"
    first = _sft(out, "--save_strategy", "steps", "--save_steps", "1")  # 8 questions x 2 / 8 = 2 steps
    assert first.returncode == 0, first.stderr[-3000:]
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-1", "checkpoint-2"]
    recorded = json.loads((out / IDENTITY_FILE).read_text())
    assert recorded["stage"] == "sft" and recorded["settings"]["learning_rate"] == 3e-3

    # The same recipe again, no resume asked: its checkpoints would mix with the old run's.
    again = _sft(out, "--save_strategy", "steps", "--save_steps", "1")
    assert again.returncode == 1 and "Traceback" not in again.stderr
    assert "holds checkpoints of an earlier run (checkpoint-2): pass --resume_from_checkpoint auto" in again.stderr

    # Resumed with other settings: stopped before any model loads, every change named.
    changed = _sft(out, "--resume_from_checkpoint", "auto", "--learning_rate", "1e-3", "--support_size", "1",
                   "--max_questions", "6")  # fmt: skip
    assert changed.returncode == 1 and "Traceback" not in changed.stderr
    (line,) = changed.stderr.strip().splitlines()
    for change in ("learning_rate 0.003 -> 0.001", "support_size 2 -> 1", "max_questions 8 -> 6"):
        assert change in line, line
    assert "--overwrite_output_dir true" in line
    assert json.loads((out / IDENTITY_FILE).read_text()) == recorded  # nothing written

    # The same settings resume (nothing left to train); the data regenerated in place does not.
    resumed = _sft(out, "--save_strategy", "steps", "--save_steps", "1", "--resume_from_checkpoint", "auto")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"Resuming from {out / 'checkpoint-2'}" in resumed.stdout

    # --overwrite_output_dir: the old checkpoints go, the new run's identity is recorded.
    fresh = _sft(out, "--learning_rate", "1e-3", "--overwrite_output_dir", "true")
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    assert "removed 2 checkpoint(s) of the earlier run" in fresh.stdout
    assert not list(out.glob("checkpoint-*"))
    assert json.loads((out / IDENTITY_FILE).read_text())["settings"]["learning_rate"] == 1e-3


@pytest.mark.slow
def test_training_data_regenerated_in_place_is_a_different_run(tmp_path):
    from raml_recipes.data.io import read_rows, write_jsonl

    data = tmp_path / "trajectories.jsonl"
    rows = read_rows(ROOT / "data/trajectories/gsm8k_train.jsonl")[:8]
    write_jsonl(data, rows)
    out = tmp_path / "run"
    first = _sft(out, "--dataset_name", str(data), "--max_steps", "1", "--save_strategy", "steps", "--save_steps", "1")
    assert first.returncode == 0, first.stderr[-3000:]
    write_jsonl(data, rows[::-1])  # same rows, another order: other contents
    resumed = _sft(out, "--dataset_name", str(data), "--max_steps", "1", "--resume_from_checkpoint", "auto")
    assert resumed.returncode == 1
    assert f"data ({data}) has other contents than when this folder was made" in resumed.stderr
