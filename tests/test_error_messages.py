"""Errors that name their cause: each one line, naming the file, row, key or path and the fix, where
before each read as something else (a bare UnicodeDecodeError, a Hub connection failure, a repo-id
error for a local path)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from raml_recipes.cli import main as raml
from raml_recipes.data import DataError
from raml_recipes.data.io import read_rows
from raml_recipes.errors import EmbeddedModelError
from raml_recipes.models import resolve_model

from .conftest import ROOT


def test_invalid_utf8_names_the_file_row_and_byte(tmp_path):
    path = tmp_path / "questions.jsonl"
    path.write_bytes(b'{"id": 1, "problem": "a", "answer": "1"}\n{"id": 2, "problem": "caf\xe9", "answer": "2"}\n')
    with pytest.raises(DataError) as error:
        read_rows(path)
    assert str(error.value) == (
        f"{path}, row 2: not valid UTF-8 (byte b'\\xe9' at column 26); re-save the file as UTF-8"
    )
    whole = tmp_path / "questions.json"
    whole.write_bytes(b'[{"problem": "caf\xe9"}]')
    with pytest.raises(DataError, match=rf"{whole}: not valid UTF-8 \(at byte 17\)"):
        read_rows(whole)


def test_a_local_looking_model_path_that_is_missing_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outputs").mkdir()
    for name in ("outputs/sft", "./sft", "runs/a/b", str(tmp_path / "gone")):
        with pytest.raises(EmbeddedModelError, match=rf"model_name_or_path '{name}': no such folder"):
            resolve_model(name)
    # OWNER/NAME with no such local folder is a Hub id: passed on unchanged.
    assert resolve_model("Qwen/Qwen2.5-7B") == "Qwen/Qwen2.5-7B"
    (tmp_path / "outputs" / "sft").mkdir()
    assert resolve_model("outputs/sft") == "outputs/sft"


def test_evaluate_with_a_missing_model_folder_stops_in_one_line_and_leaves_no_trap(tmp_path, capsys):
    out = tmp_path / "eval"
    args = ["evaluate", "--benchmarks", "gsm8k", "--max_questions", "1", "--output_dir", str(out)]
    assert raml([*args, "--model_name_or_path", str(tmp_path / "no" / "model")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no such folder" in err
    # The corrected rerun into the same folder is not refused as "made from another model": the
    # failed run wrote no output.
    assert raml([*args, "--model_name_or_path", "embedded:tiny-llama", "--max_new_tokens", "4"]) == 0


def test_an_unreachable_hub_dataset_is_one_line_naming_it(tmp_path):
    command = [sys.executable, "-m", "raml_recipes.cli", "evaluate", "--model_name_or_path", "embedded:tiny-llama",
               "--benchmarks", "nobody/no-such-set", "--output_dir", str(tmp_path / "eval")]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("raml evaluate: error:")]
    assert "nobody/no-such-set: no local file or folder of that name, and as a Hub dataset it could not be loaded" in line
