"""How many n-grams does ``best`` need? Validation macro-F1 against the feature caps.

Fits the ``best`` pipeline on the training split with several caps on the word and
character n-gram counts (``word_max_features``, ``char_max_features`` of
:func:`emoclassic.features.word_char_tfidf`), then scores the validation split with
per-label thresholds tuned *on that same split*. That figure is optimistic, but it is
optimistic in the same way for every row, so it ranks the caps; the test split is
never read. Each row also reports the same model with int8 weights (the recipe's
``quantize=True``) and the largest change of any validation score that rounding makes.

Usage::

    python pipelines/feature_caps.py
    python pipelines/feature_caps.py --caps none:none 30000:40000 20000:30000
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def parse_cap(text: str) -> tuple[int | None, int | None]:
    word, char = text.split(":")
    return tuple(None if part == "none" else int(part) for part in (word, char))


def score(dataset, word_cap, char_cap, quantize: bool) -> tuple[float, np.ndarray, int, float]:
    from emoclassic.evaluation import evaluate_scores
    from emoclassic.features import word_char_tfidf
    from emoclassic.pipelines import make_best_pipeline
    from emoclassic.thresholds import tune_thresholds

    pipe = make_best_pipeline(n_jobs=2, quantize=quantize)
    pipe.set_params(
        features=word_char_tfidf(word_max_features=word_cap, char_max_features=char_cap)
    )
    started = time.perf_counter()
    pipe.fit(list(dataset.train.texts), dataset.train.labels)
    seconds = time.perf_counter() - started
    validation = dataset.validation
    scores = pipe.predict_proba(list(validation.texts))
    thresholds, _ = tune_thresholds(validation.labels, scores)
    report = evaluate_scores(validation.labels, scores, dataset.label_names, thresholds)
    width = sum(len(v.hashes_) for _, v in pipe.named_steps["features"].transformer_list)
    return report.overall["macro_f1"], scores, width, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--caps",
        nargs="+",
        type=parse_cap,
        default=[parse_cap(c) for c in ("none:none", "30000:40000", "20000:30000")],
        help="WORD:CHAR caps ('none' for no cap)",
    )
    args = parser.parse_args()

    from emoclassic.datasets import load_goemotions

    dataset = load_goemotions()
    print(
        f"{'word cap':>9} {'char cap':>9} {'features':>9} {'fit s':>6} "
        f"{'val F1 float32':>15} {'val F1 int8':>12} {'max |score change|':>19}"
    )
    for word_cap, char_cap in args.caps:
        exact, exact_scores, width, seconds = score(dataset, word_cap, char_cap, False)
        rounded, rounded_scores, _, _ = score(dataset, word_cap, char_cap, True)
        change = float(np.abs(exact_scores - rounded_scores).max())
        print(
            f"{word_cap or 'none':>9} {char_cap or 'none':>9} {width:>9} {seconds:>6.0f} "
            f"{exact:>15.4f} {rounded:>12.4f} {change:>19.4f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
