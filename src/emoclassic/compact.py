"""Drop fitted state that prediction never reads, to keep model files small.

``TfidfVectorizer.stop_words_`` holds every term cut by ``max_features`` or
``min_df``: on GoEmotions that is hundreds of thousands of n-grams, most of
the file, and scikit-learn documents it as safe to remove once fitted.
"""

from __future__ import annotations

from sklearn.feature_extraction.text import CountVectorizer

__all__ = ["strip_predict_unused_state"]


def strip_predict_unused_state(estimator) -> int:
    """Remove ``stop_words_`` from every vectorizer inside ``estimator``, in place.

    Parameters
    ----------
    estimator : estimator object
        Any fitted estimator; nested Pipelines, FeatureUnions and
        meta-estimators are searched through ``get_params``.

    Returns
    -------
    int
        How many vectorizers were stripped.

    Examples
    --------
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> vec = TfidfVectorizer(max_features=2).fit(["a b c", "a b d", "a e"])
    >>> len(vec.stop_words_), strip_predict_unused_state(vec), hasattr(vec, "stop_words_")
    (3, 1, False)
    >>> vec.transform(["a b"]).shape
    (1, 2)
    """
    stripped = 0
    seen: set[int] = set()
    stack = [estimator]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, CountVectorizer) and hasattr(current, "stop_words_"):
            del current.stop_words_
            stripped += 1
        if hasattr(current, "get_params"):
            stack.extend(v for v in current.get_params(deep=False).values() if hasattr(v, "get_params"))
            for attr in ("estimator_", "estimators_", "best_estimator_"):
                value = getattr(current, attr, None)
                if isinstance(value, list):
                    stack.extend(value)
                elif value is not None:
                    stack.append(value)
        if hasattr(current, "steps"):
            stack.extend(step for _, step in current.steps)
        if hasattr(current, "transformer_list"):
            stack.extend(step for _, step in current.transformer_list)
    return stripped
