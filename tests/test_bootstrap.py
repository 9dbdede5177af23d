"""Paired bootstrap: macro-F1 equals scikit-learn's, resamples are paired, intervals behave."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import f1_score

from emoclassic.bootstrap import macro_f1, paired_bootstrap


def test_macro_f1_matches_scikit_learn_including_empty_labels():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, (300, 5))
    y[:, 4] = 0  # a label with no true row
    p = rng.integers(0, 2, (300, 5))
    p[:, 4] = 0  # and no prediction: F1 0, as sklearn's zero_division=0
    expected = f1_score(y, p, average="macro", zero_division=0)
    assert abs(macro_f1(y, p) - expected) < 1e-6


def test_resample_weights_give_the_macro_f1_of_the_resampled_rows():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, (50, 3))
    p = rng.integers(0, 2, (50, 3))
    rows = rng.integers(0, 50, 50)
    weights = np.bincount(rows, minlength=50)[None, :].astype(np.float32)
    expected = f1_score(y[rows], p[rows], average="macro", zero_division=0)
    assert abs(macro_f1(y, p, weights)[0] - expected) < 1e-6


def test_interval_covers_a_better_model_and_pairs_the_rows():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, (2000, 4))
    noisy = np.where(rng.random(y.shape) < 0.3, 1 - y, y)
    better = np.where(rng.random(y.shape) < 0.2, 1 - y, y)
    result = paired_bootstrap(y, noisy, better, n_resamples=500, seed=0)
    assert result.low > 0 and result.excludes_zero
    assert result.low <= result.difference <= result.high
    expected = f1_score(y, better, average="macro") - f1_score(y, noisy, average="macro")
    assert abs(result.difference - expected) < 1e-6
    # Same seed, same interval; several candidates are averaged.
    assert paired_bootstrap(y, noisy, better, n_resamples=500, seed=0) == result
    two = paired_bootstrap(y, noisy, [better, noisy], n_resamples=500, seed=0)
    assert abs(two.difference - expected / 2) < 1e-6
    assert str(result).startswith("+")
