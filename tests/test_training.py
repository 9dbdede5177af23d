from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.model_selection import KFold, cross_val_predict

from emoclassic.datasets import EmotionDataset, EmotionSplit
from emoclassic.errors import InvalidParameter
from emoclassic.pipelines import get_recipe
from emoclassic.thresholds import PerLabelThresholdClassifier, tune_thresholds
from emoclassic.training import FitSettings, fit_model


def test_thresholds_come_from_validation_and_never_from_test(toy_dataset):
    settings = FitSettings(progress=False, search=False)
    model = fit_model("lr", toy_dataset, settings)
    validation = toy_dataset.validation
    inner = model.estimator.estimator_
    expected, _ = tune_thresholds(validation.labels, inner.predict_proba(validation.texts))
    np.testing.assert_array_equal(model.thresholds, expected)
    # Replacing the test split (other texts, inverted labels) changes nothing.
    test = toy_dataset.test
    other = EmotionDataset(
        toy_dataset.label_names, {**toy_dataset.splits, "test": _scrambled(test)}
    )
    np.testing.assert_array_equal(fit_model("lr", other, settings).thresholds, model.thresholds)


def _scrambled(split: EmotionSplit) -> EmotionSplit:
    """Other texts and inverted labels: any use of this split would change a model."""
    return EmotionSplit([t[::-1] for t in split.texts], 1 - split.labels)


def test_out_of_fold_thresholds_use_train_only(toy_dataset):
    settings = FitSettings(
        progress=False, search=False, threshold_folds=2, thresholds_from="cross-validation"
    )
    model = fit_model("lr", toy_dataset, settings)
    train = toy_dataset.train
    folds = KFold(2, shuffle=True, random_state=settings.seed)
    held_out = cross_val_predict(
        get_recipe("lr").make(random_state=settings.seed),
        train.texts,
        train.labels,
        cv=folds,
        method="predict_proba",
    )
    expected, _ = tune_thresholds(train.labels, held_out)
    np.testing.assert_allclose(model.thresholds, expected)
    assert model.metadata["thresholds_from"] == "cross-validation"
    assert "2-fold out-of-fold predictions" in model.metadata["decision_rule"]
    # The final estimator is refitted on all training rows.
    refit = get_recipe("lr").make(random_state=settings.seed).fit(train.texts, train.labels)
    np.testing.assert_allclose(
        model.predict_proba(train.texts[:5]), refit.predict_proba(train.texts[:5])
    )
    # Neither the validation nor the test split takes part.
    splits = {
        **toy_dataset.splits,
        "validation": _scrambled(toy_dataset.validation),
        "test": _scrambled(toy_dataset.test),
    }
    other = EmotionDataset(toy_dataset.label_names, splits)
    np.testing.assert_array_equal(fit_model("lr", other, settings).thresholds, model.thresholds)


def test_out_of_fold_thresholds_after_grid_search(toy_dataset):
    settings = FitSettings(
        progress=False, cv=2, threshold_folds=3, thresholds_from="cross-validation"
    )
    model = fit_model("nb", toy_dataset, settings)
    assert "3-fold out-of-fold predictions" in model.metadata["decision_rule"]
    best = model.metadata["best_params"]
    fitted = model.estimator.estimator_.get_params()
    assert {name: fitted[name] for name in best} == best
    assert model.metadata["search"]["refit_seconds"] is None  # no wasted refit
    assert model.estimator.estimator_.memory is None


def test_best_recipe_tunes_thresholds_out_of_fold_by_default(toy_dataset):
    model = fit_model("best", toy_dataset, FitSettings(progress=False, threshold_folds=2))
    assert model.metadata["thresholds_from"] == "cross-validation"
    lr = fit_model("lr", toy_dataset, FitSettings(progress=False, cv=2, search=False))
    assert lr.metadata["thresholds_from"] == "validation"


def test_grid_search_metadata(toy_dataset):
    model = fit_model("lr", toy_dataset, FitSettings(progress=False, scoring="f1_macro", cv=2))
    search = model.metadata["search"]
    assert search["scoring"] == "f1_macro" and search["cv"] == 2
    assert len(search["candidates"]) == 6
    assert model.metadata["best_params"] == search["best_params"]
    assert set(search["best_params"]) == {"clf__estimator__C", "clf__estimator__l1_ratio"}
    assert isinstance(model.estimator, PerLabelThresholdClassifier)
    assert model.metadata["data"]["fingerprint"] == toy_dataset.fingerprint()
    assert model.predict(["so angry now"]).tolist() == [[1, 0, 0]]


def test_parallel_grid_search_matches_sequential(toy_dataset):
    sequential = fit_model("nb", toy_dataset, FitSettings(progress=False, n_jobs=1))
    parallel = fit_model("nb", toy_dataset, FitSettings(progress=False, n_jobs=2))
    assert parallel.metadata["best_params"] == sequential.metadata["best_params"]
    np.testing.assert_allclose(parallel.thresholds, sequential.thresholds)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"scoring": "accuracy"}, "scoring must be one of f1_micro, "),
        ({"cv": 1}, "cv must be at least 2, got 1"),
        ({"n_jobs": 0}, "n_jobs must not be 0"),
        ({"thresholds_from": "test"}, "thresholds_from must be one of validation, "),
        ({"threshold_folds": 1}, "threshold_folds must be at least 2, got 1"),
        ({"synthetic_weight": -1.0}, "synthetic_weight must be 0 or more"),
        ({"scheduler": "tcp://h:1"}, "scheduler is only used by the Dask backend"),
    ],
)
def test_bad_settings_name_the_parameter_not_a_flag(kwargs, message):
    with pytest.raises(InvalidParameter, match="^" + re.escape(message)) as caught:
        FitSettings(**kwargs)
    assert caught.value.param == next(iter(kwargs))
    assert "--" not in str(caught.value)


def test_too_few_rows_for_the_threshold_folds(toy_dataset):
    small = toy_dataset.limit_train(4)
    settings = FitSettings(progress=False, search=False, threshold_folds=5)
    with pytest.raises(
        InvalidParameter,
        match=r"^threshold_folds asks for 5 folds, but there are only 4 training rows$",
    ):
        fit_model("best", small, settings)
    fit_model("lr", small, FitSettings(progress=False, search=False, threshold_folds=5))
