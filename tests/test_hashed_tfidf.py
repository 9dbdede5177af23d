"""The hashed n-gram features against scikit-learn's own analyzers and vectorizer."""

from __future__ import annotations

import pickle
import random
from collections import Counter

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer

from emoclassic import fastpredict
from emoclassic.datasets import load_goemotions
from emoclassic.fastpredict import fold_linear
from emoclassic.features import TOKEN_PATTERN
from emoclassic.hashed_tfidf import HashedTfidfVectorizer, count_columns
from emoclassic.nblr import NBLogisticBlend
from emoclassic.ngram_hashing import hash_ngrams, string_hash, word_ngram_hash
from emoclassic.pipelines import make_best_pipeline

# Whitespace of several kinds (tab, newline, no-break, ideographic, U+001C, U+0085),
# punctuation, emoji, accents, a character whose lower case is two code points,
# other scripts and a lone surrogate.
ALPHABET = "aB é_ü!?.,\t\n\u00a0\u3000日本語😂İẞ\x1c\x85'-0"
EDGE_CASES = ["", " ", "a", "  a  b  ", "İstanbul", "\ud800x y", "!!!", "so happy!! :(", "ab\tcd"]


def _random_texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 30))) for _ in range(n)]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return [*load_goemotions().test.texts[:300], *_random_texts(700), *EDGE_CASES]


def _reference(analyzer: str, ngram_range, texts):
    options = {"token_pattern": TOKEN_PATTERN} if analyzer == "word" else {}
    vectorizer = TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range, **options)
    analyze = vectorizer.build_analyzer()
    if analyzer == "word":
        return [Counter(word_ngram_hash(g.split(" ")) for g in analyze(t)) for t in texts]
    return [Counter(string_hash(g) for g in analyze(t)) for t in texts]


@pytest.mark.parametrize(
    ("analyzer", "ngram_range"),
    [
        ("word", (1, 1)),
        ("word", (1, 3)),
        ("word", (2, 2)),
        ("char_wb", (2, 5)),
        ("char_wb", (3, 3)),
        ("char_wb", (4, 6)),  # a padded word shorter than 4 is one n-gram
    ],
)
def test_hashes_are_exactly_sklearns_ngrams(texts, analyzer, ngram_range):
    batch = hash_ngrams(texts, analyzer, ngram_range)
    expected = _reference(analyzer, ngram_range, texts)
    for row, text in enumerate(texts):
        assert Counter(batch.hashes[batch.rows == row].tolist()) == expected[row], repr(text)
    # Each occurrence names its n-gram as scikit-learn spells it.
    for k in range(0, len(batch.rows), 53):
        name = batch.name(k)
        own = word_ngram_hash(name.split(" ")) if analyzer == "word" else string_hash(name)
        assert own == int(batch.hashes[k])


def test_hashing_rejects_unknown_analyzers_and_char_unigrams():
    with pytest.raises(ValueError, match="analyzer"):
        hash_ngrams(["a"], "char", (1, 2))
    with pytest.raises(ValueError, match="n = 2"):
        hash_ngrams(["a"], "char_wb", (1, 2))
    with pytest.raises(ValueError, match="low <= high"):
        hash_ngrams(["a"], "word", (3, 2))


@pytest.mark.parametrize(
    ("analyzer", "ngram_range"), [("word", (1, 2)), ("char_wb", (2, 5)), ("char_wb", (4, 5))]
)
def test_vectorizer_equals_tfidf_vectorizer(analyzer, ngram_range):
    data = load_goemotions()
    # Ends with an empty text: a last row without n-grams.
    train, test = list(data.train.texts[:3000]), [*data.test.texts[:500], *EDGE_CASES, ""]
    options = {"token_pattern": TOKEN_PATTERN} if analyzer == "word" else {}
    common = {"ngram_range": ngram_range, "min_df": 2, "sublinear_tf": True}
    sklearn_vectorizer = TfidfVectorizer(analyzer=analyzer, **options, **common).fit(train)
    ours = HashedTfidfVectorizer(analyzer=analyzer, dtype=np.float64, **common).fit(train)
    names = ours.get_feature_names_out()
    assert set(names) == set(sklearn_vectorizer.vocabulary_)
    order = [sklearn_vectorizer.vocabulary_[name] for name in names]
    np.testing.assert_allclose(ours.idf_, sklearn_vectorizer.idf_[order], rtol=1e-12)
    expected = sklearn_vectorizer.transform(test)[:, order].toarray()
    got = ours.transform(test)
    np.testing.assert_allclose(got.toarray(), expected, rtol=0, atol=1e-12)
    for row, text in enumerate(test[:200]):  # one text: the dictionary path, same numbers
        columns, values = ours.transform_one(text)
        np.testing.assert_array_equal(columns, got[row].indices)
        np.testing.assert_allclose(values, got[row].data, rtol=1e-15)  # norms summed in 2 ways


def test_frequent_words_are_counted_and_cached_as_the_dictionary_spells_them():
    texts = ["Happy happy day", "day of joy :)", "sad DAY"]
    vectorizer = HashedTfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 3), min_df=1, n_frequent_words=2
    )
    vectorizer.fit(texts)
    assert vectorizer.frequent_words_.tolist() == ["day", "happy"]  # 3 and 2 occurrences
    assert HashedTfidfVectorizer(min_df=1).fit(texts).frequent_words_.tolist() == []  # word
    data = load_goemotions()
    train, test = list(data.train.texts[:2000]), list(data.test.texts[:300])
    common = {"analyzer": "char_wb", "ngram_range": (2, 5), "dtype": np.float64}
    cached = HashedTfidfVectorizer(**common, n_frequent_words=5000).fit(train)
    uncached = HashedTfidfVectorizer(**common, n_frequent_words=0).fit(train)
    assert len(cached.frequent_words_) == 5000 and len(uncached.frequent_words_) == 0
    for text in test:  # precomputed columns and dictionary look-ups give the same row
        np.testing.assert_array_equal(
            cached.transform_one(text)[0], uncached.transform_one(text)[0]
        )
        np.testing.assert_array_equal(
            cached.transform_one(text)[1], uncached.transform_one(text)[1]
        )


def test_max_features_keeps_the_most_frequent_ngrams():
    texts = ["a a a b", "a b b c", "c d", "d e", "e"]
    vectorizer = HashedTfidfVectorizer(min_df=1, max_features=2, ngram_range=(1, 1)).fit(texts)
    assert sorted(vectorizer.get_feature_names_out()) == ["a", "b"]  # counts 4, 3 (c, d, e: 2)
    with pytest.raises(ValueError, match="min_df=3"):
        HashedTfidfVectorizer(min_df=3).fit(["a", "b"])
    with pytest.raises(ValueError, match="ngram_range"):
        HashedTfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3)).fit(["a"])
    with pytest.raises(ValueError, match="single string"):
        HashedTfidfVectorizer().fit("a text, not a list")


@pytest.mark.parametrize("analyzer", ["word", "char_wb"])
def test_refitting_forgets_what_the_previous_fit_cached(analyzer):
    options = {"analyzer": analyzer, "ngram_range": (2, 3) if analyzer == "char_wb" else (1, 2)}
    vectorizer = HashedTfidfVectorizer(min_df=1, **options).fit(["a b", "b c"])
    vectorizer.transform(["a b c x", "b"])  # builds the hash table
    vectorizer.transform(["a b"])  # builds the dictionary and the word cache
    second = ["x y", "y z", "a"]
    vectorizer.fit(second)
    fresh = HashedTfidfVectorizer(min_df=1, **options).fit(second)
    for probe in (["x y z"], ["x y z", "a"]):  # one text, and a batch
        np.testing.assert_array_equal(
            vectorizer.transform(probe).toarray(), fresh.transform(probe).toarray()
        )


def test_count_columns_counts_each_distinct_column():
    distinct, counts = count_columns(np.array([5, 1, 5, 5, 2]))
    assert distinct.tolist() == [1, 2, 5] and counts.tolist() == [1.0, 1.0, 3.0]
    distinct, counts = count_columns(np.array([], dtype=np.intp))
    assert distinct.tolist() == [] and counts.tolist() == []


def test_vectorizer_pickles_without_its_caches_and_clones():
    vectorizer = HashedTfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=1)
    vectorizer.fit(["happy day", "sad day"])
    before = vectorizer.transform(["happy", "a happy day!"]).toarray()
    vectorizer.transform_one("happy")  # fills the word cache and the dictionary
    state = vectorizer.__getstate__()
    assert not {"_vocabulary_cache", "_word_cache", "_index_cache"} & set(state)
    restored = pickle.loads(pickle.dumps(vectorizer))
    np.testing.assert_array_equal(restored.transform(["happy", "a happy day!"]).toarray(), before)
    assert clone(vectorizer).get_params() == vectorizer.get_params()


def test_quantized_blend_is_its_own_saved_form():
    rng = np.random.RandomState(0)
    X = np.abs(rng.randn(200, 30))
    y = (X[:, 0] + X[:, 1] > 1.6).astype(int)
    exact = NBLogisticBlend(random_state=0).fit(X, y)
    rounded = NBLogisticBlend(random_state=0, quantize=True).fit(X, y)
    scale = np.abs(exact.coef_).max() / 127
    assert len(np.unique(rounded.coef_)) <= 255
    assert np.abs(rounded.coef_ - exact.coef_).max() <= scale / 2 * (1 + 1e-6)
    restored = pickle.loads(pickle.dumps(rounded))
    np.testing.assert_array_equal(restored.coef_, rounded.coef_)
    assert restored.coef_.dtype == np.float32
    assert rounded.__getstate__()["coef_"][0].dtype == np.int8  # saved as int8 levels
    assert "coef_" in rounded.__dict__ and rounded.coef_.dtype == np.float32  # unchanged in memory


def test_fast_path_matches_the_pipeline_alone_and_on_threads(monkeypatch):
    data = load_goemotions()
    pipe = make_best_pipeline().fit(list(data.train.texts[:4000]), data.train.labels[:4000])
    fast = fold_linear(pipe)
    probe = list(data.test.texts[:600])
    expected = pipe.predict_proba(probe)
    np.testing.assert_allclose(fast.predict_proba(probe), expected, rtol=0, atol=1e-6)
    monkeypatch.setattr(fastpredict, "THREAD_CHUNK", 64)  # ten chunks on two threads
    threaded = fastpredict.LinearTextModel(
        fast.blocks, fast.coef, fast.intercept, fast.kind, n_threads=2
    )
    np.testing.assert_allclose(threaded.predict_proba(probe), expected, rtol=0, atol=1e-6)
    for text in probe[:100]:
        np.testing.assert_allclose(
            fast.predict_proba([text]), expected[probe.index(text)][None], rtol=0, atol=1e-6
        )
