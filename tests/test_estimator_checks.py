"""scikit-learn's common checks on every estimator emoclassic defines, found by discovery.

A new estimator class is picked up by :func:`emoclassic.discovery.all_estimators`
and checked here without being listed: numeric-input estimators go through
``parametrize_with_checks``; text-input ones, which scikit-learn's common checks
skip (they feed numeric arrays), get the data-free common checks plus our own
fit, clone, ``set_params`` and pickle round trips on real texts.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted

from emoclassic.discovery import all_estimators
from emoclassic.features import SortedCSR
from emoclassic.hashed_tfidf import HashedTfidfVectorizer
from emoclassic.nblr import NBLogisticBlend
from emoclassic.thresholds import PerLabelThresholdClassifier

# The instances to check, for classes that need arguments or have a setting worth
# checking on its own; any other discovered class is checked as ``cls()``.
INSTANCES = {
    PerLabelThresholdClassifier: [
        PerLabelThresholdClassifier(OneVsRestClassifier(LogisticRegression()), cv=3)
    ],
    # With dual=False the blend passes the sample-weight checks, NB ratio included.
    NBLogisticBlend: [NBLogisticBlend(), NBLogisticBlend(dual=False)],
}


def _instances() -> list[BaseEstimator]:
    return [est for _, cls in all_estimators() for est in INSTANCES.get(cls) or [cls()]]


def _takes_text(estimator: BaseEstimator) -> bool:
    return estimator.__sklearn_tags__().input_tags.string


NUMERIC = [est for est in _instances() if not _takes_text(est)]
TEXT = [est for est in _instances() if _takes_text(est)]


def _expected_failures(estimator: BaseEstimator) -> dict[str, str]:
    """Common checks that cannot apply, each with the reason."""
    if isinstance(estimator, PerLabelThresholdClassifier):
        return {
            "check_classifier_multioutput": (
                "the check requires predict(X) == predict_proba(X).round(), i.e. a 0.5 "
                "cut-off; applying tuned per-label cut-offs instead is the purpose of this "
                "estimator"
            ),
        }
    if isinstance(estimator, NBLogisticBlend) and estimator.dual:
        # scikit-learn says the same of its own dual liblinear solvers (LinearSVC,
        # dual=True): the check needs a deterministic, tightly converged solver.
        reason = "liblinear's dual solver is too loose for an exact equivalence check"
        return {
            "check_sample_weight_equivalence_on_dense_data": reason,
            "check_sample_weight_equivalence_on_sparse_data": reason,
        }
    return {}


def test_discovery_finds_every_estimator_and_sorts_them_by_input():
    assert all_estimators() == [
        ("HashedTfidfVectorizer", HashedTfidfVectorizer),
        ("NBLogisticBlend", NBLogisticBlend),
        ("PerLabelThresholdClassifier", PerLabelThresholdClassifier),
        ("SortedCSR", SortedCSR),
    ]
    assert [type(est).__name__ for est in NUMERIC] == [
        "NBLogisticBlend",
        "NBLogisticBlend",
        "PerLabelThresholdClassifier",
        "SortedCSR",
    ]
    assert [type(est).__name__ for est in TEXT] == ["HashedTfidfVectorizer"]


def test_discovery_filters_by_kind():
    assert [name for name, _ in all_estimators("transformer")] == [
        "HashedTfidfVectorizer",
        "SortedCSR",
    ]
    assert [name for name, _ in all_estimators(["classifier", "regressor"])] == [
        "NBLogisticBlend",
        "PerLabelThresholdClassifier",
    ]
    assert all_estimators("cluster") == []
    with pytest.raises(ValueError, match=r"type_filter must be among .*got \['clasifier'\]"):
        all_estimators("clasifier")


@parametrize_with_checks(NUMERIC, expected_failed_checks=_expected_failures)
def test_sklearn_common_checks(estimator, check):
    check(estimator)


# scikit-learn's common checks that need no data, so they apply to text estimators too.
DATA_FREE_CHECKS = [
    estimator_checks.check_estimator_cloneable,
    estimator_checks.check_estimator_repr,
    estimator_checks.check_no_attributes_set_in_init,
    estimator_checks.check_parameters_default_constructible,
    estimator_checks.check_get_params_invariance,
    estimator_checks.check_set_params,
    estimator_checks.check_do_not_raise_errors_in_init_or_set_params,
]

TEXTS = [
    "so happy today!!",
    "so sad and tired",
    "happy happy day :)",
    "a sad day :(",
    "what a happy surprise",
    "tired of this sad news",
]
Y = np.array([1, 0, 1, 0, 1, 0])


def _fit_output(estimator: BaseEstimator, texts: list[str]):
    """Fit ``estimator`` on :data:`TEXTS` and return its output on ``texts`` as an array."""
    if is_classifier(estimator):
        return np.asarray(estimator.fit(TEXTS, Y).predict_proba(texts))
    out = estimator.fit(TEXTS).transform(texts)
    return out.toarray() if sp.issparse(out) else np.asarray(out)


def _output(fitted: BaseEstimator, texts: list[str]):
    out = fitted.predict_proba(texts) if is_classifier(fitted) else fitted.transform(texts)
    return out.toarray() if sp.issparse(out) else np.asarray(out)


@pytest.mark.parametrize("check", DATA_FREE_CHECKS, ids=lambda check: check.__name__)
@pytest.mark.parametrize("estimator", TEXT, ids=repr)
def test_text_estimators_pass_the_data_free_common_checks(estimator, check):
    check(type(estimator).__name__, estimator)


@pytest.mark.parametrize("estimator", TEXT, ids=repr)
def test_text_estimators_round_trip_through_clone_set_params_and_pickle(estimator):
    estimator = clone(estimator)  # the module-level instance stays unfitted
    params = estimator.get_params()
    probe = ["happy day", "so sad :(", "an unseen text"]
    expected = _fit_output(estimator, probe)
    assert expected.shape[0] == 3 and np.isfinite(expected).all()
    # fit leaves the parameters as they were given
    assert estimator.get_params() == params
    # a clone has the same parameters, nothing fitted, and refits to the same output
    fresh = clone(estimator)
    assert fresh.get_params() == params
    with pytest.raises(NotFittedError):
        check_is_fitted(fresh)
    np.testing.assert_array_equal(_fit_output(fresh, probe), expected)
    # set_params with the current values changes nothing
    again = clone(estimator).set_params(**params)
    assert again.get_params() == params
    np.testing.assert_array_equal(_fit_output(again, probe), expected)
    # a pickled fitted estimator gives the same output
    restored = pickle.loads(pickle.dumps(estimator))
    assert restored.get_params() == params
    np.testing.assert_array_equal(_output(restored, probe), expected)
