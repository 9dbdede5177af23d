"""The one place emoclassic imports scikit-learn's private names.

scikit-learn's own estimators are built on helpers it does not make public:
parameter validation (``_param_validation``), the ``_fit_context`` decorator
that runs it, ``LinearClassifierMixin``, ``_check_sample_weight`` and the
``_ConstantPredictor`` that ``OneVsRestClassifier`` fits for a constant label. Their
home may move from one release to the next; when it does, fix the import
here, and every estimator that uses it follows.

Examples
--------
>>> from emoclassic._sklearn_compat import Interval
>>> from numbers import Real
>>> Interval(Real, 0, 1, closed="both").is_satisfied_by(0.5)
True
"""

from __future__ import annotations

from sklearn.base import _fit_context
from sklearn.linear_model._base import LinearClassifierMixin
from sklearn.multiclass import _ConstantPredictor
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight

__all__ = [
    "HasMethods",
    "Interval",
    "LinearClassifierMixin",
    "StrOptions",
    "_ConstantPredictor",
    "_check_sample_weight",
    "_fit_context",
]
