"""Benchmark the recipes on GoEmotions: quality, fit time, predict speed and model size.

Every recipe is fitted exactly as ``emoclassic fit RECIPE`` fits it (grid search on
train where the recipe has a grid; per-label thresholds where the recipe chooses
them: out-of-fold predictions on train for ``best``, the validation split for ``lr``
and ``nb``) and scored on the test split. Prints one row per recipe.

Usage::

    python pipelines/bench_recipes.py                  # best, lr and nb
    python pipelines/bench_recipes.py --recipes lr nb --limit 5000

Columns: macro-F1 at a 0.2 and a 0.5 cut-off and with the tuned per-label thresholds,
micro-F1 (tuned), macro ROC-AUC, fit seconds (search, fits and any out-of-fold threshold fits),
predict throughput on the test split in texts per second, and the saved model's size.
Times depend on the machine; compare rows of one run, not runs.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from emoclassic.datasets import load_dataset
from emoclassic.evaluation import evaluate_scores
from emoclassic.persistence import save_model
from emoclassic.pipelines import RECIPES
from emoclassic.training import FitSettings, fit_model


def benchmark(recipe: str, dataset, settings: FitSettings) -> dict:
    model = fit_model(recipe, dataset, settings)
    test = dataset.test
    started = time.perf_counter()
    scores = model.predict_proba(test.texts)
    predict_seconds = time.perf_counter() - started
    row = {"recipe": recipe, "fit_s": model.metadata["fit_seconds"]}
    for name, rule in (("f1@0.2", 0.2), ("f1@0.5", 0.5), ("f1@tuned", "tuned")):
        report = evaluate_scores(
            test.labels, scores, dataset.label_names, model.resolve_thresholds(rule)
        )
        row[name] = report.overall["macro_f1"]
        if rule == "tuned":
            row["micro-f1"] = report.overall["micro_f1"]
            row["macro-auc"] = report.overall["macro_roc_auc"]
    row["texts/s"] = len(test) / predict_seconds
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{recipe}.joblib"
        save_model(model, path)
        row["size_mb"] = path.stat().st_size / 1e6
    row["best_params"] = model.metadata["best_params"]
    row["thresholds_from"] = model.metadata["thresholds_from"]
    return row


def format_table(rows: list[dict]) -> str:
    header = (
        f"{'recipe':<10} {'F1@0.2':>7} {'F1@0.5':>7} {'F1@tuned':>8} {'micro-F1':>8} "
        f"{'mac-AUC':>7} {'fit s':>7} {'texts/s':>9} {'MB':>6}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['recipe']:<10} {r['f1@0.2']:7.3f} {r['f1@0.5']:7.3f} {r['f1@tuned']:8.3f} "
            f"{r['micro-f1']:8.3f} {r['macro-auc']:7.3f} {r['fit_s']:7.1f} {r['texts/s']:9,.0f} "
            f"{r['size_mb']:6.2f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--data", default=None, help="dataset (default: bundled GoEmotions)")
    parser.add_argument("--limit", type=int, default=None, help="first N training rows")
    parser.add_argument("--n-jobs", type=int, default=-1, help="as emoclassic fit (default -1)")
    parser.add_argument("--scoring", default="f1_micro")
    args = parser.parse_args()
    dataset = load_dataset(args.data)
    if args.limit:
        dataset = dataset.limit_train(args.limit)
    settings = FitSettings(scoring=args.scoring, n_jobs=args.n_jobs, progress=False)
    rows = []
    for recipe in args.recipes:
        rows.append(benchmark(recipe, dataset, settings))
        row = rows[-1]
        print(
            f"done {recipe}: best params {row['best_params']}, "
            f"thresholds from {row['thresholds_from']}",
            flush=True,
        )
    print()
    print(f"{dataset.summary()}; grid scoring {args.scoring}; macro-F1 on test")
    print(format_table(rows))


if __name__ == "__main__":
    main()
