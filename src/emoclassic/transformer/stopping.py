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

    def state(self) -> dict:
        """Return the record as plain values, for a checkpoint (see :meth:`restore`).

        Examples
        --------
        >>> stopper = EarlyStopping(patience=2)
        >>> _ = [stopper.update(s) for s in (0.6, 0.5)]
        >>> again = EarlyStopping(patience=2)
        >>> again.restore(stopper.state())
        >>> again.update(0.55), again.should_stop, again.best_epoch
        (False, True, 1)
        """
        return {
            "best_score": self.best_score,
            "best_epoch": self.best_epoch,
            "history": list(self.history),
            "epochs_without_improvement": self.epochs_without_improvement,
        }

    def restore(self, state: dict) -> None:
        """Continue from a record made by :meth:`state`."""
        self.best_score = float(state["best_score"])
        self.best_epoch = state["best_epoch"]
        self.history = [float(score) for score in state["history"]]
        self.epochs_without_improvement = int(state["epochs_without_improvement"])

    @property
    def should_stop(self) -> bool:
        """Whether ``patience`` epochs in a row have not improved."""
        return self.epochs_without_improvement >= self.patience
