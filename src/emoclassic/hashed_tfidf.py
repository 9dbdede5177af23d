"""TF-IDF over hashed n-grams: the features of ``TfidfVectorizer``, computed in NumPy.

:class:`HashedTfidfVectorizer` gives the same kind of matrix as
``TfidfVectorizer(analyzer=..., sublinear_tf=True, min_df=...)``, but finds
each n-gram's column by its 64-bit hash (:mod:`emoclassic.ngram_hashing`)
instead of building a string and a dictionary lookup per n-gram. Batches are
featurised with whole-array operations; a single text takes a dictionary path
that avoids the fixed cost of array and sparse-matrix set-up.

The fitted vectorizer stores the n-grams it kept (``feature_names_``, for
explanations), their hashes and their idf weights. Nothing else: no
dictionary and no list of dropped n-grams is saved.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from emoclassic._sklearn_compat import Interval, StrOptions, _fit_context
from emoclassic.ngram_hashing import ANALYZERS, TOKEN_PATTERN, check_ngram_range, hash_ngrams

__all__ = ["HashedTfidfVectorizer", "count_columns", "normalize_row", "tfidf_values"]

#: Texts featurised per array pass (bounds the memory of a pass).
CHUNK_SIZE = 4096
_TOKEN = re.compile(TOKEN_PATTERN)
#: Attributes derived from the fitted ones on first use: never saved, dropped by ``fit``.
_CACHES = ("_vocabulary_cache", "_index_cache", "_word_cache")

#: Words whose ``char_wb`` columns :meth:`HashedTfidfVectorizer.transform_one` remembers
#: (besides ``frequent_words_``, which it computes ahead).
WORD_CACHE_SIZE = 100_000


class HashedTfidfVectorizer(TransformerMixin, BaseEstimator):
    """Word or ``char_wb`` n-gram TF-IDF (l2-normalised) with hashed look-up.

    Parameters
    ----------
    analyzer : {"word", "char_wb"}, default="word"
        ``"word"``: n-grams of :data:`~emoclassic.ngram_hashing.TOKEN_PATTERN`
        tokens; ``"char_wb"``: character n-grams inside space-padded words.
    ngram_range : tuple of int, default=(1, 2)
        Smallest and largest n (``char_wb`` starts at 2).
    lowercase : bool, default=True
        Lower-case texts before analysis.
    min_df : int, default=2
        Keep n-grams that occur in at least this many training texts.
    max_features : int or None, default=None
        Keep at most this many n-grams, the most frequent in the training
        texts (ties broken by hash).
    sublinear_tf : bool, default=True
        Use ``1 + log(tf)`` instead of the raw count.
    dtype : {numpy.float32, numpy.float64}, default=numpy.float32
        Type of the output matrix.
    n_frequent_words : int, default=20000
        ``char_wb`` only: keep this many of the most frequent training words
        (whitespace-separated, as the analyzer splits), so that a single
        text's columns come from a cache of their n-gram columns, filled in one
        array pass on first use, instead of one dictionary look-up per n-gram.
        Costs about 3 bytes per word in a compressed model file; 0 turns it off.

    Attributes
    ----------
    feature_names_ : ndarray of str
        The kept n-grams, in column order, spelt as scikit-learn's analyzer spells them.
    hashes_ : ndarray of uint64
        Their hashes, sorted (column ``j`` is the n-gram with the ``j``-th smallest hash),
        looked up through a ``pandas.Index`` hash table.
    idf_ : ndarray of float64
        Smoothed inverse document frequencies, ``log((1 + n) / (1 + df)) + 1``.
    frequent_words_ : ndarray of str
        The ``n_frequent_words`` most frequent training words (``char_wb``; empty
        for ``word``), most frequent first.

    Examples
    --------
    >>> texts = ["so happy!!", "so sad", "happy happy day", "sad day :("]
    >>> vectorizer = HashedTfidfVectorizer(min_df=2).fit(texts)
    >>> sorted(vectorizer.get_feature_names_out().tolist())  # in two texts or more
    ['day', 'happy', 'sad', 'so']
    >>> X = vectorizer.transform(["happy day!"])
    >>> X.shape, round(float((X.multiply(X)).sum()), 6)
    ((1, 4), 1.0)
    """

    _parameter_constraints: dict = {
        "analyzer": [StrOptions(set(ANALYZERS))],
        "ngram_range": [tuple],
        "lowercase": ["boolean"],
        "min_df": [Interval(Integral, 1, None, closed="left")],
        "max_features": [Interval(Integral, 1, None, closed="left"), None],
        "sublinear_tf": ["boolean"],
        "dtype": "no_validation",
        "n_frequent_words": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        analyzer: str = "word",
        ngram_range: tuple[int, int] = (1, 2),
        lowercase: bool = True,
        min_df: int = 2,
        max_features: int | None = None,
        sublinear_tf: bool = True,
        dtype=np.float32,
        n_frequent_words: int = 20_000,
    ):
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.lowercase = lowercase
        self.min_df = min_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.dtype = dtype
        self.n_frequent_words = n_frequent_words

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the kept n-grams and their idf from the training texts.

        Parameters
        ----------
        X : iterable of str
            Training texts.
        y : None
            Ignored.

        Returns
        -------
        self : HashedTfidfVectorizer
            The fitted vectorizer.
        """
        texts = _texts(X)
        check_ngram_range(self.analyzer, self.ngram_range)
        for cache in _CACHES:  # derived from the previous fit, if any
            self.__dict__.pop(cache, None)
        hashes, document_frequency, term_frequency = self._count(texts)
        keep = document_frequency >= self.min_df
        if self.max_features is not None and keep.sum() > self.max_features:
            candidates = np.flatnonzero(keep)
            order = np.lexsort((hashes[candidates], -term_frequency[candidates]))
            keep = np.zeros_like(keep)
            keep[candidates[order[: self.max_features]]] = True
        if not keep.any():
            raise ValueError(
                f"no n-gram occurs in at least min_df={self.min_df} of the {len(texts)} texts"
            )
        self.hashes_ = hashes[keep]
        self.idf_ = np.log((1.0 + len(texts)) / (1.0 + document_frequency[keep])) + 1.0
        self.feature_names_ = self._names(texts)
        self.frequent_words_ = self._frequent_words(texts)
        return self

    def fit_transform(self, X, y=None):
        """Fit, then return the training texts' TF-IDF matrix."""
        texts = _texts(X)
        return self.fit(texts).transform(texts)

    def transform(self, X):
        """Return the ``(n_texts, n_features)`` l2-normalised TF-IDF matrix (CSR).

        Parameters
        ----------
        X : iterable of str
            Texts.

        Returns
        -------
        scipy.sparse.csr_matrix
        """
        check_is_fitted(self)
        texts = _texts(X)
        if len(texts) == 1:
            indices, values = self.transform_one(texts[0])
            indptr = np.array([0, len(indices)])
            return sp.csr_matrix((values, indices, indptr), shape=(1, len(self.hashes_)))
        parts = [
            self._transform_chunk(texts[start : start + CHUNK_SIZE])
            for start in range(0, len(texts), CHUNK_SIZE)
        ]
        if not parts:
            return sp.csr_matrix((0, len(self.hashes_)), dtype=self.dtype)
        return parts[0] if len(parts) == 1 else sp.vstack(parts, format="csr")

    def transform_one(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """One text's non-zero columns (sorted) and TF-IDF values, without sparse matrices.

        The values are :meth:`transform`'s for a batch, up to the last bit of the
        float64 norm (summed in another order) before the cast to ``dtype``.

        Examples
        --------
        >>> vectorizer = HashedTfidfVectorizer(min_df=1).fit(["a b", "b c"])
        >>> columns, values = vectorizer.transform_one("b b")
        >>> vectorizer.feature_names_[columns].tolist(), values.tolist()
        (['b'], [1.0])
        """
        columns, counts = count_columns(self.ngram_columns(text))
        values = tfidf_values(counts, self.idf_[columns], self.sublinear_tf)
        normalize_row(values)
        return columns, values.astype(self.dtype)

    def ngram_columns(self, text: str) -> np.ndarray:
        """Return the column of every kept n-gram occurrence in ``text`` (repeats included).

        Examples
        --------
        >>> vectorizer = HashedTfidfVectorizer(min_df=1).fit(["a b", "b c"])
        >>> vectorizer.feature_names_[vectorizer.ngram_columns("b b x")].tolist()
        ['b', 'b']
        """
        if "hashes_" not in self.__dict__:  # check_is_fitted costs more than the rest
            check_is_fitted(self)
        if self.analyzer == "char_wb":
            text = text.lower() if self.lowercase else text
            words = text.split()
            if not words:
                return np.zeros(0, dtype=np.intp)
            parts = list(map(self._word_column_cache().get, words))
            for k, part in enumerate(parts):
                if part is None:
                    parts[k] = self._word_columns(words[k])
            return np.concatenate(parts)
        tokens = _TOKEN.findall(text.lower() if self.lowercase else text)
        low, high = self.ngram_range
        grams = tokens if low == 1 else []
        for n in range(max(low, 2), high + 1):
            grams = grams + list(map(" ".join, zip(*(tokens[k:] for k in range(n)), strict=False)))
        vocabulary = self._vocabulary()
        found = [j for j in map(vocabulary.get, grams) if j is not None]
        return np.array(found, dtype=np.intp)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Return the kept n-grams, in column order."""
        check_is_fitted(self)
        return np.asarray(self.feature_names_, dtype=object)

    def _hash(self, texts: list[str]):
        return hash_ngrams(texts, self.analyzer, tuple(self.ngram_range), lowercase=self.lowercase)

    def _count(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every distinct hash with its document and total frequency."""
        found, documents, totals = [], [], []
        for start in range(0, len(texts), CHUNK_SIZE):
            batch = self._hash(texts[start : start + CHUNK_SIZE])
            unique, inverse = np.unique(batch.hashes, return_inverse=True)
            pairs = np.unique(batch.rows * len(unique) + inverse)
            found.append(unique)
            documents.append(np.bincount(pairs % len(unique), minlength=len(unique)))
            totals.append(np.bincount(inverse, minlength=len(unique)))
        if not found:
            return np.zeros(0, np.uint64), np.zeros(0, np.int64), np.zeros(0, np.int64)
        hashes, inverse = np.unique(np.concatenate(found), return_inverse=True)
        document_frequency = np.bincount(inverse, weights=np.concatenate(documents))
        term_frequency = np.bincount(inverse, weights=np.concatenate(totals))
        return hashes, document_frequency, term_frequency

    def _names(self, texts: list[str]) -> np.ndarray:
        """Spell each kept hash as its first occurrence in the texts."""
        names = np.empty(len(self.hashes_), dtype=object)
        index = self._index()
        missing = np.ones(len(self.hashes_), dtype=bool)
        for start in range(0, len(texts), CHUNK_SIZE):
            batch = self._hash(texts[start : start + CHUNK_SIZE])
            columns = index.get_indexer(batch.hashes)
            wanted = columns >= 0
            wanted[wanted] = missing[columns[wanted]]
            occurrences = np.flatnonzero(wanted)
            found, first = np.unique(columns[occurrences], return_index=True)
            for column, k in zip(found.tolist(), occurrences[first].tolist(), strict=True):
                names[column] = batch.name(k)
            missing[found] = False
            if not missing.any():
                break
        return names

    def _transform_chunk(self, texts: list[str]):
        batch = self._hash(texts)
        columns = self._index().get_indexer(batch.hashes)
        known = columns >= 0
        width = len(self.hashes_)
        # One key per occurrence, row-major: sorted, its distinct values are the cells.
        cells, counts = count_columns(batch.rows[known] * width + columns[known])
        rows, columns = np.divmod(cells, width)
        indptr = np.searchsorted(rows, np.arange(len(texts) + 1))
        values = tfidf_values(counts, self.idf_[columns], self.sublinear_tf)
        norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=len(texts)))
        values /= norms[rows]  # every row with a value has a positive norm
        return sp.csr_matrix(
            (values.astype(self.dtype), columns, indptr), shape=(len(texts), width)
        )

    def _index(self):
        """Return the hash table of ``hashes_``, built on first use and never saved."""
        index = self.__dict__.get("_index_cache")
        if index is None:
            index = self.__dict__["_index_cache"] = _hash_index(self.hashes_)
        return index

    def _vocabulary(self) -> dict[str, int]:
        """n-gram -> column, built on first use and never saved."""
        vocabulary = self.__dict__.get("_vocabulary_cache")
        if vocabulary is None:
            vocabulary = {name: j for j, name in enumerate(self.feature_names_)}
            self.__dict__["_vocabulary_cache"] = vocabulary
        return vocabulary

    def _word_column_cache(self) -> dict[str, np.ndarray]:
        """Word -> its ``char_wb`` columns; starts as ``frequent_words_``'s, never saved."""
        cache = self.__dict__.get("_word_cache")
        if cache is None or len(cache) >= WORD_CACHE_SIZE + len(self._frequent()):
            cache = self.__dict__["_word_cache"] = self._frequent_word_columns()
        return cache

    def _word_columns(self, word: str) -> np.ndarray:
        """Columns of one word's ``char_wb`` n-grams (cached: words repeat, n-grams follow)."""
        cache = self._word_column_cache()
        columns = cache.get(word)
        if columns is None:
            padded = f" {word} "
            grams = [padded[a:b] for a, b in _char_slices(len(padded), *self.ngram_range)]
            found = [j for j in map(self._vocabulary().get, grams) if j is not None]
            columns = cache[word] = np.array(found, dtype=np.intp)
        return columns

    def _frequent(self) -> np.ndarray:
        # A model saved before n_frequent_words existed has no frequent_words_.
        return getattr(self, "frequent_words_", np.zeros(0, dtype=str))

    def _frequent_words(self, texts: list[str]) -> np.ndarray:
        """Return the most frequent whitespace-separated words, as :meth:`ngram_columns` splits."""
        if self.analyzer != "char_wb" or not self.n_frequent_words:
            return np.zeros(0, dtype=str)
        counts = Counter(
            word for text in texts for word in (text.lower() if self.lowercase else text).split()
        )
        return np.array([word for word, _ in counts.most_common(self.n_frequent_words)], dtype=str)

    def _frequent_word_columns(self) -> dict[str, np.ndarray]:
        """``frequent_words_`` -> their n-gram columns, hashed in one array pass."""
        words = self._frequent().tolist()
        if not words:
            return {}
        batch = hash_ngrams(words, "char_wb", tuple(self.ngram_range), lowercase=False)
        columns = self._index().get_indexer(batch.hashes)
        known = columns >= 0
        rows, columns = batch.rows[known], columns[known]
        order = np.argsort(rows, kind="stable")
        ends = np.searchsorted(rows[order], np.arange(1, len(words)))
        parts = np.split(columns[order].astype(np.intp), ends)
        return dict(zip(words, parts, strict=True))

    def __getstate__(self):
        state = dict(super().__getstate__())
        for cache in _CACHES:
            state.pop(cache, None)
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags


def _texts(X) -> list[str]:
    if isinstance(X, str):
        raise ValueError("expected an iterable of texts, got a single string")
    texts = list(X)
    for text in texts:
        if not isinstance(text, str):
            raise ValueError(f"expected texts (str), got {type(text).__name__}")
    return texts


def count_columns(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct columns (sorted) and how often each occurs: ``np.unique``, minus its overhead.

    Sorts ``columns`` in place.

    Examples
    --------
    >>> distinct, counts = count_columns(np.array([7, 2, 7]))
    >>> distinct.tolist(), counts.tolist()
    ([2, 7], [1.0, 2.0])
    """
    columns.sort()
    first = np.empty(len(columns), dtype=bool)
    first[:1] = True
    np.not_equal(columns[1:], columns[:-1], out=first[1:])
    starts = first.nonzero()[0]
    counts = np.empty(len(starts), dtype=np.float64)
    counts[:-1] = starts[1:] - starts[:-1]
    counts[-1:] = len(columns) - starts[-1:]
    return columns[starts], counts


def tfidf_values(counts: np.ndarray, idf: np.ndarray, sublinear_tf: bool) -> np.ndarray:
    """TF-IDF of n-gram counts: ``(1 + log(count) if sublinear_tf else count) * idf``.

    Examples
    --------
    >>> tfidf_values(np.array([1.0, 2.0]), np.array([2.0, 1.0]), False).tolist()
    [2.0, 2.0]
    """
    return (np.log(counts) + 1.0 if sublinear_tf else counts) * idf


def normalize_row(values: np.ndarray) -> None:
    """Scale one row's values to unit l2 norm, in place (an all-zero row stays zero).

    Examples
    --------
    >>> row = np.array([3.0, 4.0])
    >>> normalize_row(row)
    >>> row.tolist()
    [0.6, 0.8]
    """
    norm = np.sqrt(np.dot(values, values))
    if norm > 0:
        values /= norm


@lru_cache(maxsize=256)
def _char_slices(length: int, low: int, high: int) -> tuple[tuple[int, int], ...]:
    """``(start, stop)`` of every n-gram of a padded word, n-major, as ``char_wb`` orders them.

    A word shorter than ``low`` is one n-gram, itself, as in scikit-learn.

    Examples
    --------
    >>> _char_slices(4, 2, 3)  # " ab ": " a", "ab", "b ", then " ab", "ab "
    ((0, 2), (1, 3), (2, 4), (0, 3), (1, 4))
    >>> _char_slices(3, 4, 5)
    ((0, 3),)
    """
    if low > length:
        return ((0, length),)
    return tuple(
        (start, start + n)
        for n in range(low, min(high, length) + 1)
        for start in range(length - n + 1)
    )


def _hash_index(hashes: np.ndarray):
    """Index ``hashes`` with pandas (its hash table looks up a batch in C)."""
    import pandas as pd

    return pd.Index(hashes, dtype=np.uint64)
