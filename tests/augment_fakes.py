"""Deterministic stand-ins for generator backends and a toy skewed dataset."""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np

from emoclassic.datasets import EmotionDataset, EmotionSplit

WORDS = (
    "river window quiet orange pencil garden thunder silver coffee morning lantern violet "
    "marble harbor candle meadow pepper rocket canvas tunnel winter spider velvet island "
    "basket mirror forest engine shadow blanket ladder cotton planet button kettle bridge "
    "pillow feather saddle walnut"
).split()


def source_of(prompt: str) -> str:
    """The source text inside a prompt built from the default template (its last line)."""
    return prompt.rsplit("\n", 1)[1]


class FakeBackend:
    """Answers with pseudo-random word salad that depends only on (prompt, seed).

    Every ``junk_every``-th answer (counting all answers) is assistant talk, which
    the forbidden-phrase filter rejects. ``interrupt_after``: raise
    KeyboardInterrupt instead of answering once that many texts were produced.
    """

    model_name = "fake"

    def __init__(self, batch_size=4, junk_every=0, interrupt_after=None):
        self.batch_size = batch_size
        self.junk_every = junk_every
        self.interrupt_after = interrupt_after
        self.asked: Counter = Counter()
        self.produced = 0
        self.calls: list[tuple[int, int]] = []

    def generate(self, prompts, seeds):
        if self.interrupt_after is not None and self.produced >= self.interrupt_after:
            raise KeyboardInterrupt
        self.calls.append(len(prompts))
        out = []
        for prompt, seed in zip(prompts, seeds, strict=True):
            self.produced += 1
            self.asked[prompt] += 1
            if self.junk_every and self.produced % self.junk_every == 0:
                out.append("Sure! Here is the rephrased text you asked for")
                continue
            digest = hashlib.sha256(f"{prompt}|{seed}".encode()).digest()
            words = [WORDS[b % len(WORDS)] for b in digest[:9]]
            out.append(" ".join(words).capitalize() + ".")
        return out


def skewed_dataset(n_common=97, n_rare=3, n_other=0) -> EmotionDataset:
    """``rare`` on ``n_rare`` rows (one of them also ``common``), ``common`` on the rest."""
    texts, rows = [], []
    for i in range(n_common):
        texts.append(f"an ordinary comment number {i}")
        rows.append([1, 0, 0])
    for i in range(n_rare):
        texts.append(f"a rare and sad story {i} about my lost cat")
        rows.append([1 if i == 0 else 0, 1, 0])
    for i in range(n_other):
        texts.append(f"another rarely seen feeling {i}")
        rows.append([0, 0, 1])
    train = EmotionSplit(texts, np.array(rows, dtype=np.uint8), [f"r{i}" for i in range(len(rows))])
    small = EmotionSplit(
        ["held out one", "held out two"], np.array([[1, 0, 0], [0, 1, 0]], dtype=np.uint8)
    )
    return EmotionDataset(
        ("common", "rare", "other"),
        {"train": train, "validation": small, "test": small},
        source="skewed toy",
    )
