"""Early stopping on a validation score that should increase."""

from __future__ import annotations

import math

__all__ = ["EarlyStopping"]


class EarlyStopping:
    """Track the best epoch and say when to stop.

    An epoch *improves* when its score is strictly above the best so far
    (a NaN score never improves). Training stops once ``patience`` epochs in
    a row have not improved.

    Parameters
    ----------
    patience : int, default=3
        Epochs without improvement tolerated before stopping.

    Attributes
    ----------
    best_score : float
        The best score seen (``-inf`` before the first update).
    best_epoch : int or None
        1-based epoch of the best score.
    history : list of float
        Every score, in order.

    Examples
    --------
    >>> stopper = EarlyStopping(patience=2)
    >>> [stopper.update(s) for s in (0.6, 0.7, 0.65, 0.7)]
    [True, True, False, False]
    >>> stopper.should_stop, stopper.best_epoch, stopper.best_score
    (True, 2, 0.7)
    """

    def __init__(self, patience: int = 3):
        if patience < 1:
            raise ValueError(f"patience must be at least 1, got {patience}")
        self.patience = patience
        self.best_score = -math.inf
        self.best_epoch: int | None = None
        self.history: list[float] = []
        self.epochs_without_improvement = 0

    def update(self, score: float) -> bool:
        """Record the next epoch's score; return whether it is the new best."""
        self.history.append(float(score))
        if not math.isnan(score) and score > self.best_score:
            self.best_score = float(score)
            self.best_epoch = len(self.history)
            self.epochs_without_improvement = 0
            return True
        self.epochs_without_improvement += 1
        return False

    @property
    def should_stop(self) -> bool:
        """Whether ``patience`` epochs in a row have not improved."""
        return self.epochs_without_improvement >= self.patience
