"""Build a tiny random Llama chat model in a folder (a few thousand parameters).

The text it writes is gibberish, but loading it exercises the real transformers
path: AutoTokenizer/AutoModelForCausalLM, the chat template, left-padded
batches and sampling. Used by the tests and by ``pipelines/bench_augment.py``.
"""

from __future__ import annotations

from pathlib import Path

SENTENCES = [
    "I feel so sad and lonely since my friend moved away",
    "we were so proud of our team when they finally won",
    "what a relief it was to hear that everyone is safe",
    "I am nervous about the exam tomorrow morning",
    "that was really embarrassing in front of everyone",
    "I regret saying those words to my brother",
    "the storm last night was truly frightening",
    "I really want a new bike for the summer",
    "grief comes in waves when you lose someone you love",
]
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|> {{ message['content'] }} <|end|> "
    "{% endfor %}{% if add_generation_prompt %}<|assistant|> {% endif %}"
)


def build_tiny_llama(folder: Path, *, hidden_size: int = 16, seed: int = 0) -> Path:
    """Train a word-level tokenizer on :data:`SENTENCES`, build a random Llama, save both."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    special = ["<unk>", "<pad>", "<s>", "</s>", "<|user|>", "<|assistant|>", "<|end|>"]
    tokenizer = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(SENTENCES, trainers.WordLevelTrainer(special_tokens=special))
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
    )
    fast.chat_template = CHAT_TEMPLATE
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=fast.vocab_size,
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=1024,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    folder = Path(folder)
    model.save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder
