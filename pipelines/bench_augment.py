"""Benchmark of `emoclassic augment`: batched vs one-at-a-time generation, filter throughput.

Generation runs on a tiny *random* Llama built on the fly (tests/tiny_llama.py:
one layer, hidden size 64, a word-level tokenizer): it measures the transformers
code path (chat template, left padding, sampling), not a real model's speed.
Both modes run on the same model, prompts and settings in the same process, so
the ratio is what to read. The filters run over 10,000 candidate texts made
from GoEmotions training comments (half of them near-copies of each other).

    python pipelines/bench_augment.py [--prompts 64] [--batch-size 16]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from emoclassic.augment.filters import QualityFilter
from emoclassic.augment.hf_backend import HFGenerator
from emoclassic.augment.prompts import PromptTemplate
from emoclassic.datasets import load_goemotions
from tiny_llama import build_tiny_llama


def bench_generation(n_prompts: int, batch_size: int, max_new_tokens: int) -> list[tuple]:
    data = load_goemotions()
    grief = data.label_names.index("grief")
    rows = [i for i in range(len(data.train)) if data.train.labels[i, grief]][:n_prompts]
    template = PromptTemplate.default()
    prompts = [template.render(data.train.texts[i], "grief") for i in rows]
    with tempfile.TemporaryDirectory() as folder:
        model = build_tiny_llama(Path(folder) / "llama", hidden_size=64)
        results = []
        for label, size in (("one at a time", 1), (f"batched ({batch_size})", batch_size)):
            gen = HFGenerator(str(model), batch_size=size, max_new_tokens=max_new_tokens)
            gen.generate(prompts[:2], 1, seed=0)  # warm-up
            start = time.perf_counter()
            out = gen.generate(prompts, 1, seed=0)
            seconds = time.perf_counter() - start
            assert len(out) == len(prompts)
            results.append((label, len(prompts), seconds, len(prompts) / seconds))
    return results


def bench_filters(n_texts: int) -> tuple[int, float, float, dict]:
    data = load_goemotions()
    grief = data.label_names.index("grief")
    class_texts = [
        t for t, y in zip(data.train.texts, data.train.labels[:, grief], strict=True) if y
    ]
    rng = random.Random(0)
    pool = rng.sample(data.train.texts, n_texts // 2)
    # Half fresh comments, half the same comments with a small edit (near-duplicates).
    candidates = pool + [f"{text} honestly" for text in pool]
    rng.shuffle(candidates)
    sources = [rng.choice(class_texts) for _ in candidates]
    quality = QualityFilter()
    start = time.perf_counter()
    decisions = quality.apply(candidates, sources, class_texts)
    seconds = time.perf_counter() - start
    reasons: dict = {}
    for _, reason in decisions:
        reasons[reason or "kept"] = reasons.get(reason or "kept", 0) + 1
    return len(candidates), seconds, len(candidates) / seconds, reasons


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--filter-texts", type=int, default=10_000)
    args = parser.parse_args()

    print(f"command: python pipelines/bench_augment.py {' '.join(sys.argv[1:])}".rstrip())
    generation = bench_generation(args.prompts, args.batch_size, args.max_new_tokens)
    print()
    print("generation on a tiny random Llama (CPU), max_new_tokens", args.max_new_tokens)
    print(f"{'mode':<16} {'prompts':>8} {'seconds':>8} {'prompts/s':>10} {'ratio':>6}")
    base = generation[0][3]
    for label, n, seconds, rate in generation:
        print(f"{label:<16} {n:>8} {seconds:>8.2f} {rate:>10.1f} {rate / base:>5.1f}x")
    n, seconds, rate, reasons = bench_filters(args.filter_texts)
    print()
    print(
        f"quality filters on {n:,} candidate texts (grief class, "
        f"{sum(1 for _ in reasons)} outcomes)"
    )
    print(f"{'texts':>8} {'seconds':>8} {'texts/s':>10} {'vs batched generation':>22}")
    print(f"{n:>8,} {seconds:>8.2f} {rate:>10,.0f} {rate / generation[1][3]:>21,.0f}x")
    print("outcomes:", ", ".join(f"{k} {v:,}" for k, v in sorted(reasons.items())))


if __name__ == "__main__":
    main()
