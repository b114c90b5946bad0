"""The paper's confidence probe: how sure is the model of the gold answer after each prefix of a thought?

For a prompt q, a thought t (tokens t_1..t_T) and the gold answer a, the probe at prefix i is the
mean negative log-likelihood of a's tokens in `q + t[:i] + "\\n\\n**Final Answer**\\n\\boxed{" + a`
(the paper's Algorithm 3). Along correct trajectories it falls; along wrong ones it does not.

Computed without one forward pass per prefix: q + t is run once and its key/value cache kept; then
the suffix (marker + answer) for many prefixes at once is run as one sequence over that cache, each
copy of the suffix seeing only the cache positions of its own prefix and itself (a block mask) and
placed at its own positions. That is exact, not an approximation: `answer_nll_naive` recomputes one
prefix directly, and the tests compare them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..prompts import FINAL_ANSWER_MARKER


@dataclass
class ProbeInput:
    """Token ids of one probe: the prompt, the thought, the marker, and the answer."""

    prompt: list[int]
    thought: list[int]
    marker: list[int]
    answer: list[int]


def encode_probe(
    tokenizer, prompt_text: str, thought: str, answer: str, marker: str = FINAL_ANSWER_MARKER
) -> ProbeInput:
    def ids(text: str) -> list[int]:
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    return ProbeInput(ids(prompt_text), ids(thought), ids(marker), ids(answer))


def _answer_nll(log_probs, answer: list[int], first: int):
    """Mean NLL of `answer`, whose tokens are predicted at rows first.. of `log_probs` [rows, vocab]."""
    import torch

    rows = torch.arange(first, first + len(answer))
    return -log_probs[rows, torch.tensor(answer)].mean()


def answer_nll_naive(model, probe: ProbeInput, prefix: int) -> float:
    """The probe at one prefix by a full forward pass (the reference, and the slow baseline)."""
    import torch

    ids = probe.prompt + probe.thought[:prefix] + probe.marker + probe.answer
    with torch.no_grad():
        # Logits only where the answer tokens are predicted: the LM head is a large part of the cost.
        logits = model(torch.tensor([ids], device=model.device), logits_to_keep=len(probe.answer) + 1).logits
    return float(_answer_nll(logits[0].float().log_softmax(-1), probe.answer, 0))


def answer_nll_curve(
    model, probe: ProbeInput, prefixes: list[int] | None = None, chunk: int = 64
) -> list[float]:
    """The probe at every prefix length in `prefixes` (default 0..T, one per token), in that order."""
    import torch
    from transformers import DynamicCache

    prefixes = list(range(len(probe.thought) + 1)) if prefixes is None else list(prefixes)
    context = probe.prompt + probe.thought
    length, start = len(context), len(probe.prompt)
    suffix = probe.marker + probe.answer
    width = len(suffix)
    device = model.device
    block = torch.tril(torch.ones(width, width, dtype=torch.bool, device=device))
    with torch.no_grad():
        cache = DynamicCache()
        model(torch.tensor([context], device=device), past_key_values=cache, use_cache=True)
        results: list[float] = []
        for offset in range(0, len(prefixes), chunk):
            group = prefixes[offset : offset + chunk]
            n = len(group)
            # One row holding n copies of the suffix; copy j sees the prompt, its prefix and itself.
            mask = torch.zeros(1, 1, n * width, length + n * width, dtype=torch.bool, device=device)
            cut = torch.tensor([start + p for p in group], device=device).repeat_interleave(width)
            mask[0, 0, :, :length] = torch.arange(length, device=device)[None, :] < cut[:, None]
            for j in range(n):
                rows = slice(j * width, (j + 1) * width)
                mask[0, 0, rows, length + j * width : length + (j + 1) * width] = block
            positions = (cut + torch.arange(width, device=device).repeat(n))[None, :]
            answers = len(probe.answer)
            # Logits only at the rows that predict answer tokens (the LM head would dominate otherwise).
            keep = torch.tensor(
                [j * width + len(probe.marker) - 1 + a for j in range(n) for a in range(answers)],
                device=device,
            )
            logits = model(
                torch.tensor([suffix * n], device=device),
                past_key_values=cache,
                position_ids=positions,
                attention_mask=mask,
                use_cache=True,
                logits_to_keep=keep,
            ).logits[0]
            cache.crop(-(n * width))  # back to the shared context for the next group
            log_probs = logits.float().log_softmax(-1)
            for j in range(n):
                results.append(float(_answer_nll(log_probs, probe.answer, j * answers)))
    return results


def ema(values: list[float], alpha: float) -> list[float]:
    """Exponential moving average (the paper's notebook smooths with alpha 0.01)."""
    smoothed, current = [], None
    for value in values:
        current = value if current is None else alpha * value + (1 - alpha) * current
        smoothed.append(current)
    return smoothed


def slope(values: list[float]) -> float:
    """Least-squares slope of the values against relative position 0..1 (NLL change per whole thought)."""
    n = len(values)
    if n < 2:
        return 0.0
    xs = [i / (n - 1) for i in range(n)]
    mean_x, mean_y = sum(xs) / n, sum(values) / n
    var = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, values, strict=True)) / var


def binned(values: list[float], bins: int) -> list[float]:
    """Means of `values` over `bins` equal slices of relative position (for averaging curves)."""
    n = len(values)
    out = []
    for b in range(bins):
        lo, hi = b * n // bins, max((b + 1) * n // bins, b * n // bins + 1)
        part = values[lo : min(hi, n)]
        out.append(sum(part) / len(part) if part else float("nan"))
    return out
