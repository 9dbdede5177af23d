"""Why a model predicted what it did: exact linear contributions, or LIME for other models.

For a linear text model (see :mod:`emoclassic.fastpredict`) the decision value
of emotion ``j`` for a text is exactly ``intercept[j] + sum_f x_f * w[f, j]``,
where ``x_f`` is the text's tf-idf value of n-gram ``f`` and ``w[f, j]`` its
coefficient. :func:`explain_linear` lists those terms; they add up to the
decision value (the log-odds behind the score). :func:`global_features` lists
the strongest coefficients per emotion.

Any other :class:`~emoclassic.model.EmotionModel` (for example a fine-tuned
transformer) is explained by :func:`explain_lime`, which fits LIME's local
linear surrogate to ``predict_proba`` (the optional ``explain`` extra). Its
weights approximate the model around the text; they are not exact.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from emoclassic.atomic import atomic_write_text
from emoclassic.errors import InvalidParameter, ModelError, UsageError, require
from emoclassic.model import EmotionModel

__all__ = [
    "Contribution",
    "EmotionExplanation",
    "Explanation",
    "explain_lime",
    "explain_linear",
    "global_features",
    "write_html",
]

_WORD = re.compile(r"(?u)\b\w\w+\b")


@dataclass(frozen=True)
class Contribution:
    """One feature's share of an emotion's decision value.

    ``value`` is the feature's value in the text (tf-idf; 1.0 for LIME's
    word presence), ``weight`` its coefficient, ``contribution`` their product.
    """

    feature: str
    value: float
    weight: float
    contribution: float


@dataclass
class EmotionExplanation:
    """The explanation of one emotion for one text.

    ``decision == intercept + sum(c.contribution for c in contributions)``:
    for a linear model that is the exact log-odds; for LIME it is the
    surrogate's local prediction of the score.
    """

    label: str
    score: float
    threshold: float
    predicted: bool
    intercept: float
    decision: float
    contributions: list[Contribution] = field(default_factory=list)

    def top(self, k: int) -> tuple[list[Contribution], list[Contribution]]:
        """Return the ``k`` most positive and ``k`` most negative contributions."""
        positive = [c for c in self.contributions if c.contribution > 0]
        negative = [c for c in self.contributions if c.contribution < 0]
        positive.sort(key=lambda c: -c.contribution)
        negative.sort(key=lambda c: c.contribution)
        return positive[:k], negative[:k]


@dataclass
class Explanation:
    """Per-emotion explanations of one text."""

    text: str
    method: str
    emotions: list[EmotionExplanation]

    def to_dict(self) -> dict:
        """JSON-ready form (every contribution, largest first)."""
        return asdict(self)


def _choose_labels(model: EmotionModel, scores: np.ndarray, labels) -> list[int]:
    names = list(model.label_names)
    if labels == "all":
        return list(range(len(names)))
    if labels:
        unknown = [label for label in labels if label not in names]
        if unknown:
            raise UsageError(f"unknown emotion {unknown[0]!r}; the model knows {', '.join(names)}")
        return [names.index(label) for label in labels]
    chosen = [j for j in np.argsort(-scores, kind="stable") if scores[j] >= model.thresholds[j]]
    return [int(j) for j in chosen] or [int(np.argmax(scores))]


def explain_linear(
    model: EmotionModel, text: str, labels: Sequence[str] | str | None = None
) -> Explanation:
    """Exact per-n-gram contributions to each emotion's decision value.

    Parameters
    ----------
    model : EmotionModel
        A linear text model (``model.linear`` is not ``None``).
    text : str
        The text to explain.
    labels : sequence of str, "all" or None
        Emotions to explain; ``None``: the predicted ones (the top one if
        none passes its threshold).

    Returns
    -------
    Explanation
        Contributions sorted from most positive to most negative.

    Examples
    --------
    >>> from emoclassic.model import SklearnEmotionModel
    >>> from emoclassic.pipelines import make_lr_pipeline
    >>> pipe = make_lr_pipeline().fit(["so happy", "so sad", "happy day", "sad day"],
    ...                               [[1, 0], [0, 1], [1, 0], [0, 1]])
    >>> model = SklearnEmotionModel(pipe, ["joy", "sadness"], [0.5, 0.5])
    >>> joy = explain_linear(model, "happy day").emotions[0]
    >>> joy.label, [c.feature for c in joy.contributions]
    ('joy', ['happy', 'happy day', 'day'])
    >>> bool(np.isclose(joy.intercept + sum(c.contribution for c in joy.contributions),
    ...                 joy.decision))
    True
    """
    linear = model.linear
    if linear is None:
        raise ModelError(
            "exact explanations need a linear text model (TF-IDF + logistic regression or "
            "naive Bayes); explain this model with LIME instead"
        )
    row = linear.transform([text]).tocsr()
    idx, values = row.indices, row.data
    names = linear.feature_names()
    decision = linear.decision_function([text])[0]
    scores = model.predict_proba([text])[0]
    explained = []
    for j in _choose_labels(model, scores, labels):
        weights = linear.coef[idx, j]
        terms = values * weights
        order = np.argsort(-terms, kind="stable")
        contributions = [
            Contribution(str(names[idx[k]]), float(values[k]), float(weights[k]), float(terms[k]))
            for k in order
        ]
        explained.append(
            _explanation(
                model, scores, j, float(linear.intercept[j]), float(decision[j]), contributions
            )
        )
    return Explanation(text, "linear", explained)


def _explanation(
    model: EmotionModel,
    scores: np.ndarray,
    j: int,
    intercept: float,
    decision: float,
    contributions: list[Contribution],
) -> EmotionExplanation:
    """Explanation of emotion ``j``: its score against its threshold, plus the terms."""
    return EmotionExplanation(
        label=model.label_names[j],
        score=float(scores[j]),
        threshold=float(model.thresholds[j]),
        predicted=bool(scores[j] >= model.thresholds[j]),
        intercept=intercept,
        decision=decision,
        contributions=contributions,
    )


def global_features(model: EmotionModel, k: int = 10) -> dict[str, dict[str, list]]:
    """List the ``k`` strongest positive and negative coefficients of every emotion.

    Returns
    -------
    dict
        ``{label: {"positive": [(feature, weight), ...], "negative": [...]}}``.

    Examples
    --------
    >>> from emoclassic.model import SklearnEmotionModel
    >>> from emoclassic.pipelines import make_lr_pipeline
    >>> pipe = make_lr_pipeline().fit(["so happy", "so sad", "happy day", "sad day"],
    ...                               [[1, 0], [0, 1], [1, 0], [0, 1]])
    >>> strongest = global_features(SklearnEmotionModel(pipe, ["joy", "sadness"], [0.5, 0.5]), 1)
    >>> strongest["joy"]["positive"][0][0], strongest["joy"]["negative"][0][0]
    ('happy', 'sad')
    """
    linear = model.linear
    if linear is None:
        raise ModelError(
            "global explanations need a linear text model (its coefficients are the features)"
        )
    names = linear.feature_names()
    result = {}
    for j, label in enumerate(model.label_names):
        weights = linear.coef[:, j]
        order = np.argsort(-weights, kind="stable")
        positive = [(str(names[f]), float(weights[f])) for f in order[:k] if weights[f] > 0]
        negative = [(str(names[f]), float(weights[f])) for f in order[::-1][:k] if weights[f] < 0]
        result[label] = {"positive": positive, "negative": negative}
    return result


def explain_lime(
    model: EmotionModel,
    text: str,
    labels: Sequence[str] | str | None = None,
    *,
    num_features: int = 10,
    num_samples: int = 1000,
    seed: int = 0,
) -> Explanation:
    """LIME explanation of any model's ``predict_proba`` (needs the ``explain`` extra).

    LIME scores ``num_samples`` copies of the text with words removed and fits
    a weighted linear model of each emotion's score on word presence. Its
    weights are in probability units and approximate the model locally.

    Parameters
    ----------
    model : EmotionModel
        Any model: only ``predict_proba`` is used.
    text : str
        The text to explain.
    labels : sequence of str, "all" or None
        As in :func:`explain_linear`.
    num_features : int, default=10
        Words kept per emotion.
    num_samples : int, default=1000
        Perturbed texts scored.
    seed : int, default=0
        Seed of the perturbations.

    Returns
    -------
    Explanation
        ``method="lime"``; ``decision`` is the surrogate's local prediction.

    Raises
    ------
    InvalidParameter
        The text has no word for LIME to remove.
    """
    if not re.search(r"\w", text):  # LIME's sampler fails on a text with nothing to remove
        raise InvalidParameter("text", "has no word, and LIME explains a text by removing words")
    lime_text = require("lime.lime_text", "explain")
    scores = model.predict_proba([text])[0]
    chosen = _choose_labels(model, scores, labels)
    explainer = lime_text.LimeTextExplainer(
        class_names=list(model.label_names), random_state=seed, bow=True
    )
    result = explainer.explain_instance(
        text,
        lambda texts: np.asarray(model.predict_proba(list(texts))),
        labels=chosen,
        num_features=num_features,
        num_samples=num_samples,
    )
    explained = []
    for j in chosen:
        terms = sorted(result.as_list(label=j), key=lambda pair: -pair[1])
        local = result.local_pred
        decision = float(np.ravel(local[j] if isinstance(local, dict) else local)[0])
        contributions = [Contribution(word, 1.0, float(w), float(w)) for word, w in terms]
        explained.append(
            _explanation(model, scores, j, float(result.intercept[j]), decision, contributions)
        )
    return Explanation(text, "lime", explained)


def word_scores(emotion: EmotionExplanation, text: str) -> list[tuple[int, int, float]]:
    """Spread each feature's contribution over the words it covers, for highlighting.

    A word n-gram's contribution is split evenly over its words; a character
    n-gram's over the words that contain it. The table of contributions is
    exact; this per-word view is a display aid.

    Returns
    -------
    list of (start, end, score)
        Character spans of the words of ``text`` and their summed shares.
    """
    spans = [(m.start(), m.end(), m.group().lower()) for m in _WORD.finditer(text)]
    tokens = [token for _, _, token in spans]
    features = [item.feature.split("__", 1)[-1].lower().strip() for item in emotion.contributions]
    starts = _ngram_starts(tokens, {len(feature.split()) for feature in features})
    containing = _tokens_containing(
        tokens,
        {feature for feature in features if feature and tuple(feature.split()) not in starts},
    )
    totals = np.zeros(len(spans))
    for item, feature in zip(emotion.contributions, features, strict=True):
        words = tuple(feature.split())
        if words in starts:
            cells = [i for start in starts[words] for i in range(start, start + len(words))]
        else:  # a character n-gram (or a token the pattern splits differently)
            cells = containing.get(feature, [])
        for i in cells:
            totals[i] += item.contribution / len(cells)
    return [
        (start, end, float(total)) for (start, end, _), total in zip(spans, totals, strict=True)
    ]


def _ngram_starts(tokens: list[str], lengths: set[int]) -> dict[tuple[str, ...], list[int]]:
    """Map each run of ``n`` tokens (``n`` in ``lengths``) to where it starts, in order."""
    starts: dict[tuple[str, ...], list[int]] = {}
    for n in lengths - {0}:
        for i in range(len(tokens) - n + 1):
            starts.setdefault(tuple(tokens[i : i + n]), []).append(i)
    return starts


def _tokens_containing(tokens: list[str], pieces: set[str]) -> dict[str, list[int]]:
    """Map each string of ``pieces`` to the positions of the tokens that contain it, in order.

    Looks up every substring of each distinct token (of the lengths ``pieces``
    has) once, instead of testing every piece against every token.
    """
    lengths = {len(piece) for piece in pieces}
    pieces_in: dict[str, list[str]] = {}
    for token in set(tokens):
        inside = {token[k : k + n] for n in lengths for k in range(len(token) - n + 1)} & pieces
        if inside:
            pieces_in[token] = sorted(inside)
    containing: dict[str, list[int]] = {}
    for i, token in enumerate(tokens):
        for piece in pieces_in.get(token, ()):
            containing.setdefault(piece, []).append(i)
    return containing


def write_html(explanation: Explanation, path: str | Path, k: int = 10) -> None:
    """Write the text with its words highlighted per emotion (atomically).

    Green words push the emotion up, red words push it down; hovering a word
    shows its share.
    """
    sections = []
    for emotion in explanation.emotions:
        spans = word_scores(emotion, explanation.text)
        scale = max((abs(s) for _, _, s in spans), default=0.0) or 1.0
        pieces, last = [], 0
        for start, end, share in spans:
            pieces.append(html.escape(explanation.text[last:start]))
            alpha = min(abs(share) / scale, 1.0) * 0.8
            colour = "0, 160, 60" if share >= 0 else "220, 40, 40"
            pieces.append(
                f'<span style="background: rgba({colour}, {alpha:.2f})" '
                f'title="{share:+.4f}">{html.escape(explanation.text[start:end])}</span>'
            )
            last = end
        pieces.append(html.escape(explanation.text[last:]))
        positive, negative = emotion.top(k)
        rows = "".join(
            f"<tr><td>{html.escape(c.feature)}</td><td>{c.value:.4f}</td>"
            f"<td>{c.weight:+.4f}</td><td>{c.contribution:+.4f}</td></tr>"
            for c in positive + negative
        )
        sections.append(
            f"<h2>{html.escape(emotion.label)}: score {emotion.score:.3f} "
            f"(threshold {emotion.threshold:.3f})</h2>\n"
            f'<p class="text">{"".join(pieces)}</p>\n'
            f"<p>decision {emotion.decision:+.4f} = intercept {emotion.intercept:+.4f} "
            f"+ features {emotion.decision - emotion.intercept:+.4f}</p>\n"
            "<table><tr><th>feature</th><th>value</th><th>weight</th><th>contribution</th></tr>"
            f"{rows}</table>"
        )
    method = "exact linear contributions" if explanation.method == "linear" else "LIME"
    document = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>emoclassic explain</title>\n'
        "<style>body{font-family:sans-serif;max-width:50em;margin:2em auto}"
        ".text{font-size:1.3em;line-height:1.8}td,th{padding:0 .8em;text-align:right}"
        "td:first-child,th:first-child{text-align:left}</style></head><body>\n"
        f"<h1>Why these emotions?</h1><p>Method: {method}.</p>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )
    atomic_write_text(path, document)
