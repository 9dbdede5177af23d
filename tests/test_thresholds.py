from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_multilabel_classification
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from emoclassic.thresholds import PerLabelThresholdClassifier, tune_thresholds

# scikit-learn's common checks run in tests/test_estimator_checks.py.


def test_tune_thresholds_exact_values():
    y = np.array([[1, 0], [1, 0], [0, 1], [0, 0], [0, 1]])
    s = np.array([[0.9, 0.2], [0.4, 0.1], [0.3, 0.6], [0.1, 0.7], [0.2, 0.65]])
    thresholds, f1 = tune_thresholds(y, s)
    # Label 0: cutting between 0.4 and 0.3 catches both positives, nothing else.
    # Label 1: the best cut keeps 0.7, 0.65, 0.6 (2 of 3 true): F1 = 0.8.
    assert thresholds.tolist() == pytest.approx([0.35, 0.4])
    assert f1.tolist() == pytest.approx([1.0, 0.8])


def test_tune_thresholds_keeps_ties_together_and_defaults_without_positives():
    y = np.array([[1, 0], [0, 0], [0, 0]])
    s = np.array([[0.5, 0.9], [0.5, 0.1], [0.2, 0.3]])
    thresholds, f1 = tune_thresholds(y, s, default=0.42)
    assert thresholds[0] == pytest.approx(0.35)  # both 0.5 scores fall on one side
    assert f1[0] == pytest.approx(2 / 3)
    assert thresholds[1] == 0.42 and f1[1] == 0.0


def test_prefit_thresholds_come_from_the_data_given_to_fit():
    X, Y = make_multilabel_classification(n_samples=300, n_classes=4, random_state=1)
    base = OneVsRestClassifier(LogisticRegression(max_iter=1000)).fit(X[:200], Y[:200])
    tuned = PerLabelThresholdClassifier(base, cv="prefit").fit(X[200:], Y[200:])
    expected, _ = tune_thresholds(Y[200:], base.predict_proba(X[200:]))
    np.testing.assert_array_equal(tuned.thresholds_, expected)
    np.testing.assert_array_equal(
        tuned.predict(X[:5]), (base.predict_proba(X[:5]) >= expected).astype(int)
    )
    assert tuned.estimator_ is base


def test_cv_thresholds_come_from_out_of_fold_predictions():
    from sklearn.model_selection import KFold, cross_val_predict

    X, Y = make_multilabel_classification(n_samples=200, n_classes=3, random_state=0)
    inner = OneVsRestClassifier(LogisticRegression(max_iter=1000))
    folds = KFold(4)
    tuned = PerLabelThresholdClassifier(inner, cv=folds).fit(X, Y)
    oof = cross_val_predict(inner, X, Y, cv=folds, method="predict_proba")
    expected, _ = tune_thresholds(Y, oof)
    np.testing.assert_allclose(tuned.thresholds_, expected)
    assert tuned.n_features_in_ == X.shape[1]


def test_binary_target_gets_one_threshold():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 3))
    y = np.where(X[:, 0] + 0.5 * rng.normal(size=200) > 0.8, "yes", "no")
    clf = PerLabelThresholdClassifier(LogisticRegression(), cv=3).fit(X, y)
    assert clf.thresholds_.shape == (1,)
    assert set(clf.predict(X)) <= {"yes", "no"}


def test_multiclass_target_is_rejected():
    X = np.arange(30, dtype=float).reshape(-1, 1)
    with pytest.raises(ValueError, match="Only binary classification is supported"):
        PerLabelThresholdClassifier(LogisticRegression()).fit(X, np.arange(30) % 3)


def test_clone_and_pipeline_use():
    X, Y = make_multilabel_classification(n_samples=120, n_classes=3, random_state=2)
    clf = PerLabelThresholdClassifier(OneVsRestClassifier(LogisticRegression()), cv=3)
    pipe = make_pipeline(StandardScaler(), clone(clf).set_params(default_threshold=0.3))
    assert pipe.fit(X, Y).predict(X).shape == (120, 3)
    assert pipe.get_params()["perlabelthresholdclassifier__default_threshold"] == 0.3
