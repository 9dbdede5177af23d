"""Per-label decision thresholds chosen on held-out data.

``OneVsRestClassifier.predict`` cuts every label at 0.5. With 28 imbalanced
labels that costs several points of macro-F1, so emoclassic picks, for each
label, the probability cut-off that maximises that label's F1 on held-out
data: an explicit validation set (``cv="prefit"``) or out-of-fold predictions.
The test split is never involved.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.model_selection import check_cv, cross_val_predict
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d

from emoclassic._sklearn_compat import HasMethods, Interval, StrOptions, _fit_context

__all__ = ["PerLabelThresholdClassifier", "positive_scores", "tune_thresholds"]


def tune_thresholds(
    y_true: np.ndarray, scores: np.ndarray, *, default: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Choose, per label, the cut-off that maximises F1 on held-out data.

    The cut-off sits halfway between the lowest score predicted positive and
    the next score below it, so it generalises instead of sitting on a sample.

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_labels)
        0/1 held-out labels.
    scores : array-like of shape (n_samples, n_labels)
        Scores (for example probabilities) for the same rows.
    default : float, default=0.5
        Cut-off for labels with no positive row in ``y_true`` or with the same
        score on every row (a label the model never learned).

    Returns
    -------
    thresholds : ndarray of shape (n_labels,)
        Predict label ``j`` when ``scores[:, j] >= thresholds[j]``.
    best_f1 : ndarray of shape (n_labels,)
        The held-out F1 of each label at its cut-off (0 with no positives).

    Examples
    --------
    >>> y = np.array([[1, 0], [1, 0], [0, 1], [0, 0]])
    >>> s = np.array([[0.9, 0.2], [0.4, 0.1], [0.3, 0.6], [0.1, 0.7]])
    >>> thresholds, f1 = tune_thresholds(y, s)
    >>> thresholds.round(3).tolist(), f1.round(3).tolist()
    ([0.35, 0.4], [1.0, 0.667])
    """
    y_true = np.asarray(y_true)
    scores = np.asarray(scores, dtype=np.float64)
    if y_true.shape != scores.shape or y_true.ndim != 2:
        raise ValueError(
            f"y_true and scores must be 2-D with one shape, got {y_true.shape} and {scores.shape}"
        )
    n_samples, n_labels = scores.shape
    thresholds = np.full(n_labels, float(default))
    best_f1 = np.zeros(n_labels)
    for j in range(n_labels):
        positives = int(y_true[:, j].sum())
        if positives == 0 or np.ptp(scores[:, j]) == 0:
            continue  # nothing to separate: keep the default cut-off
        order = np.argsort(-scores[:, j], kind="stable")
        ranked = scores[order, j]
        true_positives = np.cumsum(y_true[order, j] > 0)
        predicted = np.arange(1, n_samples + 1)
        f1 = 2.0 * true_positives / (predicted + positives)
        # Only cut between distinct scores: ties must fall on the same side.
        distinct = np.append(ranked[:-1] > ranked[1:], True)
        f1 = np.where(distinct, f1, -1.0)
        k = int(np.argmax(f1))
        best_f1[j] = f1[k]
        below = ranked[k + 1] if k + 1 < n_samples else ranked[k] - 1e-6
        thresholds[j] = (ranked[k] + below) / 2.0
    return thresholds, best_f1


def positive_scores(proba) -> np.ndarray:
    """Return an ``(n_samples, n_labels)`` array of positive-class scores.

    Accepts what multi-label and binary classifiers return from
    ``predict_proba``: a 2-D indicator-shaped array, a list of ``(n, 2)``
    arrays (``MultiOutputClassifier``) or, for a binary target, ``(n, 2)``
    taken as one label.

    Examples
    --------
    >>> positive_scores([np.array([[0.2, 0.8]]), np.array([[0.9, 0.1]])]).tolist()
    [[0.8, 0.1]]
    """
    if isinstance(proba, list):
        return np.column_stack([column[:, -1] for column in proba])
    return np.asarray(proba)


class PerLabelThresholdClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Wrap a probabilistic classifier and predict with per-label thresholds.

    For a multi-label target each label ``j`` gets its own cut-off
    ``thresholds_[j]`` chosen to maximise that label's F1 on held-out data;
    a binary target gets one cut-off on the positive class. Multiclass
    targets are not supported (use argmax for those).

    Parameters
    ----------
    estimator : estimator object
        A classifier with ``fit`` and ``predict_proba``. For multi-label
        ``y`` its ``predict_proba`` must return one column per label, as
        :class:`~sklearn.multiclass.OneVsRestClassifier` does.
    cv : int, cross-validation generator, iterable or "prefit", default=5
        Where the held-out scores come from. An int or splitter: out-of-fold
        ``predict_proba`` of clones of ``estimator`` on the training data,
        after which ``estimator`` is refitted on all of it. ``"prefit"``:
        ``estimator`` is already fitted and the data passed to :meth:`fit`
        *is* the held-out set (for example the validation split).
    default_threshold : float, default=0.5
        Cut-off for labels that have no positive example in the held-out data.
    n_jobs : int, default=None
        Parallel jobs for the out-of-fold predictions.

    Attributes
    ----------
    estimator_ : estimator object
        The fitted inner classifier.
    thresholds_ : ndarray of shape (n_labels,)
        The chosen cut-offs.
    threshold_f1_ : ndarray of shape (n_labels,)
        Held-out F1 of each label at its cut-off.
    classes_ : ndarray
        Class labels as the inner classifier reports them.

    See Also
    --------
    sklearn.model_selection.TunedThresholdClassifierCV : one threshold for a
        binary target, any metric.

    Examples
    --------
    >>> from sklearn.datasets import make_multilabel_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.multiclass import OneVsRestClassifier
    >>> X, Y = make_multilabel_classification(n_samples=200, n_classes=3, random_state=0)
    >>> clf = PerLabelThresholdClassifier(OneVsRestClassifier(LogisticRegression()), cv=3)
    >>> clf.fit(X, Y).thresholds_.shape
    (3,)
    >>> clf.predict(X[:2]).shape
    (2, 3)

    With an explicit validation set:

    >>> base = OneVsRestClassifier(LogisticRegression()).fit(X[:150], Y[:150])
    >>> tuned = PerLabelThresholdClassifier(base, cv="prefit").fit(X[150:], Y[150:])
    >>> bool(np.all((tuned.thresholds_ > 0) & (tuned.thresholds_ < 1)))
    True
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "cv": ["cv_object", StrOptions({"prefit"})],
        "default_threshold": [Interval(Real, 0, 1, closed="both")],
        "n_jobs": [Integral, None],
    }

    def __init__(self, estimator, *, cv=5, default_threshold=0.5, n_jobs=None):
        self.estimator = estimator
        self.cv = cv
        self.default_threshold = default_threshold
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, **fit_params):
        """Fit the inner classifier (unless prefit) and choose the thresholds.

        Parameters
        ----------
        X : array-like or list of str
            Training data, or the held-out data when ``cv="prefit"``.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Binary or multi-label (0/1 indicator) target.
        **fit_params : dict
            Passed to the inner estimator's ``fit``.

        Returns
        -------
        self : PerLabelThresholdClassifier
            The fitted meta-estimator.
        """
        target_type = type_of_target(y, input_name="y", raise_unknown=True)
        if target_type not in ("binary", "multilabel-indicator"):
            raise ValueError(
                "Only binary classification is supported. "
                f"{type(self).__name__} also takes multi-label indicator targets, "
                f"but got a {target_type!r} target."
            )
        y = np.asarray(y)
        if target_type == "binary" and y.ndim == 2:
            y = column_or_1d(y, warn=True)
        if self.cv == "prefit":
            check_is_fitted(self.estimator)
            self.estimator_ = self.estimator
            held_out = self.estimator_.predict_proba(X)
        else:
            splitter = check_cv(self.cv, y, classifier=True)
            held_out = cross_val_predict(
                clone(self.estimator),
                X,
                y,
                cv=splitter,
                method="predict_proba",
                n_jobs=self.n_jobs,
                params=fit_params,
            )
            self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        self.classes_ = self.estimator_.classes_
        self._binary = target_type == "binary"
        if self._binary:
            y_indicator = (y == self.classes_[-1]).astype(int)[:, None]
            scores = np.asarray(held_out)[:, -1:]
        else:
            y_indicator, scores = y, positive_scores(held_out)
        self.thresholds_, self.threshold_f1_ = tune_thresholds(
            y_indicator, scores, default=self.default_threshold
        )
        return self

    @property
    def n_features_in_(self) -> int:
        """Number of features seen by the inner estimator during fit."""
        return self.estimator_.n_features_in_

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities of the inner classifier, unchanged.

        Parameters
        ----------
        X : array-like or list of str
            Input data.

        Returns
        -------
        ndarray
            What the inner classifier's ``predict_proba`` returns.
        """
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    def predict(self, X) -> np.ndarray:
        """Predict with the per-label thresholds.

        Parameters
        ----------
        X : array-like or list of str
            Input data.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_labels)
            Class labels for a binary target, a 0/1 indicator matrix for a
            multi-label one.
        """
        check_is_fitted(self)
        proba = self.estimator_.predict_proba(X)
        if self._binary:
            positive = np.asarray(proba)[:, -1] >= self.thresholds_[0]
            if len(self.classes_) == 1:  # fitted on a single class: always predict it
                return np.repeat(self.classes_, len(positive))
            return self.classes_[positive.astype(int)]
        return (positive_scores(proba) >= self.thresholds_).astype(int)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.classifier_tags.multi_label = True
        tags.target_tags.multi_output = True
        inner = self.estimator.__sklearn_tags__()
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        return tags
