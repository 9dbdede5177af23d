from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_validate

from conftest import toy_split
from emoclassic.pipelines import (
    RECIPES,
    Recipe,
    get_recipe,
    make_lr_pipeline,
    make_nb_pipeline,
)


def test_lr_recipe_is_the_reference_recipe():
    pipe = make_lr_pipeline()
    tfidf, ovr = pipe.named_steps["tfidf"], pipe.named_steps["clf"]
    assert (tfidf.max_features, tfidf.ngram_range) == (10000, (1, 2))
    lr = ovr.estimator
    assert (lr.solver, lr.class_weight, lr.max_iter, lr.random_state) == (
        "liblinear",
        "balanced",
        2000,
        42,
    )
    grid = RECIPES["lr"].param_grid
    assert grid["clf__estimator__C"] == [0.1, 1.0, 10.0]
    assert grid["clf__estimator__l1_ratio"] == [1.0, 0.0]  # penalty l1, l2


def test_nb_recipe_is_the_reference_recipe():
    pipe = make_nb_pipeline()
    assert pipe.named_steps["tfidf"].max_features == 10000
    grid = RECIPES["nb"].param_grid
    assert grid == {
        "clf__estimator__alpha": [0.1, 0.5, 1.0],
        "clf__estimator__fit_prior": [True, False],
    }


def test_l1_ratio_one_is_the_l1_penalty():
    split = toy_split(4)
    dense = make_lr_pipeline(C=1.0, l1_ratio=0.0).fit(split.texts, split.labels)
    sparse = make_lr_pipeline(C=1.0, l1_ratio=1.0).fit(split.texts, split.labels)
    zeros = lambda p: np.mean(p.named_steps["clf"].estimators_[0].coef_ == 0)  # noqa: E731
    assert zeros(sparse) > zeros(dense)


def test_pipelines_clone_set_params_and_pickle():
    split = toy_split(4)
    for name, recipe in RECIPES.items():
        pipe = recipe.make()
        twin = clone(pipe)
        assert twin.get_params().keys() == pipe.get_params().keys()
        key = next(iter(recipe.param_grid))
        value = recipe.param_grid[key][0]
        assert twin.set_params(**{key: value}).get_params()[key] == value
        fitted = twin.fit(split.texts, split.labels)
        restored = pickle.loads(pickle.dumps(fitted))
        (
            np.testing.assert_array_equal(
                restored.predict_proba(split.texts), fitted.predict_proba(split.texts)
            ),
            name,
        )


def test_pipelines_inside_a_users_grid_search_and_cross_validate():
    split = toy_split(4)
    search = GridSearchCV(
        make_lr_pipeline(), RECIPES["lr"].param_grid, cv=KFold(2), scoring="f1_macro"
    )
    search.fit(split.texts, split.labels)
    assert set(search.best_params_) == {"clf__estimator__C", "clf__estimator__l1_ratio"}
    assert search.predict(["so happy"]).tolist() == [[0, 0, 1]]
    scores = cross_validate(
        make_nb_pipeline(), split.texts, split.labels, cv=KFold(2), scoring="f1_micro"
    )
    assert scores["test_score"].shape == (2,)
    assert np.all(scores["test_score"] > 0.5)


def test_unknown_recipe():
    import pytest

    from emoclassic.errors import UsageError

    with pytest.raises(UsageError, match="unknown recipe 'svm'; choose from best, lr, nb"):
        get_recipe("svm")


@pytest.mark.parametrize("name", list(RECIPES))
def test_every_recipe_builder_takes_the_seed(name):
    import inspect

    assert "random_state" in inspect.signature(RECIPES[name].build).parameters
    params = RECIPES[name].make(random_state=7).get_params()
    seeds = {value for key, value in params.items() if key.endswith("random_state")}
    assert seeds == (set() if name == "nb" else {7})


def test_a_builder_bug_is_not_swallowed():
    def broken(*, random_state=42):
        return len(None)  # a TypeError inside the builder

    recipe = Recipe(name="broken", summary="", build=broken, param_grid={})
    with pytest.raises(TypeError, match="NoneType"):
        recipe.make(random_state=1)
