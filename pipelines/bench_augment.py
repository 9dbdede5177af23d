"""Benchmark of `emoclassic augment`: llama.cpp vs transformers on a real model, filter throughput.

With ``--model smollm2-135m`` (needs ``emoclassic[augment,offline-llm]``) both CPU
routes generate for the same prompts (rare-emotion GoEmotions comments in the
default template) with the same settings (the CLI defaults: temperature 0.7,
top-p 0.95, 64 new tokens) in one process:

- ``hf``: transformers reads the GGUF file (``gguf_file=``, dequantised to
  float32) and samples in batches of ``--batch-size`` with left padding;
- ``llamacpp``: the in-process llama.cpp server (xllamacpp) decodes
  ``--parallel`` sequences at once, each with its own seed.

The table gives load and generation time and the ratio to ``hf``. The CLI's
default CPU route is llama.cpp, so the script exits 1 (REGRESSION) if it is
not faster. Without ``--model``, generation runs on a tiny *random* Llama
(tests/tiny_llama.py) and compares batched with one-at-a-time transformers
generation: the code path, not a real model's speed.

The filters then run over 10,000 candidate texts made from GoEmotions training
comments (half of them near-copies of each other), without and with the
sentence-encoder meaning check.

    python pipelines/bench_augment.py --model smollm2-135m [--prompts 96]
    python pipelines/bench_augment.py            # tiny random model
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


def _prompts(n_prompts: int) -> list[str]:
    from emoclassic.augment.selection import select_minority_labels

    data = load_goemotions()
    minority = select_minority_labels(data.train.labels, data.label_names, 0.015)
    template = PromptTemplate.default()
    prompts = []
    for k in range(n_prompts):
        m = minority[k % len(minority)]
        rows = [i for i in range(len(data.train)) if data.train.labels[i, m.index]]
        prompts.append(template.render(data.train.texts[rows[k // len(minority)]], m.name))
    return prompts


def bench_real(model: str, n_prompts: int, batch_size: int, parallel: int, tokens: int):
    from emoclassic.augment.factory import make_backend

    prompts = _prompts(n_prompts)
    seeds = list(range(len(prompts)))
    results = []
    for name, options in (
        ("hf", {"batch_size": batch_size}),
        ("llamacpp", {"batch_size": batch_size, "parallel": parallel}),
    ):
        start = time.perf_counter()
        gen = make_backend(name, model=model, temperature=0.7, max_new_tokens=tokens, **options)
        loaded = time.perf_counter() - start
        gen.generate(prompts[:2], seeds[:2])  # warm-up
        start = time.perf_counter()
        out = gen.generate(prompts, seeds)
        seconds = time.perf_counter() - start
        assert len(out) == len(prompts) and all(text is not None for text in out)
        results.append((name, loaded, len(prompts), seconds))
        del gen
    return results


def bench_generation(n_prompts: int, batch_size: int, max_new_tokens: int) -> list[tuple]:
    prompts = _prompts(n_prompts)
    with tempfile.TemporaryDirectory() as folder:
        model = build_tiny_llama(Path(folder) / "llama", hidden_size=64)
        results = []
        for label, size in (("one at a time", 1), (f"batched ({batch_size})", batch_size)):
            gen = HFGenerator(str(model), batch_size=size, max_new_tokens=max_new_tokens)
            gen.generate(prompts[:2], [0, 1])  # warm-up
            start = time.perf_counter()
            out = gen.generate(prompts, list(range(len(prompts))))
            seconds = time.perf_counter() - start
            assert len(out) == len(prompts)
            results.append((label, len(prompts), seconds, len(prompts) / seconds))
    return results


def bench_filters(n_texts: int, encoder=None) -> tuple[int, float, float, dict]:
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
    # min_overlap=0: random comments share no words with random sources, and every text
    # should reach the last checks so that they are timed too.
    quality = QualityFilter(min_overlap=0, encoder=encoder, min_meaning=-1.0)
    start = time.perf_counter()
    decisions = quality.apply(candidates, sources, class_texts)
    seconds = time.perf_counter() - start
    reasons: dict = {}
    for _, reason in decisions:
        reasons[reason or "kept"] = reasons.get(reason or "kept", 0) + 1
    return len(candidates), seconds, len(candidates) / seconds, reasons


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="a GGUF model, e.g. smollm2-135m")
    parser.add_argument("--prompts", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--filter-texts", type=int, default=10_000)
    args = parser.parse_args()

    print(f"command: python pipelines/bench_augment.py {' '.join(sys.argv[1:])}".rstrip())
    status = 0
    if args.model:
        rows = bench_real(
            args.model, args.prompts, args.batch_size, args.parallel, args.max_new_tokens
        )
        print()
        print(f"generation with {args.model} on the CPU, {args.max_new_tokens} new tokens max")
        print(f"{'route':<10} {'load s':>7} {'prompts':>8} {'gen s':>7} {'s/text':>7} {'speed':>7}")
        base = rows[0][3]
        for name, loaded, n, seconds in rows:
            print(
                f"{name:<10} {loaded:>7.1f} {n:>8} {seconds:>7.1f} {seconds / n:>7.3f} "
                f"{base / seconds:>6.2f}x"
            )
        if rows[1][3] >= rows[0][3]:
            print("REGRESSION: llama.cpp, the default CPU route, is not faster than transformers")
            status = 1
        reference = rows[1][2] / rows[1][3]
    else:
        generation = bench_generation(args.prompts, 16, 32)
        print()
        print("generation on a tiny random Llama (CPU), max_new_tokens 32")
        print(f"{'mode':<16} {'prompts':>8} {'seconds':>8} {'prompts/s':>10} {'ratio':>6}")
        base = generation[0][3]
        for label, n, seconds, rate in generation:
            print(f"{label:<16} {n:>8} {seconds:>8.2f} {rate:>10.1f} {rate / base:>5.1f}x")
        reference = generation[1][3]
    encoder = None
    try:
        from emoclassic.augment.meaning import SentenceEncoder

        encoder = SentenceEncoder()
    except Exception as exc:  # the meaning check is optional here
        print(f"(no sentence encoder: {exc})")
    print()
    print(f"quality filters on {args.filter_texts:,} candidate texts (grief class)")
    print(f"{'filters':<22} {'seconds':>8} {'texts/s':>10} {'vs generation':>14}")
    for label, enc in (("text checks", None), ("+ meaning (MiniLM)", encoder)):
        if label.startswith("+") and enc is None:
            continue
        _, seconds, rate, _ = bench_filters(args.filter_texts, enc)
        print(f"{label:<22} {seconds:>8.2f} {rate:>10,.0f} {rate / reference:>13,.0f}x")
    return status


if __name__ == "__main__":
    sys.exit(main())
