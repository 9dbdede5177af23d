"""Benchmark liblinear's dual against its primal solver inside ``NBLogisticBlend``.

The ``best`` recipe fits every emotion with ``NBLogisticBlend(dual=True)``. This
script fits both solvers on the recipe's GoEmotions training features, label by
label in one process, and prints the fit seconds of each, their ratio, and how far
apart the two solutions are (largest weight difference and largest difference of
decision values on the validation split).

Usage::

    python pipelines/bench_solver.py                       # every emotion, then a total
    python pipelines/bench_solver.py --labels joy fear --limit 10000
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from emoclassic.datasets import load_dataset
from emoclassic.features import SortedCSR, word_char_tfidf
from emoclassic.nblr import NBLogisticBlend


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", nargs="+", default=None, help="default: every label")
    parser.add_argument("--data", default=None, help="dataset (default: bundled GoEmotions)")
    parser.add_argument("--limit", type=int, default=None, help="first N training rows")
    args = parser.parse_args()
    dataset = load_dataset(args.data)
    if args.limit:
        dataset = dataset.limit_train(args.limit)
    features = word_char_tfidf().fit(dataset.train.texts)
    X = SortedCSR().fit_transform(features.transform(dataset.train.texts))
    X_val = SortedCSR().fit_transform(features.transform(dataset.validation.texts))
    print(f"{dataset.summary()}; {X.shape[1]:,} features")
    header = (
        f"{'label':<14} {'primal s':>9} {'dual s':>8} {'speed-up':>8} "
        f"{'max |dw|':>9} {'max |dz|':>9}"
    )
    print(header)
    print("-" * len(header))
    names = list(dataset.label_names)
    totals = {False: 0.0, True: 0.0}
    for label in args.labels or names:
        y = dataset.train.labels[:, names.index(label)]
        seconds, models = {}, {}
        for dual in (False, True):
            started = time.perf_counter()
            models[dual] = NBLogisticBlend(dual=dual, random_state=42).fit(X, y)
            seconds[dual] = time.perf_counter() - started
            totals[dual] += seconds[dual]
        weights = np.abs(models[True].coef_ - models[False].coef_).max()
        decisions = np.abs(
            models[True].decision_function(X_val) - models[False].decision_function(X_val)
        ).max()
        print(
            f"{label:<14} {seconds[False]:9.2f} {seconds[True]:8.2f} "
            f"{seconds[False] / seconds[True]:7.2f}x {weights:9.4f} {decisions:9.4f}"
        )
    print("-" * len(header))
    print(
        f"{'total':<14} {totals[False]:9.2f} {totals[True]:8.2f} "
        f"{totals[False] / totals[True]:7.2f}x"
    )


if __name__ == "__main__":
    main()
