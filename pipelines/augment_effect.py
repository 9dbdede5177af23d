"""Does LLM augmentation of rare emotions move macro-F1? Original vs augmented GoEmotions.

    python pipelines/augment_effect.py [--seeds 1 2 3] [--max-iterations 3]
        [--weights 1 0.5] [--recipes lr best]

1. **Generate** (resumable): for each seed, ``augment_split`` on the bundled
   GoEmotions training split with the offline model (SmolLM2-135M-Instruct
   through llama.cpp, ``emoclassic[augment,offline-llm]``), threshold 0.015,
   the default prompt and filters (meaning check included), ``--max-iterations``
   rounds of the loop. Every generation is cached in
   ``pipelines/results/augment_effect/seed{S}.cache.jsonl`` (committed): with
   the cache present, no model runs and the kept rows are the same.
2. **Fit** (resumable): each recipe on the original data and on every seed's
   augmented data, for each synthetic-row weight, with the recipe's defaults
   (``lr``: grid search and validation thresholds; ``best``: 5-fold
   out-of-fold thresholds, grouped by source row). Predictions go to
   ``data/augment_effect/`` (one ``.npz`` per fit), so a rerun only fits what
   is missing.
3. **Report**: macro-F1 on validation and test, the difference from the
   original data with a paired bootstrap 95% interval (2,000 resamples of the
   rows; per seed, and for the mean over seeds), and per-label test F1 of the
   rare labels. Written to ``pipelines/results/augment_effect.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from emoclassic.bootstrap import macro_f1, paired_bootstrap
from emoclassic.datasets import EmotionDataset, load_goemotions

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "pipelines" / "results" / "augment_effect"
PREDICTIONS = ROOT / "data" / "augment_effect"
THRESHOLD = 0.015
MODEL = "smollm2-135m"


def generate(seed: int, max_iterations: int, data: EmotionDataset):
    """Run (or replay from the cache) the augmentation loop for one seed."""
    from emoclassic.augment.cache import GenerationCache
    from emoclassic.augment.factory import make_backend
    from emoclassic.augment.filters import QualityFilter
    from emoclassic.augment.loop import AugmentSettings, augment_split
    from emoclassic.augment.meaning import SentenceEncoder

    class LazyBackend:
        """Loads llama.cpp only if the cache lacks a generation."""

        model_name = MODEL
        batch_size = 32
        _backend = None

        def generate(self, prompts, seeds):
            if self._backend is None:
                self._backend = make_backend("llamacpp", model=MODEL, batch_size=32)
            return self._backend.generate(prompts, seeds)

    cache = GenerationCache(RESULTS / f"seed{seed}.cache.jsonl")
    settings = AugmentSettings(threshold=THRESHOLD, max_iterations=max_iterations, seed=seed)
    started = time.perf_counter()
    result = augment_split(
        data.train,
        data.label_names,
        LazyBackend(),
        quality=QualityFilter(encoder=SentenceEncoder()),
        settings=settings,
        cache=cache,
        progress=sys.stderr.isatty(),
    )
    print(
        f"seed {seed}: {result.requested:,} generations ({result.from_backend:,} new, "
        f"{result.from_cache:,} cached), kept {len(result.kept):,}; {result.stop_reason} "
        f"({time.perf_counter() - started:.0f} s)",
        flush=True,
    )
    return result


def fit(name: str, recipe: str, data: EmotionDataset, weight: float) -> dict:
    """Fit once (or read the saved predictions) and return the predictions."""
    from emoclassic.training import FitSettings, fit_model

    path = PREDICTIONS / f"{name}.npz"
    if path.exists():
        saved = np.load(path)
        return {"validation": saved["validation"], "test": saved["test"], "seconds": None}
    started = time.perf_counter()
    model = fit_model(recipe, data, FitSettings(n_jobs=-1, progress=False, synthetic_weight=weight))
    seconds = time.perf_counter() - started
    predictions = {
        split: model.predict(data.split(split).texts).astype(np.uint8)
        for split in ("validation", "test")
    }
    PREDICTIONS.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path.with_suffix(".tmp.npz"), **predictions)
    path.with_suffix(".tmp.npz").replace(path)
    print(
        f"fitted {name} in {seconds:.0f} s: test macro-F1 "
        f"{macro_f1(data.test.labels, predictions['test']):.4f}",
        flush=True,
    )
    return {**predictions, "seconds": seconds}


def report(
    data: EmotionDataset, fits: dict, args, kept: dict[int, int], minority: list[str]
) -> str:
    lines = [
        "# Effect of LLM augmentation on macro-F1 (GoEmotions)",
        "",
        f"Command: `python pipelines/augment_effect.py --seeds {' '.join(map(str, args.seeds))} "
        f"--max-iterations {args.max_iterations} --weights "
        f"{' '.join(f'{w:g}' for w in args.weights)} --recipes {' '.join(args.recipes)}`",
        "",
        f"Generator: {MODEL} (SmolLM2-135M-Instruct, Q4_1, llama.cpp on CPU), threshold "
        f"{THRESHOLD}, {args.max_iterations} iteration(s) of the loop, default prompt and "
        "filters. Kept synthetic rows per seed: "
        + ", ".join(f"seed {s}: {n:,}" for s, n in kept.items())
        + ". Differences are augmented minus original, with a paired bootstrap 95% interval "
        f"over {args.bootstrap:,} resamples of the rows; 'mean' averages the seeds' "
        "macro-F1 inside each resample.",
        "",
        "| recipe | weight | seed | val macro-F1 | val diff [95% CI] | test macro-F1 "
        "| test diff [95% CI] |",
        "|---|---:|---:|---:|---|---:|---|",
    ]
    for recipe in args.recipes:
        base = fits[(recipe, "original")]
        validation = macro_f1(data.validation.labels, base["validation"])
        test = macro_f1(data.test.labels, base["test"])
        lines.append(f"| {recipe} | original | - | {validation:.4f} | | {test:.4f} | |")
        for weight in args.weights:
            runs = [fits[(recipe, seed, weight)] for seed in args.seeds]
            cells = []
            for label, preds in [
                *((str(seed), [run]) for seed, run in zip(args.seeds, runs, strict=True)),
                ("mean", runs),
            ]:
                row = [recipe, f"{weight:g}", label]
                for split in ("validation", "test"):
                    truth = data.split(split).labels
                    score = np.mean([macro_f1(truth, p[split]) for p in preds])
                    ci = paired_bootstrap(
                        truth,
                        base[split],
                        [p[split] for p in preds],
                        n_resamples=args.bootstrap,
                        seed=0,
                    )
                    row += [f"{score:.4f}", str(ci)]
                cells.append("| " + " | ".join(row) + " |")
            lines += cells
    lines += [
        "",
        "Per-label test F1 of the rare labels (original, then the mean over seeds at each "
        "weight), with test support:",
        "",
    ]
    header = "| label | support |" + "".join(
        f" {recipe} orig | " + " | ".join(f"{recipe} w={w:g}" for w in args.weights) + " |"
        for recipe in args.recipes
    )
    lines += [header, "|---|---:|" + "---:|" * (len(args.recipes) * (1 + len(args.weights)))]
    names = list(data.label_names)
    for label in minority:
        j = names.index(label)
        truth = data.test.labels
        cells = [label, str(int(truth[:, j].sum()))]
        for recipe in args.recipes:
            cells.append(f"{_f1(truth, fits[(recipe, 'original')]['test'], j):.3f}")
            for weight in args.weights:
                values = [_f1(truth, fits[(recipe, s, weight)]["test"], j) for s in args.seeds]
                cells.append(f"{np.mean(values):.3f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _f1(truth: np.ndarray, pred: np.ndarray, j: int) -> float:
    """F1 of label ``j`` alone (the macro-F1 of one column)."""
    return macro_f1(truth[:, [j]], pred[:, [j]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--max-iterations", type=int, default=3)
    parser.add_argument("--weights", type=float, nargs="+", default=[1.0, 0.5])
    parser.add_argument("--recipes", nargs="+", default=["lr", "best"])
    parser.add_argument("--bootstrap", type=int, default=2000)
    parser.add_argument("--generate-only", action="store_true")
    args = parser.parse_args()

    data = load_goemotions()
    results = {seed: generate(seed, args.max_iterations, data) for seed in args.seeds}
    if args.generate_only:
        return
    minority = [m.name for m in next(iter(results.values())).minority]
    fits = {}
    for recipe in args.recipes:
        fits[(recipe, "original")] = fit(f"{recipe}-original", recipe, data, 1.0)
        for seed, result in results.items():
            augmented = EmotionDataset(
                data.label_names,
                {**data.splits, "train": result.augmented_split(data.train)},
                source=data.source,
            )
            for weight in args.weights:
                name = f"{recipe}-it{args.max_iterations}-seed{seed}-w{weight:g}"
                fits[(recipe, seed, weight)] = fit(name, recipe, augmented, weight)
    kept = {seed: len(result.kept) for seed, result in results.items()}
    text = report(data, fits, args, kept, minority)
    out = ROOT / "pipelines" / "results" / "augment_effect.md"
    out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
