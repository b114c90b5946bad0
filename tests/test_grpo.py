"""GRPO with a support-set gradient: equivalence with TRL at k = G, exact gradients and costs at k < G."""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import subprocess
import sys
from types import SimpleNamespace
from unittest import mock

import pytest
import torch
from trl import GRPOConfig

from raml_recipes.rewards.functions import completion_text
from raml_recipes.training.grpo_config import SupportSetGRPOConfig, check_batch_arithmetic
from raml_recipes.training.grpo_trainer import (
    SupportSetGRPOTrainer,
    reward_params_for_template,
    template_opens_thought,
)
from raml_recipes.training.support_selection import (
    first_subset,
    random_subset,
    restrict_rows,
    support_mask,
    trim_completion_padding,
)

from .conftest import ROOT, launch_two_cpu_ranks

G = 4


def length_reward(prompts, completions, **kwargs):
    """Deterministic and varied within a group, so advantages (and gradients) are not zero."""
    return [float(len(completion_text(c)) % 7) for c in completions]


@pytest.fixture
def prompts():
    from datasets import Dataset

    return Dataset.from_list(
        [{"prompt": [{"role": "user", "content": f"What is {a} + {b}?"}], "answer": str(a + b)}
         for a in range(1, 9) for b in (2, 5)]
    )  # fmt: skip


def make_trainer(model_dir, prompts, tmp_path, trainer_class=SupportSetGRPOTrainer, **overrides):
    settings = dict(
        output_dir=str(tmp_path / "out"), num_generations=G, per_device_train_batch_size=8, max_completion_length=12,
        max_steps=3, logging_steps=1, learning_rate=1e-2, temperature=1.0, use_cpu=True, bf16=False,
        report_to="none", activation_checkpointing=False, seed=0, disable_tqdm=True, save_strategy="no",
    )  # fmt: skip
    settings.update(overrides)
    if trainer_class is SupportSetGRPOTrainer:
        config = SupportSetGRPOConfig(**settings)
    else:
        settings.pop("support_size", None)
        config = GRPOConfig(**settings)
    return trainer_class(
        model=str(model_dir), reward_funcs=[length_reward], args=config, train_dataset=prompts
    )


def generation_batch(trainer):
    return next(iter(trainer.get_train_dataloader()))


# --- selection ----------------------------------------------------------------------------------


def test_support_masks_are_seeded_per_group_and_agree_across_process_slices():
    whole = support_mask(64, 0, 8, 3, random_subset, (0, 5, 0))
    assert torch.equal(whole, support_mask(64, 0, 8, 3, random_subset, (0, 5, 0)))
    assert whole.view(8, 8).sum(dim=1).tolist() == [3] * 8
    # Each process computes its own slice: together they are the whole mask.
    halves = [
        support_mask(32, 0, 8, 3, random_subset, (0, 5, 0)),
        support_mask(32, 32, 8, 3, random_subset, (0, 5, 0)),
    ]
    assert torch.equal(torch.cat(halves), whole)
    # A slice that cuts a group still sees that group's subset.
    assert torch.equal(support_mask(6, 5, 8, 3, random_subset, (0, 5, 0)), whole[5:11])
    # Other seeds, other steps: other subsets; subsets differ between groups.
    assert not torch.equal(whole, support_mask(64, 0, 8, 3, random_subset, (1, 5, 0)))
    assert not torch.equal(whole, support_mask(64, 0, 8, 3, random_subset, (0, 6, 0)))
    assert len({tuple(row.tolist()) for row in whole.view(8, 8)}) > 1
    first = support_mask(16, 0, 8, 3, first_subset, (0, 0, 0))
    assert first.view(2, 8)[:, :3].all() and not first.view(2, 8)[:, 3:].any()


def test_a_strategy_returning_repeated_positions_is_refused():
    with pytest.raises(ValueError, match="not 2 distinct positions"):
        support_mask(8, 0, 4, 2, lambda g, k, gen: torch.tensor([1, 1]), (0,))


def test_restrict_rows_keeps_rows_and_leaves_batch_scalars():
    batch = {"a": torch.arange(6).view(3, 2), "n": torch.tensor(7), "names": ["x", "y", "z"], "none": None}
    out = restrict_rows(batch, torch.tensor([True, False, True]))
    assert out["a"].tolist() == [[0, 1], [4, 5]] and out["names"] == ["x", "z"]
    assert out["n"].item() == 7 and out["none"] is None


def test_trimming_drops_only_columns_that_every_row_pads():
    mask = torch.tensor([[1, 1, 0, 0, 0], [1, 1, 1, 0, 0]])
    batch = {"completion_mask": mask, "completion_ids": torch.arange(10).view(2, 5),
             "importance_sampling_ratio": torch.ones(2, 1), "advantages": torch.ones(2)}  # fmt: skip
    trimmed = trim_completion_padding(batch)
    assert trimmed["completion_ids"].tolist() == [[0, 1, 2], [5, 6, 7]]
    assert trimmed["completion_mask"].shape == (2, 3)
    assert trimmed["importance_sampling_ratio"].shape == (2, 1)  # per sequence: untouched
    full_width = {"completion_mask": torch.ones(2, 5), "completion_ids": torch.zeros(2, 5)}
    assert trim_completion_padding(full_width) is full_width


# --- equivalence with TRL and exact gradients ----------------------------------------------------------


def test_k_equal_to_g_trains_exactly_like_trl(tiny_model_dir, prompts, tmp_path):
    from trl import GRPOTrainer

    ours = make_trainer(tiny_model_dir, prompts, tmp_path / "ours", support_size=G)
    ours.train()
    theirs = make_trainer(tiny_model_dir, prompts, tmp_path / "trl", trainer_class=GRPOTrainer)
    theirs.train()
    for (name, a), (_, b) in zip(ours.model.named_parameters(), theirs.model.named_parameters(), strict=True):
        assert torch.equal(a, b), name
    losses = [[e["loss"] for e in t.state.log_history if "loss" in e] for t in (ours, theirs)]
    assert losses[0] == losses[1]
    assert "support/k" not in ours.state.log_history[0]  # nothing selected away, nothing to report


def _selected_and_full(trainer, batch, k):
    """The same generation batch scored with all G (TRL's path) and with the support subset."""
    trainer.support_size = None
    torch.manual_seed(123)
    full = trainer._generate_and_score_completions(batch)
    trainer.support_size = k
    torch.manual_seed(123)
    selected = trainer._generate_and_score_completions(batch)
    return full, selected, trainer.support_mask(len(batch))


def _grads(model, loss):
    model.zero_grad()
    loss.backward()
    return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


def _hand_built_loss(model, rows, loss_type, max_completion_length, total_selected_tokens):
    """The on-policy GRPO loss of the selected completions, written out (ratio 1, gradient A * grad log p)."""
    input_ids = torch.cat([rows["prompt_ids"], rows["completion_ids"]], dim=1)
    attention_mask = torch.cat([rows["prompt_mask"], rows["completion_mask"]], dim=1)
    steps = rows["completion_ids"].size(1)
    logits = model(input_ids=input_ids, attention_mask=attention_mask).logits[:, -steps - 1 : -1]
    logps = (
        torch.log_softmax(logits.float(), dim=-1).gather(-1, rows["completion_ids"].unsqueeze(-1)).squeeze(-1)
    )
    ratio = torch.exp(logps - logps.detach())
    mask = rows["completion_mask"].float()
    per_token = -ratio * rows["advantages"].unsqueeze(1) * mask
    if loss_type == "dapo":
        return per_token.sum() / total_selected_tokens
    if loss_type == "grpo":
        return (per_token.sum(-1) / mask.sum(-1).clamp(min=1)).mean()
    if loss_type == "bnpo":
        return per_token.sum() / mask.sum()
    if loss_type == "dr_grpo":
        return per_token.sum() / (mask.size(0) * max_completion_length)
    raise AssertionError(loss_type)


@pytest.mark.parametrize("loss_type", ["dapo", "grpo", "dr_grpo", "bnpo"])
def test_k_of_g_gradient_is_exactly_that_of_the_selected_completions(
    tiny_model_dir, prompts, tmp_path, loss_type
):
    k = 2
    trainer = make_trainer(tiny_model_dir, prompts, tmp_path, support_size=k, loss_type=loss_type)
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1  # set by the training loop, which this test bypasses
    batch = generation_batch(trainer)
    full, selected, keep = _selected_and_full(trainer, batch, k)

    # Same completions; k per prompt; advantages from the whole group of G, not re-normalised over k.
    assert keep.view(-1, G).sum(dim=1).tolist() == [k] * (len(batch) // G)
    width = selected["completion_ids"].size(1)  # padding no kept row uses is trimmed
    assert torch.equal(selected["completion_ids"], full["completion_ids"][keep][:, :width])
    assert not full["completion_mask"][keep][:, width:].any()
    assert torch.equal(selected["advantages"], full["advantages"][keep])
    assert full["advantages"].view(-1, G).mean(dim=1).abs().max() < 1e-5
    assert selected["num_items_in_batch"].item() == full["completion_mask"][keep].sum().item()

    ours = _grads(trainer.model, trainer.compute_loss(trainer.model, selected))
    rows = restrict_rows(full, keep)  # untrimmed: the trimmed columns must not change the gradient
    hand = _grads(trainer.model, _hand_built_loss(
        trainer.model, rows, loss_type, trainer.max_completion_length, full["completion_mask"][keep].sum()
    ))  # fmt: skip
    assert ours.keys() == hand.keys()
    for name in ours:
        torch.testing.assert_close(ours[name], hand[name], rtol=1e-5, atol=1e-7, msg=name)

    if loss_type == "dapo":
        # The paper's implementation: all G rows through the loss, the unselected masked out. Same gradient.
        masked = dict(full, completion_mask=full["completion_mask"] * keep.unsqueeze(1))
        masked["num_items_in_batch"] = masked["completion_mask"].sum()
        paper = _grads(trainer.model, trainer.compute_loss(trainer.model, masked))
        for name in ours:
            torch.testing.assert_close(ours[name], paper[name], rtol=1e-5, atol=1e-7, msg=name)


def _count_scoring_and_loss_rows(trainer):
    """Rows and tokens through every model forward outside generation (scoring and loss)."""
    counts = {"rows": 0, "tokens": 0, "generating": False}

    def count(module, args, kwargs):
        if not counts["generating"]:
            ids = kwargs.get("input_ids", args[0] if args else None)
            counts["rows"] += ids.size(0)
            counts["tokens"] += int(kwargs["attention_mask"].sum())

    models = [trainer.model] + ([trainer.ref_model] if trainer.ref_model is not None else [])
    for model in models:
        model.register_forward_pre_hook(count, with_kwargs=True)
    generate = trainer._generate

    def flagged(*args, **kwargs):
        counts["generating"] = True
        try:
            return generate(*args, **kwargs)
        finally:
            counts["generating"] = False

    trainer._generate = flagged
    return counts


def test_unselected_completions_never_enter_a_forward_after_generation(tiny_model_dir, prompts, tmp_path):
    from trl import GRPOTrainer

    # beta > 0 adds a reference forward; num_iterations 2 an old-policy forward: both must shrink too.
    settings = dict(max_steps=2, beta=0.1, num_iterations=2)
    ours = make_trainer(tiny_model_dir, prompts, tmp_path / "ours", support_size=1, **settings)
    theirs = make_trainer(tiny_model_dir, prompts, tmp_path / "trl", trainer_class=GRPOTrainer, **settings)
    counted = [_count_scoring_and_loss_rows(t) for t in (ours, theirs)]
    ours.train()
    theirs.train()
    # TRL: per generation, 8 rows for the reference + 8 for the old policy, then 8 per loss step (2 steps).
    assert counted[1]["rows"] == 8 + 8 + 2 * 8
    assert counted[0]["rows"] == counted[1]["rows"] // G  # k = 1 of G = 4: a quarter, everywhere
    assert counted[0]["tokens"] < counted[1]["tokens"] / 2
    assert any("kl" in entry for entry in ours.state.log_history)


def test_short_run_moves_the_weights_and_logs_the_support_metrics(tiny_model_dir, prompts, tmp_path):
    trainer = make_trainer(tiny_model_dir, prompts, tmp_path, support_size=2)
    before = {name: p.detach().clone() for name, p in trainer.model.named_parameters()}
    trainer.train()
    moved = [name for name, p in trainer.model.named_parameters() if not torch.equal(p, before[name])]
    assert len(moved) == len(before)
    logs = [entry for entry in trainer.state.log_history if "loss" in entry]
    assert len(logs) == 3
    for entry in logs:
        assert entry["support/k"] == 2
        assert 0 < entry["support/selected_token_fraction"] < 1
        assert entry["support/selected_tokens"] > 0
        for key in ("reward", "reward_std", "entropy", "clip_ratio/region_mean"):
            assert math.isfinite(entry[key]), key
    assert trainer.support_stats() == {"num_generations": G, "support_size": 2, "support_strategy": "random"}


# --- the entry point: recipe knobs, accumulation, reuse, PEFT, two processes ----------------------------


def _run_recipe(tmp_path, *overrides):
    from raml_recipes.scripts import grpo

    output_dir = tmp_path / "run"
    grpo.cli(["--config", str(ROOT / "recipes" / "tiny" / "grpo" / "config_demo.yaml"),
              "--output_dir", str(output_dir), "--max_prompts", "8", *overrides])  # fmt: skip
    return output_dir, json.loads((output_dir / "metrics.json").read_text())


@pytest.mark.parametrize(
    ("overrides", "steps"),
    [
        ((), 4),  # 8 prompts x 4 / 8 completions per step
        (("--gradient_accumulation_steps", "2"), 2),  # generation every 2 micro-steps, one per optimizer step
        (("--steps_per_generation", "2"), 4),  # one generation serves 2 optimizer steps
        (("--num_iterations", "2"), 8),  # each generation batch trained on twice
        (("--use_peft", "--lora_r", "4", "--lora_target_modules", "q_proj", "v_proj"), 4),
    ],
    ids=["plain", "grad_accum", "steps_per_generation", "num_iterations", "peft"],
)
def test_tiny_recipe_trains_under_each_batching_mode(tmp_path, overrides, steps):
    output_dir, metrics = _run_recipe(tmp_path, *overrides)
    assert metrics["global_step"] == steps
    assert metrics["support_set"] == {"num_generations": 4, "support_size": 2, "support_strategy": "random"}
    logged = [entry for entry in metrics["log_history"] if "support/k" in entry]
    assert logged and all(entry["support/k"] == 2 for entry in logged)
    weights = "adapter_model.safetensors" if "--use_peft" in overrides else "model.safetensors"
    assert (output_dir / weights).is_file()
    assert (output_dir / "training_curves.png").is_file()


@pytest.mark.slow
@pytest.mark.parametrize(
    "accelerate_config",
    [
        "cpu",
        pytest.param(
            "zero2",
            marks=pytest.mark.skipif(
                importlib.util.find_spec("deepspeed") is None, reason="needs the deepspeed extra"
            ),
        ),
    ],
)
def test_two_process_cpu_launch_of_the_tiny_grpo_recipe(tmp_path, accelerate_config):
    output_dir = tmp_path / "out"
    recipe = ROOT / "recipes" / "tiny" / "grpo" / "config_demo.yaml"
    result = launch_two_cpu_ranks(
        "raml_recipes.scripts.grpo",
        recipe,
        output_dir,
        "--max_prompts",
        "16",
        accelerate_config=accelerate_config,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    metrics = json.loads((output_dir / "metrics.json").read_text())
    assert metrics["world_size"] == 2
    # 16 prompts x 4 completions; 8 per process x 2 processes = 16 per step (4 prompts): 4 steps.
    assert metrics["global_step"] == 4
    logged = [entry for entry in metrics["log_history"] if "support/selected_token_fraction" in entry]
    assert logged and all(0 < entry["support/selected_token_fraction"] < 1 for entry in logged)


# --- start-up checks ------------------------------------------------------------------------------------


def _arith(per_device, group, k=None, steps=1, processes=1):
    config = SimpleNamespace(
        num_generations=group, per_device_train_batch_size=per_device, support_size=k, steps_per_generation=steps,
        generation_batch_size=None, gradient_accumulation_steps=steps,
    )  # fmt: skip
    check_batch_arithmetic(config, processes)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (dict(per_device=6, group=4), r"= 6 completions .* not a whole number of prompt groups .* per_device_train_batch_size 8"),
        (dict(per_device=4, group=8, k=2, processes=2), r"each process must generate whole groups, .* = 4\. Make that a multiple of 8"),
        (dict(per_device=4, group=8, k=1, steps=2), r"keeps per_device_train_batch_size \(4\) x support_size \(1\) / num_generations \(8\) = 0\.5 .* multiple of 8"),
        (dict(per_device=8, group=4, k=5), r"support_size must be between 1 and num_generations \(4\)"),
    ],
    ids=["partial_group", "group_split_across_processes", "fractional_micro_batch", "k_above_g"],
)  # fmt: skip
def test_bad_batch_arithmetic_says_what_to_change(args, message):
    with pytest.raises(ValueError, match=message):
        _arith(**args)


def test_good_batch_arithmetic_passes():
    _arith(per_device=16, group=16, k=1, steps=8, processes=8)  # the paper-scale recipe at k = 1
    _arith(per_device=8, group=4, k=2)
    _arith(per_device=6, group=4, steps=2)  # TRL's rule only: 12 completions = 3 whole groups


def test_the_recipe_fails_at_parse_time_with_the_explanation(tmp_path):
    from raml_recipes.errors import RecipeError
    from raml_recipes.scripts import grpo

    with pytest.raises(RecipeError, match=r"config_demo.yaml: batch arithmetic: .* num_generations \(3\)"):
        grpo.cli(
            [
                "--config",
                str(ROOT / "recipes" / "tiny" / "grpo" / "config_demo.yaml"),
                "--num_generations",
                "3",
            ]
        )


def test_cli_reports_the_batch_error_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "raml_recipes.cli", "grpo", "--config", "recipes/tiny/grpo/config_demo.yaml",
         "--per_device_train_batch_size", "4", "--gradient_accumulation_steps", "2", "--num_generations", "8",
         "--support_size", "1", "--output_dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "raml grpo: error: recipes/tiny/grpo/config_demo.yaml: batch arithmetic" in result.stderr
    assert "support_size (1) / num_generations (8) = 0.5 completions" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_vllm_requested_but_missing_fails_at_parse_time_with_the_install_command(tmp_path):
    import importlib.util

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vLLM is installed here")
    with pytest.raises(ValueError, match=r"vLLM is not installed: pip install 'raml-recipes\[vllm\]'"):
        SupportSetGRPOConfig(output_dir=str(tmp_path), use_vllm=True, use_cpu=True, bf16=False, num_generations=4,
                             per_device_train_batch_size=4)  # fmt: skip


VLLM_SETTINGS = dict(use_vllm=True, bf16=False, num_generations=4, per_device_train_batch_size=4,
                     max_completion_length=64)  # fmt: skip


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"vllm_gpu_memory_utilization": 0.0}, r"vllm_gpu_memory_utilization must lie in \(0, 1\].*got 0.0"),
        ({"vllm_gpu_memory_utilization": 1.5}, r"vllm_gpu_memory_utilization must lie in \(0, 1\].*got 1.5"),
        ({"vllm_max_model_length": 64}, r"vllm_max_model_length \(64\) must hold a prompt plus max_completion_length \(64\)"),
        ({"vllm_enable_sleep_mode": True, "use_cpu": True}, r"vllm_enable_sleep_mode needs a CUDA GPU"),
    ],
)
def test_vllm_settings_that_cannot_work_fail_at_parse_time(tmp_path, monkeypatch, settings, message):
    monkeypatch.setattr("raml_recipes.training.grpo_config.vllm_installed", lambda: True)  # no vLLM needed to parse
    with pytest.raises(ValueError, match=message):
        SupportSetGRPOConfig(output_dir=str(tmp_path), **{"use_cpu": True, **VLLM_SETTINGS, **settings})


def test_vllm_settings_at_their_bounds_parse(tmp_path, monkeypatch):
    monkeypatch.setattr("raml_recipes.training.grpo_config.vllm_installed", lambda: True)
    monkeypatch.setattr("raml_recipes.training.grpo_config.cuda_available", lambda: True)
    # The edges of each check, on the accepted side: all of memory, one prompt token, sleep on a GPU
    # machine (pretended) without use_cpu.
    SupportSetGRPOConfig(output_dir=str(tmp_path), use_cpu=True, vllm_gpu_memory_utilization=1.0,
                         vllm_max_model_length=65, **VLLM_SETTINGS)  # fmt: skip
    SupportSetGRPOConfig(output_dir=str(tmp_path), vllm_enable_sleep_mode=True, **VLLM_SETTINGS)
    # Server mode leaves the colocated engine's settings unread (the paper recipes launched with
    # --vllm_mode server keep their sleep setting): accepted on a GPU machine.
    SupportSetGRPOConfig(output_dir=str(tmp_path), vllm_mode="server", vllm_enable_sleep_mode=True,
                         vllm_gpu_memory_utilization=0.0, **VLLM_SETTINGS)  # fmt: skip
    # Without a GPU the same requests are refused: sleep mode, and server mode (NCCL weight sync).
    monkeypatch.setattr("raml_recipes.training.grpo_config.cuda_available", lambda: False)
    with pytest.raises(ValueError, match="vllm_enable_sleep_mode needs a CUDA GPU"):
        SupportSetGRPOConfig(output_dir=str(tmp_path), vllm_enable_sleep_mode=True, **VLLM_SETTINGS)
    with pytest.raises(ValueError, match="vllm_mode: server syncs the trained weights to the server over NCCL"):
        SupportSetGRPOConfig(output_dir=str(tmp_path), vllm_mode="server", **VLLM_SETTINGS)
    # Colocated without sleep mode is what runs on a CPU (tests/test_vllm.py).
    SupportSetGRPOConfig(output_dir=str(tmp_path), use_cpu=True, **VLLM_SETTINGS)


# --- chat template and rewards ------------------------------------------------------------------------


def test_reward_params_follow_a_template_that_opens_the_thought(tiny_tokenizer):
    import copy

    assert not template_opens_thought(tiny_tokenizer)
    assert reward_params_for_template(tiny_tokenizer, ["raml", "format"], None) == {}
    r1_style = copy.deepcopy(tiny_tokenizer)
    r1_style.chat_template = tiny_tokenizer.chat_template.replace(
        "<|im_start|>assistant\\n' }}", "<|im_start|>assistant\\n<think>\\n' }}"
    )
    assert r1_style.chat_template != tiny_tokenizer.chat_template
    assert template_opens_thought(r1_style)
    params = reward_params_for_template(r1_style, ["raml", "accuracy", "format"], {"format": {"style": "r1"}})
    assert params == {
        "raml": {"think_opened_in_prompt": True},
        "format": {"style": "r1", "think_opened_in_prompt": True},
    }


# --- clipped completions: the warning that a run cannot learn ------------------------------------------


def test_truncation_warning_reads_the_first_logged_steps_once():
    from raml_recipes.training.callbacks import TruncationWarning

    args = SimpleNamespace(max_completion_length=80)

    def fired(shares, **kwargs):
        callback = TruncationWarning(**kwargs)
        with mock.patch("raml_recipes.training.callbacks.logger") as logger:
            for share in shares:
                callback.on_log(args, None, None, logs={"loss": 0.1, TruncationWarning.KEY: share})
                callback.on_log(args, None, None, logs={"train_runtime": 1.0})  # a log without the key
        return [call.args for call in logger.warning.call_args_list]

    assert fired([0.9]) == []  # one logged step is not enough to judge
    (message, share, steps, budget), = fired([0.4, 0.7])  # mean 0.55 of the first two: most are cut
    assert (share, steps, budget) == (pytest.approx(55.0), 2, 80) and "max_completion_length" in message
    assert fired([0.5, 0.5]) == []  # half is not most
    assert fired([0.1, 0.2, 1.0, 1.0]) == []  # judged once, at start-up, not again later
    assert len(fired([1.0, 1.0, 1.0, 1.0], after_logs=3)) == 1


def test_truncation_warning_fires_on_a_run_whose_budget_is_too_short(tmp_path, caplog):
    """The tiny random model never ends a completion within 4 tokens: every one is cut."""
    with caplog.at_level(logging.WARNING, logger="raml_recipes.training.callbacks"):
        _, metrics = _run_recipe(tmp_path, "--max_completion_length", "4", "--logging_steps", "1")
    clipped = [entry["completions/clipped_ratio"] for entry in metrics["log_history"] if "loss" in entry]
    assert clipped[:2] == [1.0, 1.0]
    warnings = [record.getMessage() for record in caplog.records if "max_completion_length (4)" in record.getMessage()]
    assert warnings == [warnings[0]] and warnings[0].startswith("100% of the completions of the first 2 logged steps")


def test_support_timing_times_k_of_g_against_all_g_on_one_batch(tiny_model_dir, prompts, tmp_path):
    from raml_recipes.training.support_timing import time_support_steps

    trainer = make_trainer(tiny_model_dir, prompts, tmp_path, support_size=2)
    before = {name: p.detach().clone() for name, p in trainer.model.named_parameters()}
    timing = time_support_steps(trainer, repeats=2)
    assert (timing["num_generations"], timing["support_sizes"], timing["completions"]) == (G, [2], 8)
    assert 0 < timing["completion_tokens"] <= 8 * 12
    step = timing["step_s"]
    assert set(step) == {f"all_{G}", "k_2", "masked_k_2"} and all(value > 0 for value in step.values())
    assert timing["ratio"][2] == pytest.approx(step["k_2"] / step[f"all_{G}"], rel=0.01)
    assert timing["masked_ratio"][2] == pytest.approx(step["masked_k_2"] / step[f"all_{G}"], rel=0.01)
    assert any(not torch.equal(p, before[name]) for name, p in trainer.model.named_parameters())  # real steps
    with pytest.raises(ValueError, match="support sizes must lie in 1..3"):
        time_support_steps(trainer, ks=[G])


@pytest.mark.slow
def test_grpo_scores_held_out_prompts_at_eval_steps_with_accuracy_logged_but_not_trained(tmp_path):
    """eval_dataset_name + eval_strategy: reward and accuracy of the held-out prompts at every eval step,
    from all G completions; accuracy joins the logs with weight 0, so the trained reward is unchanged."""
    from raml_recipes.data.grpo_prompts import arithmetic_problems
    from raml_recipes.data.io import write_jsonl

    held_out = write_jsonl(tmp_path / "held_out.jsonl", arithmetic_problems(4, seed=99))
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "raml_recipes.cli", "grpo", "--config", "recipes/tiny/grpo/config_demo.yaml",
         "--output_dir", str(out), "--max_prompts", "4", "--logging_steps", "1", "--eval_strategy", "steps",
         "--eval_steps", "1", "--eval_dataset_name", str(held_out), "--per_device_eval_batch_size", "8"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    history = json.loads((out / "metrics.json").read_text())["log_history"]
    evals = [entry for entry in history if "eval_reward" in entry]
    assert [entry["step"] for entry in evals] == [1, 2]  # 4 prompts x 4 / 8 per step: 2 steps, one eval each
    for entry in evals:
        assert 0.0 <= entry["eval_rewards/accuracy/mean"] <= 1.0
        assert "eval_support/k" not in entry  # no support subset at evaluation
    train = [entry for entry in history if "rewards/raml/mean" in entry and "eval_reward" not in entry]
    assert len(train) == 2
    for entry in train:  # weight 0: the trained reward is the recipe's two rewards, accuracy left out
        expected = entry["rewards/raml/mean"] + entry["rewards/soft_overlong/mean"]
        assert entry["reward"] == pytest.approx(expected, abs=1e-4) and "rewards/accuracy/mean" in entry
    assert (out / "training_curves.png").is_file()


def test_grpo_evaluation_without_held_out_prompts_is_one_line(capsys):
    from raml_recipes.cli import main as raml

    assert raml(["grpo", "--config", "recipes/tiny/grpo/config_demo.yaml", "--eval_strategy", "steps"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == ("raml grpo: error: eval_strategy is set but no held-out prompts are named: set "
                   "eval_dataset_name to a prompt file (data_prep/build_grpo_prompts.py) disjoint from dataset_name")
