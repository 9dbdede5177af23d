"""Measure what the cached vectorizer saves in a recipe's grid search.

Runs the same ``GridSearchCV`` (same grid, folds, scoring and ``n_jobs``) twice in one
process: once over the naive pipeline, which refits the vectorizer for every
candidate x fold, and once the way ``emoclassic fit`` runs it, with the vectorizer
cached per fold (``Pipeline(memory=...)``). It checks that both pick the same
parameters with the same CV scores and prints the seconds saved.

Usage::

    python pipelines/bench_search.py --recipe lr --limit 10000
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold

from emoclassic.datasets import load_dataset
from emoclassic.pipelines import RECIPES, get_recipe


def timed_search(recipe, texts, labels, *, cached: bool, cv: int, n_jobs, seed: int):
    pipeline = recipe.make(random_state=seed)
    with tempfile.TemporaryDirectory(prefix="emoclassic-bench-") as cache:
        if cached:
            pipeline.set_params(memory=cache)
        search = GridSearchCV(
            pipeline,
            recipe.param_grid,
            scoring="f1_micro",
            cv=KFold(cv, shuffle=True, random_state=seed),
            n_jobs=n_jobs,
            refit=False,
        )
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            search.fit(texts, labels)
        return time.perf_counter() - started, search


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="lr", choices=list(RECIPES))
    parser.add_argument("--limit", type=int, default=None, help="first N training rows")
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    dataset = load_dataset(None)
    if args.limit:
        dataset = dataset.limit_train(args.limit)
    recipe = get_recipe(args.recipe)
    train = dataset.train
    kwargs = {"cv": args.cv, "n_jobs": args.n_jobs, "seed": args.seed}
    naive_s, naive = timed_search(recipe, train.texts, train.labels, cached=False, **kwargs)
    cached_s, cached = timed_search(recipe, train.texts, train.labels, cached=True, **kwargs)
    same = naive.best_params_ == cached.best_params_ and np.allclose(
        naive.cv_results_["mean_test_score"], cached.cv_results_["mean_test_score"]
    )
    n_fits = len(naive.cv_results_["params"]) * args.cv
    print(f"{dataset.summary()}; recipe {args.recipe}; {n_fits} fits; n_jobs {args.n_jobs}")
    print(f"{'search':<28} {'seconds':>8}")
    print(f"{'naive (vectorizer refitted)':<28} {naive_s:8.1f}")
    print(f"{'cached vectorizer':<28} {cached_s:8.1f}")
    print(f"saved {naive_s - cached_s:.1f} s ({naive_s / cached_s:.2f}x faster)")
    print(f"same best parameters and CV scores: {same} ({cached.best_params_})")


if __name__ == "__main__":
    main()
