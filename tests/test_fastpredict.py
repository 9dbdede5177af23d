from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import MaxAbsScaler
from sklearn.svm import LinearSVC

from conftest import LABELS, toy_split
from emoclassic.fastpredict import SMALL_BATCH, fold_linear
from emoclassic.model import SklearnEmotionModel
from emoclassic.nblr import NBLogisticBlend
from emoclassic.pipelines import make_best_pipeline, make_lr_pipeline, make_nb_pipeline
from emoclassic.thresholds import PerLabelThresholdClassifier

PROBES = [
    "so happy today",
    "angry and scared of the dark",
    "nothing in the vocabulary here",
    "",
    "Happy HAPPY happy joy joy!",
]


def _assert_same_scores(pipe, texts, atol=1e-9):
    fast = fold_linear(pipe)
    assert fast is not None
    expected = pipe.predict_proba(texts)
    np.testing.assert_allclose(fast.predict_proba(texts), expected, rtol=0, atol=atol)
    for text in texts[:50]:  # the single-text (dict) path
        np.testing.assert_allclose(
            fast.predict_proba([text]), pipe.predict_proba([text]), rtol=0, atol=atol
        )
    return fast


@pytest.fixture(scope="module")
def toy():
    split = toy_split(4)
    return split.texts, split.labels


@pytest.mark.parametrize(
    "build",
    [
        make_lr_pipeline,
        lambda: make_lr_pipeline(C=10.0, l1_ratio=1.0),
        make_nb_pipeline,
        lambda: Pipeline(
            [
                (
                    "features",
                    FeatureUnion(
                        [
                            ("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4))),
                            ("count", CountVectorizer(binary=True)),
                        ],
                        transformer_weights={"char": 0.5},
                    ),
                ),
                ("clf", OneVsRestClassifier(LogisticRegression(max_iter=500))),
            ]
        ),
        lambda: Pipeline(
            [
                ("tfidf", TfidfVectorizer(norm="l1", use_idf=False)),
                ("clf", OneVsRestClassifier(LogisticRegression())),
            ]
        ),
        lambda: make_best_pipeline(min_df=1),
    ],
    ids=["lr-l2", "lr-l1", "nb", "union", "l1-norm-no-idf", "best"],
)
def test_folded_scores_match_sklearn_on_toy_data(toy, build):
    texts, labels = toy
    pipe = build().fit(texts, labels)
    # The best recipe multiplies float32 features by float32 weights; the fast path
    # sums the same products in another order, so scores agree to float32 rounding.
    float32 = isinstance(pipe[-1].estimators_[0], NBLogisticBlend)
    fast = _assert_same_scores(pipe, [*PROBES, *texts], atol=1e-6 if float32 else 1e-12)
    assert fast.coef.shape == (len(fast.feature_names()), 3)
    # float32 only where scikit-learn itself multiplies in float32 (the best recipe).
    binary_coef = getattr(pipe[-1].estimators_[0], "coef_", np.zeros(1))
    assert fast.coef.dtype == (np.float32 if binary_coef.dtype == np.float32 else np.float64)


def test_decision_function_is_the_binary_models_log_odds(toy):
    texts, labels = toy
    pipe = make_lr_pipeline().fit(texts, labels)
    fast = fold_linear(pipe)
    X = pipe[0].transform(PROBES)
    expected = np.column_stack([e.decision_function(X) for e in pipe[-1].estimators_])
    np.testing.assert_allclose(fast.decision_function(PROBES), expected, rtol=0, atol=1e-12)
    for k in (1, SMALL_BATCH, SMALL_BATCH + 1):  # both vectorisation paths
        np.testing.assert_allclose(
            fast.transform(texts[:k]).toarray(), pipe[0].transform(texts[:k]).toarray(), atol=1e-15
        )


@pytest.mark.filterwarnings("ignore:Label not 3 is present in all training examples")
def test_constant_label_stays_exact(toy):
    texts, labels = toy
    labels = np.column_stack([labels, np.zeros(len(texts), np.uint8)])  # never positive
    pipe = make_lr_pipeline().fit(texts, labels)
    fast = _assert_same_scores(pipe, PROBES, atol=1e-12)
    assert fast.intercept[-1] == -np.inf
    assert fast.predict_proba(PROBES)[:, -1].tolist() == [0.0] * len(PROBES)


def test_threshold_wrapper_and_emotion_model_use_the_fast_path(toy, monkeypatch):
    texts, labels = toy
    tuned = PerLabelThresholdClassifier(make_lr_pipeline().fit(texts, labels), cv="prefit")
    tuned.fit(texts, labels)
    model = SklearnEmotionModel(tuned, LABELS)
    assert model.linear is not None and model.linear.kind == "logistic_regression"
    slow = SklearnEmotionModel(tuned, LABELS, fast=False)
    np.testing.assert_allclose(model.predict_proba(PROBES), slow.predict_proba(PROBES), atol=1e-12)

    def refuse(*args, **kwargs):
        raise AssertionError("the scikit-learn path was used")

    monkeypatch.setattr(type(tuned), "predict_proba", refuse)
    model.predict_proba(PROBES)  # does not touch the estimator
    assert "linear" in model.__dict__  # built once, then kept
    copy = pickle.loads(pickle.dumps(model))
    assert "linear" not in copy.__dict__  # the folded copy is not stored
    assert copy.predict_emotions(["so happy"]) == model.predict_emotions(["so happy"])


@pytest.mark.parametrize(
    "pipe",
    [
        Pipeline(
            [
                ("tfidf", TfidfVectorizer()),
                ("scale", MaxAbsScaler()),
                ("clf", OneVsRestClassifier(LogisticRegression())),
            ]
        ),
        Pipeline([("tfidf", TfidfVectorizer()), ("clf", OneVsRestClassifier(LinearSVC()))]),
    ],
    ids=["three-steps", "svm"],
)
def test_unrecognised_structures_fall_back(toy, pipe):
    texts, labels = toy
    pipe.fit(texts, labels)
    assert fold_linear(pipe) is None
    model = SklearnEmotionModel(pipe, LABELS, [0.5] * 3)
    assert model.linear is None
    if hasattr(pipe, "predict_proba"):
        np.testing.assert_array_equal(model.predict_proba(PROBES), pipe.predict_proba(PROBES))


def test_goemotions_limit_model_matches_to_1e9():
    from emoclassic.datasets import load_goemotions

    ds = load_goemotions()
    train = ds.train
    for pipe, atol in (
        (make_lr_pipeline(C=10.0, l1_ratio=0.0), 1e-9),
        (make_nb_pipeline(alpha=0.1), 1e-9),
        (make_best_pipeline(), 1e-6),  # float32 products, summed in another order
    ):
        pipe.fit(train.texts[:1500], train.labels[:1500])
        _assert_same_scores(pipe, ds.validation.texts[:2000], atol=atol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sublinear_tf", [True, False])
def test_single_text_kernel_compiled_equals_its_python_form(dtype, sublinear_tf):
    from emoclassic.single_text_kernel import compiled_score_columns, score_columns

    kernel = compiled_score_columns()
    assert kernel is not None  # numba is a dependency
    rng = np.random.default_rng(0)
    n_features, n_labels = 50, 6
    coef = rng.normal(size=(n_features, n_labels)).astype(dtype)
    args = (
        np.array([20, 35, 50]),
        np.array([1.0, 0.5, 2.0]),
        rng.uniform(1.0, 4.0, n_features),
        sublinear_tf,
        coef,
        np.array([0.0, 1.0, -1.0, np.inf, -np.inf, 0.25]),
    )
    for size in (0, 1, 7, 200):
        columns = rng.integers(0, n_features, size)
        marks = np.zeros(n_features, dtype=np.int32)
        compiled = kernel(columns.copy(), marks, *args)
        python = score_columns(columns.copy(), marks, *args)
        np.testing.assert_allclose(compiled, python, rtol=1e-12, atol=1e-12)
        assert not marks.any()  # the scratch counters are left at zero
        # Against the dense formula: per-block l2-normalised, weighted sublinear tf-idf.
        counts = np.bincount(columns, minlength=n_features).astype(float)
        tf = np.where(counts > 0, np.log(np.maximum(counts, 1)) + 1, 0) if sublinear_tf else counts
        x = tf * args[2]
        for start, end, weight in ((0, 20, 1.0), (20, 35, 0.5), (35, 50, 2.0)):
            norm = np.linalg.norm(x[start:end])
            x[start:end] *= weight / norm if norm else 1.0
        expected = x @ coef.astype(float) + args[5]
        np.testing.assert_allclose(compiled, expected, rtol=1e-5, atol=1e-5)


def test_hashed_single_texts_use_the_kernel_from_the_second_text(toy, monkeypatch):
    import emoclassic.single_text_kernel as kernels

    texts, labels = toy
    pipe = make_best_pipeline().fit(texts, labels)
    calls = []
    compiled = kernels.compiled_score_columns()

    def counting(*args):
        calls.append(len(args[0]))
        return compiled(*args)

    monkeypatch.setattr(kernels, "compiled_score_columns", lambda: counting)
    fast = fold_linear(pipe)
    first = fast.predict_proba([PROBES[0]])  # one text and exit: no numba
    assert calls == []
    for text in PROBES:
        np.testing.assert_allclose(
            fast.predict_proba([text]), pipe.predict_proba([text]), rtol=0, atol=1e-6
        )
    assert len(calls) == len(PROBES)
    np.testing.assert_allclose(fast.predict_proba([PROBES[0]]), first, rtol=0, atol=1e-6)
    # Without numba the NumPy path answers every text.
    monkeypatch.setattr(kernels, "compiled_score_columns", lambda: None)
    np.testing.assert_allclose(
        fold_linear(pipe).predict_proba(PROBES[-1:]), pipe.predict_proba(PROBES[-1:]), atol=1e-6
    )


def test_warm_up_readies_the_compiled_single_text_scorer(toy):
    texts, labels = toy
    model = SklearnEmotionModel(make_best_pipeline().fit(texts, labels), LABELS, [0.5] * 3)
    assert model.linear._single_text_kernel_ready() is False
    model.warm_up()
    assert model.linear._single_text_kernel_ready() is True
