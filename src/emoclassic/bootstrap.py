"""Paired bootstrap of a macro-F1 difference: is model B better than model A on the same rows.

Rare GoEmotions labels have a handful of test rows (grief 6, relief 11), so one
example moves macro-F1 by about 0.004. A difference between two models means
something only with its uncertainty: resample the test rows with replacement
(the same resample for both models, which is what makes it *paired*),
recompute both macro-F1 values, and read the spread of their difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["BootstrapResult", "macro_f1", "paired_bootstrap"]


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, weights: np.ndarray | None = None):
    """Macro-F1 over all labels (a label with no true and no predicted row scores 0).

    Parameters
    ----------
    y_true, y_pred : ndarray of shape (n_rows, n_labels)
        0/1 label matrices.
    weights : ndarray of shape (n_resamples, n_rows), optional
        How many times each row is drawn in each resample.

    Returns
    -------
    float or ndarray of shape (n_resamples,)

    Examples
    --------
    >>> y = np.array([[1, 0], [0, 1], [1, 1]])
    >>> round(macro_f1(y, np.array([[1, 0], [0, 0], [1, 1]])), 4)
    0.8333
    """
    y_true = np.asarray(y_true, dtype=np.float32)
    y_pred = np.asarray(y_pred, dtype=np.float32)
    single = weights is None
    w = np.ones((1, len(y_true)), dtype=np.float32) if single else weights
    true_pos = w @ (y_true * y_pred)
    both = w @ y_pred + w @ y_true
    f1 = np.divide(2 * true_pos, both, out=np.zeros_like(both), where=both > 0).mean(axis=1)
    return float(f1[0]) if single else f1


@dataclass(frozen=True)
class BootstrapResult:
    """A macro-F1 difference (candidate minus baseline) with its percentile interval."""

    difference: float
    low: float
    high: float
    confidence: float
    n_resamples: int

    @property
    def excludes_zero(self) -> bool:
        """Whether the interval lies entirely above or entirely below zero."""
        return self.low > 0 or self.high < 0

    def __str__(self) -> str:
        return f"{self.difference:+.4f} [{self.low:+.4f}, {self.high:+.4f}]"


def paired_bootstrap(
    y_true: np.ndarray,
    baseline: np.ndarray,
    candidate: np.ndarray | Sequence[np.ndarray],
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    chunk: int = 250,
) -> BootstrapResult:
    """Paired percentile bootstrap of ``macro_f1(candidate) - macro_f1(baseline)``.

    Parameters
    ----------
    y_true : ndarray of shape (n_rows, n_labels)
        The true labels of the evaluation rows.
    baseline : ndarray of shape (n_rows, n_labels)
        Predictions of the reference model.
    candidate : ndarray or sequence of ndarrays
        Predictions of the model to compare; several (for example one per
        augmentation seed) are compared through the mean of their macro-F1.
    n_resamples : int, default=2000
        Bootstrap resamples of the rows.
    confidence : float, default=0.95
        Width of the percentile interval.
    seed : int, default=0
        Seed of the resampling.
    chunk : int, default=250
        Resamples computed at once (bounds memory to ``chunk x n_rows`` floats).

    Returns
    -------
    BootstrapResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, (400, 3))
    >>> same = paired_bootstrap(y, y, y, n_resamples=200)
    >>> (same.difference, same.low, same.high)
    (0.0, 0.0, 0.0)
    >>> worse = y.copy(); worse[:100] = 0
    >>> paired_bootstrap(y, y, worse, n_resamples=200).high < 0
    True
    """
    candidates = [candidate] if isinstance(candidate, np.ndarray) else list(candidate)
    n_rows = len(y_true)
    rng = np.random.default_rng(seed)
    differences = []
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        draws = rng.integers(0, n_rows, size=(size, n_rows))
        weights = np.zeros((size, n_rows), dtype=np.float32)
        np.add.at(weights, (np.repeat(np.arange(size), n_rows), draws.ravel()), 1.0)
        base = macro_f1(y_true, baseline, weights)
        other = np.mean([macro_f1(y_true, c, weights) for c in candidates], axis=0)
        differences.append(other - base)
    differences = np.concatenate(differences)
    observed = float(
        np.mean([macro_f1(y_true, c) for c in candidates]) - macro_f1(y_true, baseline)
    )
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(differences, [tail, 1.0 - tail])
    return BootstrapResult(round(observed, 12), float(low), float(high), confidence, n_resamples)
