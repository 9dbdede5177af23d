r"""Language-agnostic text features: word and character n-gram TF-IDF.

No stop list, stemmer or lexicon is used, so the same features work for any
language that Unicode ``\w`` tokenises, and character n-grams carry the signal
for languages written without spaces.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import FeatureUnion
from sklearn.utils.validation import check_is_fitted, validate_data

from emoclassic.hashed_tfidf import HashedTfidfVectorizer
from emoclassic.ngram_hashing import TOKEN_PATTERN

__all__ = ["TOKEN_PATTERN", "SortedCSR", "word_char_tfidf"]


def word_char_tfidf(
    *,
    word_ngrams: tuple[int, int] = (1, 2),
    char_ngrams: tuple[int, int] = (2, 5),
    min_df: int = 2,
    word_max_features: int | None = 30000,
    char_max_features: int | None = 40000,
) -> FeatureUnion:
    """Build the union of word and ``char_wb`` n-gram TF-IDF (sublinear tf, float32).

    Both blocks are :class:`~emoclassic.hashed_tfidf.HashedTfidfVectorizer`:
    the n-grams of scikit-learn's analyzers, found by hash in NumPy.

    Parameters
    ----------
    word_ngrams : tuple of int, default=(1, 2)
        Word n-gram range, with :data:`TOKEN_PATTERN` tokens.
    char_ngrams : tuple of int, default=(2, 5)
        Character n-gram range inside word boundaries (``char_wb``).
    min_df : int, default=2
        Drop n-grams seen in fewer training texts.
    word_max_features, char_max_features : int or None, default=30000, 40000
        Keep only the most frequent n-grams of each block. On GoEmotions'
        validation split the caps cost no macro-F1 and cut the model to
        under half its uncapped size (``pipelines/bench_recipes.py``).

    Returns
    -------
    sklearn.pipeline.FeatureUnion
        Steps ``word`` and ``char``.

    Examples
    --------
    >>> union = word_char_tfidf(min_df=1).fit(["so happy!!", "ужасно :("])
    >>> "!" in union.named_transformers["word"].get_feature_names_out()
    True
    """
    common = {"sublinear_tf": True, "min_df": min_df, "dtype": np.float32}
    return FeatureUnion(
        [
            (
                "word",
                HashedTfidfVectorizer(
                    ngram_range=word_ngrams, max_features=word_max_features, **common
                ),
            ),
            (
                "char",
                HashedTfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=char_ngrams,
                    max_features=char_max_features,
                    **common,
                ),
            ),
        ]
    )


class SortedCSR(TransformerMixin, BaseEstimator):
    """Return a CSR copy of the input with sorted indices.

    ``FeatureUnion`` stacks sparse blocks; when ``OneVsRestClassifier(n_jobs>1)``
    sends that matrix to joblib workers it arrives memory-mapped read-only, and
    a solver that sorts indices in place then fails with "WRITEBACKIFCOPY base
    is read-only". Sorting once here, before the parallel step, avoids it.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> X = sp.csr_matrix((np.array([1.0, 2.0]), np.array([1, 0]), np.array([0, 2])), shape=(1, 2))
    >>> X.has_sorted_indices, SortedCSR().fit_transform(X).has_sorted_indices
    (False, True)
    """

    def fit(self, X, y=None):
        """Record the number of input features.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.
        y : None
            Ignored.

        Returns
        -------
        self : SortedCSR
            The fitted transformer.
        """
        validate_data(self, X, accept_sparse=True)
        return self

    def transform(self, X):
        """Return ``X`` as CSR with sorted indices (always a copy).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        scipy.sparse.csr_matrix
            The sorted copy.
        """
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=True, reset=False)
        X = sp.csr_matrix(X, copy=True)
        X.sort_indices()
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.requires_fit = False
        return tags
