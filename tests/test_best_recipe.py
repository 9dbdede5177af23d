from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from joblib import parallel_config
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline

from conftest import toy_split
from emoclassic.features import TOKEN_PATTERN, word_char_tfidf
from emoclassic.nblr import NBLogisticBlend, log_count_ratio
from emoclassic.pipelines import RECIPES, make_best_pipeline
from emoclassic.training import FitSettings, fit_model

# scikit-learn's common checks (NBLogisticBlend, SortedCSR) run in
# tests/test_estimator_checks.py.


@pytest.mark.parametrize("dual", [True, False])
def test_blend_folds_both_models_into_one_weight_vector(dual):
    rng = np.random.RandomState(0)
    X = sp.random(80, 12, density=0.3, random_state=rng, format="csr")
    y = (np.asarray(X[:, :3].sum(axis=1)).ravel() > 0.4).astype(int)
    blend = NBLogisticBlend(nb_weight=0.25, dual=dual, random_state=0).fit(X, y)
    settings = {"solver": "liblinear", "random_state": 0, "max_iter": 1000, "dual": dual}
    plain = LogisticRegression(**settings).fit(X, y)
    ratio = log_count_ratio(X, y)
    nb = LogisticRegression(**settings).fit(sp.csr_matrix(X.multiply(ratio)), y)
    expected = 0.75 * plain.decision_function(X) + 0.25 * nb.decision_function(
        sp.csr_matrix(X.multiply(ratio))
    )
    np.testing.assert_allclose(blend.decision_function(X), expected, atol=1e-5)
    assert blend.coef_.dtype == np.float32 and blend.coef_.shape == (1, 12)
    proba = blend.predict_proba(X)[:, 1]
    np.testing.assert_allclose(proba, 1 / (1 + np.exp(-blend.decision_function(X))))


def test_log_count_ratio_exact_values():
    X = sp.csr_matrix([[2.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 3.0, 1.0]])
    r = log_count_ratio(X, np.array([1, 1, 0]), alpha=1.0)
    # p = 1 + [2, 0, 1] -> [3, 1, 2] / 6 ; q = 1 + [0, 1, 1] -> [1, 2, 2] / 5
    np.testing.assert_allclose(r, np.log([(3 / 6) / (1 / 5), (1 / 6) / (2 / 5), (2 / 6) / (2 / 5)]))


def test_token_pattern_keeps_punctuation_emoji_and_other_scripts():
    import re

    assert re.findall(TOKEN_PATTERN, "großartig!!! 😍") == ["großartig", "!", "!", "!", "😍"]
    assert re.findall(TOKEN_PATTERN, "ужасно :(") == ["ужасно", ":", "("]
    union = word_char_tfidf(min_df=1).fit(["これは最高です！", "ужасно :("])
    assert "これは最高です" in union.named_transformers["word"].get_feature_names_out()


def test_best_recipe_shape_and_defaults():
    recipe = RECIPES["best"]
    assert recipe.search_by_default is False
    pipe = recipe.make()
    assert [name for name, _ in pipe.steps] == ["features", "sort", "clf"]
    word = pipe.named_steps["features"].transformer_list[0][1]
    char = pipe.named_steps["features"].transformer_list[1][1]
    assert (word.ngram_range, word.sublinear_tf, word.min_df) == ((1, 2), True, 2)
    assert (char.analyzer, char.ngram_range) == ("char_wb", (2, 5))
    assert (word.max_features, char.max_features) == (30000, 40000)
    classifier = pipe.named_steps["clf"].estimator.get_params()
    assert (classifier["nb_weight"], classifier["quantize"]) == (0.5, True)
    assert clone(pipe).get_params().keys() == pipe.get_params().keys()


def _fit(pipe, split):
    with parallel_config(max_nbytes=1):  # memory-map every array, as large data would be
        return pipe.fit(split.texts, split.labels)


def test_n_jobs_2_with_feature_union_works_and_matches_sequential():
    split = toy_split(4)
    parallel = _fit(make_best_pipeline(min_df=1, n_jobs=2), split)
    sequential = make_best_pipeline(min_df=1).fit(split.texts, split.labels)
    np.testing.assert_allclose(
        parallel.predict_proba(split.texts), sequential.predict_proba(split.texts), atol=1e-6
    )


def test_the_trap_is_real_without_sorted_indices():
    # scikit-learn's vectorizers emit unsorted indices; the hashed ones sort theirs,
    # and SortedCSR keeps the recipe safe whichever features it is given.
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    split = toy_split(4)
    union = FeatureUnion(
        [("word", TfidfVectorizer()), ("char", TfidfVectorizer(analyzer="char_wb"))]
    )
    clf = make_best_pipeline(min_df=1, n_jobs=2).steps[2]
    with pytest.raises(ValueError, match="WRITEBACKIFCOPY base is read-only"):
        _fit(Pipeline([("features", union), clf]), split)
    assert make_best_pipeline(min_df=1).steps[0][1].fit_transform(split.texts).has_sorted_indices


def test_fit_best_uses_no_grid_by_default_and_can_search(toy_dataset):
    settings = FitSettings(progress=False, n_jobs=2)
    model = fit_model("best", toy_dataset, settings)
    assert model.metadata["search"] == {"searched": False}
    assert model.estimator.estimator_.named_steps["clf"].n_jobs is None
    assert model.predict(["so scared now"]).tolist() == [[0, 1, 0]]
    searched = fit_model("best", toy_dataset, FitSettings(progress=False, search=True, cv=2))
    assert len(searched.metadata["search"]["candidates"]) == 6


def test_ovr_of_blend_is_a_plain_sklearn_estimator():
    split = toy_split(4)
    ovr = OneVsRestClassifier(NBLogisticBlend()).fit(
        word_char_tfidf(min_df=1).fit_transform(split.texts), split.labels
    )
    assert len(ovr.estimators_) == 3


def test_dual_and_primal_solvers_find_the_same_model():
    rng = np.random.RandomState(1)
    X = sp.random(60, 300, density=0.05, random_state=rng, format="csr")  # more features than rows
    y = (np.asarray(X[:, :20].sum(axis=1)).ravel() > 0.2).astype(int)
    dual = NBLogisticBlend(dual=True, random_state=0).fit(X, y)
    primal = NBLogisticBlend(dual=False, random_state=0).fit(X, y)
    np.testing.assert_allclose(dual.decision_function(X), primal.decision_function(X), atol=1e-3)
