"""Named recipes: builders of plain scikit-learn Pipelines and their parameter grids.

The recommended recipe for new users is ``best``:

``best``
    Word 1-2-gram plus ``char_wb`` 2-5-gram TF-IDF (sublinear tf, ``min_df=2``,
    the 30,000 and 40,000 most frequent, punctuation and emoji kept as tokens),
    hashed in NumPy (:class:`~emoclassic.hashed_tfidf.HashedTfidfVectorizer`),
    then ``OneVsRestClassifier(NBLogisticBlend(C=1, nb_weight=0.5, quantize=True))``:
    per emotion, the average of a logistic regression and an NB-weighted logistic
    regression, folded into one weight vector and rounded to int8 levels.
    Language-agnostic (no stop list, no stemmer). Fitted with fixed parameters
    chosen on the validation split; its grid (C x nb_weight) runs only with ``--search``.

The reference recipes reproduce the product's description exactly:

``lr``
    ``TfidfVectorizer(max_features=10000, ngram_range=(1, 2))`` then
    ``OneVsRestClassifier(LogisticRegression(solver="liblinear",
    class_weight="balanced", max_iter=2000, random_state=42))``; grid
    ``C`` in {0.1, 1, 10} x penalty in {l1, l2}.
``nb``
    The same features, then ``OneVsRestClassifier(MultinomialNB())``; grid
    ``alpha`` in {0.1, 0.5, 1.0} x ``fit_prior`` in {True, False}.

scikit-learn 1.8 deprecated ``LogisticRegression(penalty=...)``; the penalty
axis of the grid is therefore expressed as ``l1_ratio`` in {1.0 (l1), 0.0 (l2)},
which fits exactly the same liblinear models without deprecation warnings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from emoclassic.errors import UsageError

if TYPE_CHECKING:  # scikit-learn is imported inside the builders to keep start-up fast
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import Pipeline

__all__ = [
    "RECIPES",
    "Recipe",
    "get_recipe",
    "make_best_pipeline",
    "make_lr_pipeline",
    "make_nb_pipeline",
    "reference_vectorizer",
]


def reference_vectorizer() -> TfidfVectorizer:
    """Word 1-2-gram TF-IDF capped at 10,000 features (the reference features)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(max_features=10000, ngram_range=(1, 2))


def make_lr_pipeline(*, C: float = 1.0, l1_ratio: float = 0.0, random_state: int = 42) -> Pipeline:
    """Build the reference TF-IDF + one-vs-rest logistic regression pipeline.

    Parameters
    ----------
    C : float, default=1.0
        Inverse regularisation strength.
    l1_ratio : {0.0, 1.0}, default=0.0
        ``0.0`` is the l2 penalty, ``1.0`` the l1 penalty (liblinear).
    random_state : int, default=42
        Seed of liblinear's coordinate descent.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``tfidf`` and ``clf``; ``predict_proba`` returns one column per label.

    Examples
    --------
    The result is an ordinary scikit-learn estimator: it clones, takes
    ``set_params`` and runs inside a user's own ``GridSearchCV``.

    >>> from sklearn.base import clone
    >>> from sklearn.model_selection import GridSearchCV
    >>> texts = ["so happy today", "this is sad", "happy happy joy", "sad and tired",
    ...          "what a joy", "feeling sad"] * 2
    >>> Y = [[1, 0], [0, 1], [1, 0], [0, 1], [1, 0], [0, 1]] * 2
    >>> pipe = clone(make_lr_pipeline()).set_params(clf__estimator__C=10)
    >>> search = GridSearchCV(pipe, {"clf__estimator__l1_ratio": [0.0, 1.0]}, cv=2)
    >>> search.fit(texts, Y).predict(["so sad"]).tolist()
    [[0, 1]]
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import Pipeline

    classifier = LogisticRegression(
        solver="liblinear",
        class_weight="balanced",
        max_iter=2000,
        random_state=random_state,
        C=C,
        l1_ratio=l1_ratio,
    )
    return Pipeline([("tfidf", reference_vectorizer()), ("clf", OneVsRestClassifier(classifier))])


def make_nb_pipeline(
    *, alpha: float = 1.0, fit_prior: bool = True, random_state: int | None = None
) -> Pipeline:
    """Build the reference TF-IDF + one-vs-rest multinomial naive Bayes pipeline.

    Parameters
    ----------
    alpha : float, default=1.0
        Additive smoothing.
    fit_prior : bool, default=True
        Learn class priors (``False`` uses a uniform prior).
    random_state : int or None, default=None
        Unused: naive Bayes has no randomness. Every recipe builder takes it,
        so :meth:`Recipe.make` can pass a seed to any of them.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``tfidf`` and ``clf``.

    Examples
    --------
    >>> pipe = make_nb_pipeline(alpha=0.5)
    >>> pipe.get_params()["clf__estimator__alpha"]
    0.5
    """
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.naive_bayes import MultinomialNB
    from sklearn.pipeline import Pipeline

    classifier = MultinomialNB(alpha=alpha, fit_prior=fit_prior)
    return Pipeline([("tfidf", reference_vectorizer()), ("clf", OneVsRestClassifier(classifier))])


def make_best_pipeline(
    *,
    C: float = 1.0,
    nb_weight: float = 0.5,
    min_df: int = 2,
    quantize: bool = True,
    n_jobs: int | None = None,
    random_state: int = 42,
) -> Pipeline:
    """Build the recommended pipeline: word + char TF-IDF, one-vs-rest LR/NB-LR blend.

    Parameters
    ----------
    C : float, default=1.0
        Inverse regularisation strength of the per-emotion logistic regressions.
    nb_weight : float, default=0.5
        Weight of the NB-weighted model in each emotion's blend (0: plain LR).
    min_df : int, default=2
        Minimum document frequency of an n-gram.
    quantize : bool, default=True
        Store each emotion's weights as int8 levels times one scale
        (:class:`~emoclassic.nblr.NBLogisticBlend`).
    n_jobs : int or None, default=None
        Parallel per-emotion fits of the one-vs-rest step.
    random_state : int, default=42
        Seed of liblinear.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``features`` (FeatureUnion ``word`` + ``char``), ``sort`` and ``clf``.

    Examples
    --------
    >>> pipe = make_best_pipeline(min_df=1)
    >>> texts = ["so happy!!", "so sad :(", "happy day", "sad day"] * 3
    >>> pipe.fit(texts, [[1, 0], [0, 1], [1, 0], [0, 1]] * 3).predict(["happy!!"]).tolist()
    [[1, 0]]
    """
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import Pipeline

    from emoclassic.features import SortedCSR, word_char_tfidf
    from emoclassic.nblr import NBLogisticBlend

    classifier = NBLogisticBlend(
        C=C, nb_weight=nb_weight, random_state=random_state, quantize=quantize
    )
    return Pipeline(
        [
            ("features", word_char_tfidf(min_df=min_df)),
            ("sort", SortedCSR()),
            ("clf", OneVsRestClassifier(classifier, n_jobs=n_jobs)),
        ]
    )


@dataclass(frozen=True)
class Recipe:
    """A named way to build, search and fit a text pipeline.

    Parameters
    ----------
    name : str
        Name used on the command line (``emoclassic fit NAME``).
    summary : str
        One line for ``--help`` and model sidecars.
    build : callable
        ``build(random_state=...) -> Pipeline``; every builder takes
        ``random_state`` (one without randomness ignores it).
    param_grid : dict
        Grid searched by ``emoclassic fit``; empty means no search.
    search_by_default : bool, default=True
        Whether ``fit`` runs the grid unless told otherwise (``--search`` /
        ``--no-search``).
    thresholds_from : {"validation", "cross-validation"}, default="validation"
        Where ``fit`` chooses the per-label thresholds unless told otherwise
        (``--thresholds-from``): the validation split, or out-of-fold
        predictions on the training split.
    """

    name: str
    summary: str
    build: Callable[..., Pipeline]
    param_grid: dict[str, list] = field(default_factory=dict)
    search_by_default: bool = True
    thresholds_from: str = "validation"

    def make(self, random_state: int = 42) -> Pipeline:
        """Build a fresh, unfitted pipeline."""
        return self.build(random_state=random_state)


RECIPES: dict[str, Recipe] = {
    "best": Recipe(
        name="best",
        summary="recommended: word + char n-gram TF-IDF, one-vs-rest LR/NB-LR blend",
        build=make_best_pipeline,
        param_grid={
            "clf__estimator__C": [0.5, 1.0, 2.0],
            "clf__estimator__nb_weight": [0.0, 0.5],
        },
        search_by_default=False,
        thresholds_from="cross-validation",
    ),
    "lr": Recipe(
        name="lr",
        summary="reference: word 1-2-gram TF-IDF (10k) + one-vs-rest logistic regression",
        build=make_lr_pipeline,
        param_grid={
            "clf__estimator__C": [0.1, 1.0, 10.0],
            "clf__estimator__l1_ratio": [1.0, 0.0],
        },
    ),
    "nb": Recipe(
        name="nb",
        summary="reference: word 1-2-gram TF-IDF (10k) + one-vs-rest multinomial naive Bayes",
        build=make_nb_pipeline,
        param_grid={
            "clf__estimator__alpha": [0.1, 0.5, 1.0],
            "clf__estimator__fit_prior": [True, False],
        },
    ),
}


def get_recipe(name: str) -> Recipe:
    """Return a recipe by name, or raise a :class:`UsageError` listing the names.

    Examples
    --------
    >>> get_recipe("lr").param_grid["clf__estimator__C"]
    [0.1, 1.0, 10.0]
    """
    try:
        return RECIPES[name]
    except KeyError:
        raise UsageError(f"unknown recipe {name!r}; choose from {', '.join(RECIPES)}") from None
