"""The canonical record, its loaders and their errors."""

from __future__ import annotations

import json

import datasets
import pytest

from raml_recipes.data import DataError, load_trajectories
from raml_recipes.data.io import read_rows, write_jsonl
from raml_recipes.data.sft_format import build_sft_dataset
from raml_recipes.prompts import PAPER_SFT_PROMPT, render_prompt

GOOD = [
    {
        "id": "q1",
        "problem": "What is 1+1?",
        "answer": "2",
        "trajectories": ["<think>1+1</think> \\boxed{2}", "so \\boxed{2}"],
        "level": 1,
    },
    {
        "id": "q2",
        "problem": "What is 2+2?",
        "answer": 4,
        "trajectories": ["\\boxed{4}"],
        "correct": [True],
        "source": "hand",
    },
]


def table_rows():
    """GOOD with the same columns in every row and text answers, as an Arrow table needs."""
    return [
        {
            **row,
            "answer": str(row["answer"]),
            "correct": row.get("correct"),
            "source": row.get("source"),
            "level": row.get("level"),
        }
        for row in GOOD
    ]


def write_rows(path, rows):
    if path.suffix == ".jsonl":
        write_jsonl(path, rows)
    elif path.suffix == ".json":
        path.write_text(json.dumps(rows))
    else:
        datasets.Dataset.from_list(rows).to_parquet(str(path))
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".parquet"])
def test_local_formats_load_the_same_records(tmp_path, suffix):
    rows = table_rows() if suffix == ".parquet" else GOOD
    dataset = load_trajectories(str(write_rows(tmp_path / f"t{suffix}", rows)))
    assert dataset["id"] == ["q1", "q2"]
    assert dataset["answer"] == ["2", "4"]  # numbers become text
    assert dataset["trajectories"][0] == GOOD[0]["trajectories"]
    assert dataset["level"] == [1, None]  # extra fields are kept


def test_missing_id_gets_a_stable_hash_and_max_questions_cuts(tmp_path):
    rows = [{k: v for k, v in row.items() if k != "id"} for row in GOOD]
    path = write_rows(tmp_path / "t.jsonl", rows)
    first, again = load_trajectories(str(path)), load_trajectories(str(path))
    assert first["id"] == again["id"] and len(set(first["id"])) == 2
    assert len(load_trajectories(str(path), max_questions=1)) == 1


@pytest.mark.parametrize(
    ("change", "row", "field", "message"),
    [
        ({"problem": None}, 2, "problem", "missing"),
        ({"answer": None}, 2, "answer", "missing"),
        ({"answer": "  "}, 2, "answer", "empty"),
        ({"trajectories": "just one text"}, 2, "trajectories", "list of texts"),
        ({"trajectories": ["ok", 7]}, 2, "trajectories[1]", "expected text, got int"),
        ({"trajectories": ["ok", {"text": "x"}]}, 2, "trajectories[1]", "expected text, got dict"),
        ({"correct": [True, False]}, 2, "correct", "one per trajectory"),
        ({"correct": ["yes"]}, 2, "correct[0]", "true/false"),
        ({"id": "q1"}, 2, "id", "duplicate id 'q1' (first seen in row 1)"),
    ],
)
def test_bad_rows_name_file_row_and_field(tmp_path, change, row, field, message):
    rows = [GOOD[0], {**GOOD[1], **change}]
    path = write_rows(tmp_path / "bad.jsonl", rows)
    with pytest.raises(DataError) as info:
        load_trajectories(str(path))
    text = str(info.value)
    assert str(path) in text and f"row {row}" in text and f"field {field!r}" in text and message in text


def test_bad_files_say_what_was_expected(tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("problem,answer\n")
    with pytest.raises(
        DataError, match=r"t\.csv: unsupported file type '\.csv'; expected one of \.jsonl, \.json, \.parquet"
    ):
        load_trajectories(str(csv))

    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps(GOOD[0]) + "\n" + '{"problem": "x", \n')
    with pytest.raises(DataError, match=r"broken\.jsonl, row 2: not valid JSON"):
        read_rows(broken)

    not_list = tmp_path / "obj.json"
    not_list.write_text(json.dumps(GOOD[0]))
    with pytest.raises(DataError, match=r"obj\.json: expected a JSON list of row objects, got a dict"):
        read_rows(not_list)

    not_parquet = tmp_path / "fake.parquet"
    not_parquet.write_text("hello")
    with pytest.raises(DataError, match=r"fake\.parquet: not a readable Parquet file"):
        read_rows(not_parquet)


def test_missing_local_path_fails_without_trying_the_hub(tmp_path, monkeypatch):
    def no_hub(*args, **kwargs):
        raise AssertionError("a missing local file must not be looked up on the Hub")

    monkeypatch.setattr(datasets, "load_dataset", no_hub)
    with pytest.raises(DataError, match="no such file or folder"):
        load_trajectories(str(tmp_path / "missing.jsonl"))


def test_hub_ids_load_through_datasets(monkeypatch):
    calls = []

    def fake_load_dataset(name, config=None, split=None):  # the Hub's network is what we cannot have here
        calls.append((name, config, split))
        return datasets.Dataset.from_list(table_rows())

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    dataset = load_trajectories("someone/trajectories", split="train", config="k8")
    assert calls == [("someone/trajectories", "k8", "train")]
    assert dataset["id"] == ["q1", "q2"]

    monkeypatch.setattr(
        datasets,
        "load_dataset",
        lambda *a, **k: datasets.Dataset.from_list([{"problem": "x", "answer": "1", "trajectories": None}]),
    )
    with pytest.raises(DataError, match=r"someone/other, row 1, field 'trajectories': missing"):
        load_trajectories("someone/other")


def test_save_to_disk_folders_load(tmp_path):
    rows = table_rows()
    datasets.DatasetDict({"train": datasets.Dataset.from_list(rows)}).save_to_disk(str(tmp_path / "dd"))
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "d"))
    assert load_trajectories(str(tmp_path / "dd"))["id"] == ["q1", "q2"]
    assert load_trajectories(str(tmp_path / "d"))["id"] == ["q1", "q2"]


def test_sft_rows_are_distinct_correct_trajectories_with_the_paper_prompt(tmp_path):
    rows = [
        {
            "id": "a",
            "problem": "P?",
            "answer": "1",
            "trajectories": ["t1", "t2", "t1", "bad"],
            "correct": [True, True, True, False],
        },
        {"id": "b", "problem": "Q?", "answer": "2", "trajectories": ["wrong"], "correct": [False]},
    ]
    dataset, stats = build_sft_dataset(load_trajectories(str(write_rows(tmp_path / "t.jsonl", rows))))
    assert dataset["question_id"] == ["a", "a"]
    assert [c[0]["content"] for c in dataset["completion"]] == ["t1", "t2"]
    assert dataset["prompt"][0] == [{"role": "user", "content": render_prompt(PAPER_SFT_PROMPT, "P?")}]
    assert "\\boxed{}" in dataset["prompt"][0][0]["content"] and dataset["prompt"][0][0]["content"].endswith(
        "\n\nP?"
    )
    assert stats.as_dict() == {
        "questions": 2,
        "questions_used": 1,
        "trajectories": 2,
        "incorrect_dropped": 2,
        "duplicates_dropped": 1,
    }


def test_prompt_template_needs_the_problem_placeholder(records):
    with pytest.raises(ValueError, match=r"prompt_template must contain the placeholder \{problem\}"):
        build_sft_dataset(records, prompt_template="Solve it.")
