"""A binary linear classifier blending logistic regression with NB-weighted LR.

NB-LR (after NB-SVM, Wang & Manning 2012) scales each feature by its naive
Bayes log-count ratio ``r`` before fitting a logistic regression, which helps
rare classes. :class:`NBLogisticBlend` averages, in logit space, a plain LR
on ``X`` and an LR on ``X * r``. Both are linear in ``X``, so the average folds
into one weight vector: the fitted model is as small and as fast as a single
logistic regression.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from emoclassic._sklearn_compat import (
    Interval,
    LinearClassifierMixin,
    StrOptions,
    _check_sample_weight,
    _fit_context,
)

__all__ = ["NBLogisticBlend", "log_count_ratio"]


def log_count_ratio(
    X, y: np.ndarray, alpha: float = 1.0, sample_weight: np.ndarray | None = None
) -> np.ndarray:
    """Naive Bayes log-count ratio of binarised features.

    ``r_j = log((p_j / |p|_1) / (q_j / |q|_1))`` with ``p = alpha + sum of rows
    with y = 1`` and ``q = alpha + sum of rows with y = 0`` of ``X != 0``
    (each row counted with its ``sample_weight``).

    Parameters
    ----------
    X : sparse matrix of shape (n_samples, n_features)
        Features; only their presence counts.
    y : ndarray of shape (n_samples,)
        0/1 target.
    alpha : float, default=1.0
        Additive smoothing.
    sample_weight : ndarray of shape (n_samples,) or None
        Row weights; ``None`` counts every row once.

    Returns
    -------
    ndarray of shape (n_features,)

    Examples
    --------
    >>> X = sp.csr_matrix([[1.0, 0.0], [0.5, 0.0], [0.0, 2.0]])
    >>> log_count_ratio(X, np.array([1, 1, 0])).round(3).tolist()
    [0.811, -0.981]
    """
    present = sp.csr_matrix(X, copy=True)
    present.data = (present.data != 0).astype(np.float64)
    if sample_weight is not None:
        present = sp.csr_matrix(present.multiply(np.asarray(sample_weight, float)[:, None]))
    positive = alpha + np.asarray(present[y == 1].sum(axis=0)).ravel()
    negative = alpha + np.asarray(present[y == 0].sum(axis=0)).ravel()
    return np.log((positive / positive.sum()) / (negative / negative.sum()))


class NBLogisticBlend(LinearClassifierMixin, ClassifierMixin, BaseEstimator):
    """Binary classifier: ``(1 - w) * LR(X) + w * LR(X * r)`` in logit space.

    Parameters
    ----------
    C : float, default=1.0
        Inverse regularisation strength of both logistic regressions.
    alpha : float, default=1.0
        Smoothing of the log-count ratio.
    nb_weight : float, default=0.5
        Weight ``w`` of the NB-weighted model; 0 gives plain LR, 1 plain NB-LR.
    class_weight : dict, "balanced" or None, default=None
        Passed to both logistic regressions.
    max_iter : int, default=1000
        liblinear iterations per fit.
    dual : bool, default=True
        Solve liblinear's dual problem: the same l2-penalised model, found
        faster when there are more features than samples (TF-IDF n-grams):
        1.74x over GoEmotions' 28 emotions (``pipelines/bench_solver.py``).
    random_state : int, RandomState instance or None, default=None
        Seed of liblinear's coordinate descent.
    quantize : bool, default=False
        Round the folded weights to 255 levels, ``q * scale`` with ``q`` an
        int8 in [-127, 127] and one float32 ``scale = max|w| / 127``. The
        fitted model *is* the rounded one (each weight moves by at most
        ``scale / 2``), and it is saved as int8: a quarter of the size.

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features), float32
        The folded weights.
    intercept_ : ndarray of shape (1,)
        The folded intercept.
    classes_ : ndarray of shape (2,)
        Class labels.
    n_features_in_ : int
        Number of features seen during fit.
    n_iter_ : ndarray of shape (1,)
        Largest number of liblinear iterations of the underlying fits.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> clf = NBLogisticBlend(nb_weight=0.0).fit(np.abs(X), y)
    >>> plain = LogisticRegression(solver="liblinear").fit(np.abs(X), y)
    >>> bool(np.allclose(clf.decision_function(np.abs(X)), plain.decision_function(np.abs(X)),
    ...                  atol=1e-4))
    True
    >>> clf.predict_proba(np.abs(X[:2])).shape
    (2, 2)
    """

    _parameter_constraints: dict = {
        "C": [Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "nb_weight": [Interval(Real, 0, 1, closed="both")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "dual": ["boolean"],
        "random_state": ["random_state"],
        "quantize": ["boolean"],
    }

    def __init__(
        self,
        *,
        C=1.0,
        alpha=1.0,
        nb_weight=0.5,
        class_weight=None,
        max_iter=1000,
        dual=True,
        random_state=None,
        quantize=False,
    ):
        self.C = C
        self.alpha = alpha
        self.nb_weight = nb_weight
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.dual = dual
        self.random_state = random_state
        self.quantize = quantize

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit both logistic regressions and fold them into one linear model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training features (non-negative, such as TF-IDF).
        y : array-like of shape (n_samples,)
            Binary target.
        sample_weight : array-like of shape (n_samples,) or None
            Row weights, used by both regressions and by the NB ratio.

        Returns
        -------
        self : NBLogisticBlend
            The fitted classifier.
        """
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=[np.float64, np.float32])
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) != 2:
            raise ValueError(
                f"Only binary classification is supported; got {len(self.classes_)} class(es) in y."
            )
        X = sp.csr_matrix(X)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        class_weight = self.class_weight
        if isinstance(class_weight, dict):  # keyed by the encoded 0/1 classes below
            class_weight = {i: class_weight.get(c, 1.0) for i, c in enumerate(self.classes_)}
        weights = np.zeros(X.shape[1])
        intercept = 0.0
        iterations = [0]
        if self.nb_weight < 1:
            plain = self._logistic(class_weight).fit(X, encoded, sample_weight=sample_weight)
            weights += (1 - self.nb_weight) * plain.coef_.ravel()
            intercept += (1 - self.nb_weight) * plain.intercept_[0]
            iterations.append(int(plain.n_iter_.max()))
        if self.nb_weight > 0:
            ratio = log_count_ratio(X, encoded, self.alpha, sample_weight)
            scaled = self._logistic(class_weight).fit(
                sp.csr_matrix(X.multiply(ratio)), encoded, sample_weight=sample_weight
            )
            weights += self.nb_weight * scaled.coef_.ravel() * ratio
            intercept += self.nb_weight * scaled.intercept_[0]
            iterations.append(int(scaled.n_iter_.max()))
        self.coef_ = weights.astype(np.float32)[None, :]
        if self.quantize:
            self.coef_ = _dequantize(*_quantize(self.coef_))
        self.intercept_ = np.array([intercept])
        self.n_iter_ = np.array([max(iterations)], dtype=np.int32)
        return self

    def _logistic(self, class_weight) -> LogisticRegression:
        return LogisticRegression(
            solver="liblinear",
            C=self.C,
            class_weight=class_weight,
            max_iter=self.max_iter,
            dual=self.dual,
            random_state=self.random_state,
        )

    def predict_proba(self, X) -> np.ndarray:
        """Probability of each class: the sigmoid of the folded decision value.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input features.

        Returns
        -------
        ndarray of shape (n_samples, 2)
        """
        check_is_fitted(self)
        positive = expit(self.decision_function(X))
        return np.column_stack([1.0 - positive, positive])

    def __getstate__(self):
        state = dict(super().__getstate__())
        if state.get("quantize") and "coef_" in state:
            state["coef_"] = _quantize(state["coef_"])  # (int8 levels, float32 scale)
        return state

    def __setstate__(self, state):
        if isinstance(state.get("coef_"), tuple):
            state = {**state, "coef_": _dequantize(*state["coef_"])}
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_class = False
        return tags


def _quantize(coef: np.ndarray) -> tuple[np.ndarray, np.float32]:
    """int8 levels and the float32 scale of ``coef`` (exact for already-rounded weights)."""
    largest = float(np.abs(coef).max()) if coef.size else 0.0
    scale = np.float32(largest / 127 if largest > 0 else 1.0)
    levels = np.clip(np.rint(coef / scale), -127, 127).astype(np.int8)
    return levels, scale


def _dequantize(levels: np.ndarray, scale: np.float32) -> np.ndarray:
    return levels.astype(np.float32) * np.float32(scale)
