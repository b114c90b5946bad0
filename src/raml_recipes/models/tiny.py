"""Tiny random causal LMs with a tokenizer trained on the fly, for tests and smoke-test recipes.

The tokenizer is a byte-level BPE trained with Qwen2's pre-tokenizer rules (split regex, NFC, byte
level). That matters: for a `qwen2` config, `AutoTokenizer` in transformers 5 rebuilds any saved
tokenizer as `Qwen2Tokenizer` with Qwen's splitter, so a tokenizer trained with another splitter
would reload with different ids. With the same rules, Qwen2 and Llama configs both round-trip.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

IM_START, IM_END, ENDOFTEXT = "<|im_start|>", "<|im_end|>", "<|endoftext|>"

# Qwen2's pre-tokenizer regex (transformers/models/qwen2/tokenization_qwen2.py).
QWEN2_SPLIT_REGEX = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

# ChatML with `{% generation %}` markers around the assistant content and its end-of-turn token, so
# `assistant_only_loss` trains the model to stop.
CHATML_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' }}"
    "{%- if message['role'] == 'assistant' %}"
    "{% generation %}{{- message['content'] + '<|im_end|>' }}{% endgeneration %}{{- '\\n' }}"
    "{%- else %}"
    "{{- message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

# Enough text for a BPE that segments math and reasoning markup into sensible pieces.
_BASE_CORPUS = [
    "<think>\nLet me work through this step by step.\nWait, let me check that again.\n</think>\n",
    "The answer is \\boxed{42}. Therefore, after all this, I believe the answer is \\boxed{7}.",
    "**Final Answer**\n\\boxed{\\frac{1}{2}} $x^2 + 2x + 1 = (x+1)^2$ \\sqrt{3} \\pi \\cdot",
    "Please solve the following mathematical problem step by step and put your final answer in \\boxed{}.",
    "Alternatively, hold on, however we can retry and recheck: 0 1 2 3 4 5 6 7 8 9 + - * / = ( ) [ ] { }",
]

TINY_ARCHITECTURES = ("llama", "qwen2")


def train_tiny_tokenizer(corpus: Iterable[str] = (), vocab_size: int = 1024):
    """Train a byte-level BPE on `corpus` and wrap it as a fast tokenizer with a ChatML template.

    The end-of-turn token `<|im_end|>` is the EOS; padding uses a distinct `<|endoftext|>`.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_SPLIT_REGEX), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[ENDOFTEXT, IM_START, IM_END],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator([*_BASE_CORPUS, *corpus], trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=IM_END, pad_token=ENDOFTEXT)
    fast.chat_template = CHATML_TEMPLATE
    return fast


def tiny_config(architecture: str, vocab_size: int, hidden_size: int = 64, num_layers: int = 2, **overrides):
    """A small Llama or Qwen2 config (4 heads, 2 KV heads) sized to the tokenizer."""
    from transformers import LlamaConfig, Qwen2Config

    classes = {"llama": LlamaConfig, "qwen2": Qwen2Config}
    if architecture not in classes:
        raise ValueError(f"architecture must be one of {sorted(classes)}, got {architecture!r}")
    kwargs = dict(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
    )
    kwargs.update(overrides)
    return classes[architecture](**kwargs)


def build_tiny_model(
    output_dir: str | Path,
    architecture: str = "llama",
    corpus: Iterable[str] = (),
    vocab_size: int = 1024,
    hidden_size: int = 64,
    num_layers: int = 2,
    seed: int = 0,
    **config_overrides,
) -> Path:
    """Write a random-init model, its tokenizer and generation config to `output_dir`."""
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig

    output_dir = Path(output_dir)
    tokenizer = train_tiny_tokenizer(corpus, vocab_size=vocab_size)
    config = tiny_config(architecture, len(tokenizer), hidden_size, num_layers, **config_overrides)
    config.eos_token_id = tokenizer.eos_token_id
    config.pad_token_id = tokenizer.pad_token_id
    config.bos_token_id = None
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None
    )
    model.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    return output_dir
