from __future__ import annotations

import numpy as np
import pytest

from emoclassic.datasets import EmotionDataset, EmotionSplit
from emoclassic.errors import UsageError
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
    scrambled = EmotionSplit([t[::-1] for t in test.texts], 1 - test.labels)
    other = EmotionDataset(toy_dataset.label_names, {**toy_dataset.splits, "test": scrambled})
    np.testing.assert_array_equal(fit_model("lr", other, settings).thresholds, model.thresholds)


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
    [({"scoring": "accuracy"}, "unknown scoring"), ({"cv": 1}, "at least 2"), ({"n_jobs": 0}, "0")],
)
def test_bad_settings(kwargs, message):
    with pytest.raises(UsageError, match=message):
        FitSettings(**kwargs)
