"""A fitted emotion model: scores, decision thresholds and label names together.

:class:`EmotionModel` is the one interface that ``evaluate``, ``predict`` and
every later consumer use, whatever produced the scores.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Sequence

import numpy as np

from emoclassic.thresholds import positive_scores

__all__ = ["EmotionModel", "SklearnEmotionModel", "emotion_lists", "rank_emotions"]


class EmotionModel:
    """Base class: label names, per-label thresholds and a scoring function.

    Subclasses implement :meth:`predict_proba`.

    Parameters
    ----------
    label_names : sequence of str
        Ordered label list; column ``j`` of every score matrix is ``label_names[j]``.
    thresholds : array-like of shape (n_labels,)
        Default per-label decision thresholds (tuned on validation data).
    metadata : dict, optional
        The model's sidecar (recipe, parameters, metrics, versions, ...).
    """

    kind = "base"

    def __init__(
        self,
        label_names: Sequence[str],
        thresholds: Iterable[float],
        metadata: dict | None = None,
    ):
        self.label_names = tuple(label_names)
        self.thresholds = np.asarray(list(thresholds), dtype=np.float64)
        if self.thresholds.shape != (len(self.label_names),):
            raise ValueError("one threshold per label is required")
        self.metadata = dict(metadata or {})

    #: Whether scoring a few texts takes well under a millisecond (the folded
    #: linear path), so a server may run it on its event loop.
    scores_instantly = False

    @property
    def linear(self):
        """The model as one linear map of its text features, or ``None``.

        A :class:`~emoclassic.fastpredict.LinearTextModel` for a TF-IDF +
        linear classifier pipeline, whose coefficients explain each score
        exactly; ``None`` for every other model (explain those with LIME).
        """
        return None

    @property
    def explains_exactly(self) -> bool:
        """Whether :func:`~emoclassic.explain.explain_linear` can explain this model.

        Examples
        --------
        >>> from emoclassic.pipelines import make_lr_pipeline
        >>> pipe = make_lr_pipeline().fit(["so happy", "so sad"] * 2, [[1, 0], [0, 1]] * 2)
        >>> SklearnEmotionModel(pipe, ["joy", "sadness"], [0.5, 0.5]).explains_exactly
        True
        """
        return self.linear is not None

    def use_cpu(self) -> EmotionModel:
        """Score on the CPU from now on (a model that only runs there is unchanged); return self.

        ``compare`` times every model on the same processor with this.
        """
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Return an ``(n_texts, n_labels)`` array of scores in [0, 1]."""
        raise NotImplementedError

    def warm_up(self) -> None:
        """Score two throwaway texts, so that the next ones pay no one-off cost.

        A model fills its caches (and the fast path loads its compiled
        single-text scorer) on its first texts. A server calls this before it
        answers, so that its first requests are as fast as the rest.

        Examples
        --------
        >>> from emoclassic.pipelines import make_lr_pipeline
        >>> pipe = make_lr_pipeline().fit(["so happy", "so sad"] * 2, [[1, 0], [0, 1]] * 2)
        >>> SklearnEmotionModel(pipe, ["joy", "sadness"], [0.5, 0.5]).warm_up()
        """
        for _ in range(2):
            self.predict_proba(["warm up"])

    def resolve_thresholds(self, threshold: float | str | None = None) -> np.ndarray:
        """Turn a decision rule into one threshold per label.

        ``None`` or ``"tuned"`` gives the stored per-label thresholds; a number
        applies that cut-off to every label.

        Examples
        --------
        >>> model = EmotionModel(["joy", "anger"], [0.3, 0.6])
        >>> model.resolve_thresholds().tolist(), model.resolve_thresholds(0.2).tolist()
        ([0.3, 0.6], [0.2, 0.2])
        """
        if threshold is None or threshold == "tuned":
            return self.thresholds
        return np.full(len(self.label_names), float(threshold))

    def predict(self, texts: Sequence[str], threshold: float | str | None = None) -> np.ndarray:
        """Return the 0/1 label matrix under a decision rule (default: tuned)."""
        scores = self.predict_proba(texts)
        return (scores >= self.resolve_thresholds(threshold)).astype(np.int8)

    def predict_emotions(
        self,
        texts: Sequence[str],
        threshold: float | str | None = None,
        top_k: int | None = None,
    ) -> list[list[tuple[str, float]]]:
        """Return, per text, the emotions above the threshold, highest score first.

        Parameters
        ----------
        texts : sequence of str
            Texts to classify.
        threshold : float, "tuned" or None
            ``None``/``"tuned"``: the stored per-label thresholds. A number:
            the same cut-off for every label (``0.0`` lists every label).
        top_k : int, optional
            Keep at most this many emotions per text.

        Returns
        -------
        list of list of (str, float)
            ``(label, score)`` pairs sorted by descending score.
        """
        scores = self.predict_proba(texts)
        return rank_emotions(scores, self.resolve_thresholds(threshold), self.label_names, top_k)


def rank_emotions(
    scores: np.ndarray,
    cutoffs: np.ndarray,
    label_names: Sequence[str],
    top_k: int | None = None,
) -> list[list[tuple[str, float]]]:
    """Per row, the ``(label, score)`` pairs at or above their cut-off, highest first.

    Parameters
    ----------
    scores : ndarray of shape (n_texts, n_labels)
        Scores of each text.
    cutoffs : ndarray of shape (n_labels,)
        Per-label cut-offs (``-inf`` keeps every label).
    label_names : sequence of str
        Names of the score columns.
    top_k : int, optional
        Keep at most this many pairs per row.

    Returns
    -------
    list of list of (str, float)

    Examples
    --------
    >>> rank_emotions(np.array([[0.2, 0.9, 0.6]]), np.array([0.5, 0.5, 0.5]), ["a", "b", "c"])
    [[('b', 0.9), ('c', 0.6)]]
    """
    scores = np.asarray(scores)
    labels, offsets = emotion_lists(scores, np.asarray(cutoffs), top_k)
    rows = np.repeat(np.arange(len(scores)), np.diff(offsets))
    pairs = list(
        zip([label_names[j] for j in labels.tolist()], scores[rows, labels].tolist(), strict=True)
    )
    return [pairs[start:end] for start, end in itertools.pairwise(offsets.tolist())]


def emotion_lists(
    scores: np.ndarray, cutoffs: np.ndarray, top_k: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the labels at or above their cut-off, highest score first, as flat arrays.

    The ranking of :func:`rank_emotions`, as flat arrays (no Python loop over rows).

    Returns
    -------
    labels : ndarray of int
        Label indices of every row's list, one row after the other.
    offsets : ndarray of int of shape (n_rows + 1,)
        Row ``i``'s labels are ``labels[offsets[i]:offsets[i + 1]]``.

    Examples
    --------
    >>> labels, offsets = emotion_lists(np.array([[0.2, 0.9, 0.6], [0.1, 0.0, 0.3]]),
    ...                                 np.array([0.5, 0.5, 0.5]))
    >>> labels.tolist(), offsets.tolist()
    ([1, 2], [0, 2, 2])
    """
    order = np.argsort(-scores, axis=1, kind="stable")
    kept = np.take_along_axis(scores >= cutoffs, order, axis=1)
    if top_k is not None:
        kept &= np.cumsum(kept, axis=1) <= top_k
    offsets = np.zeros(len(scores) + 1, dtype=np.int64)
    np.cumsum(kept.sum(axis=1), out=offsets[1:])
    return order[kept], offsets


class SklearnEmotionModel(EmotionModel):
    """An emotion model backed by a fitted scikit-learn estimator on raw texts.

    Parameters
    ----------
    estimator : estimator object
        Fitted; ``predict_proba(list_of_texts)`` returns one column per label
        (for example a :class:`~emoclassic.thresholds.PerLabelThresholdClassifier`
        around a text Pipeline).
    label_names, thresholds, metadata
        See :class:`EmotionModel`. ``thresholds`` defaults to the estimator's
        ``thresholds_``.
    fast : bool, default=True
        Score through :func:`~emoclassic.fastpredict.fold_linear` when the
        estimator is a linear text pipeline it recognises (same scores, about
        ten times faster per text); otherwise, or with ``False``, through the
        estimator's own ``predict_proba``.

    Examples
    --------
    >>> from emoclassic.pipelines import make_lr_pipeline
    >>> texts = ["so happy", "so sad", "happy day", "sad day"]
    >>> pipe = make_lr_pipeline().fit(texts, [[1, 0], [0, 1], [1, 0], [0, 1]])
    >>> model = SklearnEmotionModel(pipe, ["joy", "sadness"], thresholds=[0.5, 0.5])
    >>> [label for label, _ in model.predict_emotions(["happy"])[0]]
    ['joy']
    """

    kind = "sklearn"

    def __init__(
        self,
        estimator,
        label_names: Sequence[str],
        thresholds: Iterable[float] | None = None,
        metadata: dict | None = None,
        *,
        fast: bool = True,
    ):
        self.estimator = estimator
        self.fast = fast
        if thresholds is None:
            thresholds = estimator.thresholds_
        super().__init__(label_names, thresholds, metadata)

    @functools.cached_property
    def linear(self):
        """The folded :class:`~emoclassic.fastpredict.LinearTextModel`, or ``None``.

        Built once, on first use, from the fitted estimator.
        """
        from emoclassic.fastpredict import fold_linear

        return fold_linear(self.estimator)

    @property
    def scores_instantly(self) -> bool:
        """Whether :meth:`predict_proba` takes the folded linear path."""
        return self.fast and self.linear is not None

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Return an ``(n_texts, n_labels)`` array of probabilities."""
        if self.scores_instantly:
            return self.linear.predict_proba(texts)
        return positive_scores(self.estimator.predict_proba(list(texts)))

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("linear", None)  # derived from the estimator; rebuilt on demand
        return state
