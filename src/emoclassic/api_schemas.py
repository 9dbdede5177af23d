"""The HTTP API's request and response bodies (pydantic); FastAPI writes the OpenAPI schema.

Imported by :func:`emoclassic.server.create_app` only, once the ``serve`` extra is known
to be installed. The request body depends on the server's limits, so that the schema
declares every constraint the server enforces.
"""

# No ``from __future__ import annotations``: pydantic reads these annotations at run time.
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
    create_model,
    field_validator,
)

__all__ = [
    "MAX_LIME_FEATURES",
    "MAX_LIME_SAMPLES",
    "NOT_BLANK",
    "Error",
    "ExplainResponse",
    "Health",
    "Labels",
    "ModelInfo",
    "PredictResponse",
    "explain_request_model",
    "predict_request_model",
]

#: Most LIME perturbations one ``/explain`` request may ask for: each is one more text to
#: score, and the server scores one heavy request at a time.
MAX_LIME_SAMPLES = 5_000
#: Most words a LIME explanation may keep per emotion.
MAX_LIME_FEATURES = 100

#: A text must contain a character that is not white space (``str.isspace``). The class is
#: spelt out because ``\\s`` means different sets in Python, ECMA (JSON Schema) and Rust.
NOT_BLANK = r"[^\t-\r\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"


def _not_blank(text: str) -> str:
    """Refuse a text that is only white space (the schema's ``NOT_BLANK`` pattern)."""
    if text.isspace():
        raise ValueError("must contain a character that is not white space")
    return text


def _whole_number(value):
    """Accept a JSON integer, also written with a zero fraction (``3.0``); refuse the rest."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a whole number")
    return value


class Score(BaseModel):
    """One label and its score."""

    label: str
    score: float


class Prediction(BaseModel):
    """The emotions of one text, and all of its scores."""

    emotions: list[Score] = Field(description="at or above the threshold, highest first")
    scores: list[Score] = Field(description="every label, highest first")


class PredictResponse(BaseModel):
    """One prediction per text, in request order."""

    predictions: list[Prediction]


class Health(BaseModel):
    """Liveness, and what is loaded."""

    status: Literal["ok"]
    model: str
    kind: str
    labels: int


class Labels(BaseModel):
    """The label list, in score-column order, with the tuned thresholds."""

    labels: list[str]
    thresholds: dict[str, float]


class ErrorLocation(BaseModel):
    """One validation error: where, what and its pydantic type."""

    loc: list[str | int]
    msg: str
    type: str


class Error(BaseModel):
    """Every error the API answers."""

    error: str = Field(description="what went wrong, in one line")
    detail: list[ErrorLocation] | None = Field(
        description="pydantic's validation errors, when the request body had any"
    )


class _PredictOptions(BaseModel):
    """The ``/predict`` fields that do not depend on the server's limits."""

    model_config = ConfigDict(extra="forbid")
    top_k: Annotated[int, Field(ge=1), BeforeValidator(_whole_number)] | None = Field(
        default=None, description="keep at most this many emotions per text"
    )
    threshold: Annotated[float, Field(ge=0, le=1)] | Literal["tuned"] = Field(
        default="tuned",
        description="'tuned' (per-label thresholds) or one cut-off in [0, 1] for all",
    )

    @field_validator("threshold", mode="before")
    @classmethod
    def _threshold(cls, value):
        if value == "tuned":
            return value
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ValueError("must be 'tuned' or a number between 0 and 1")
        return float(value)


def _text_type(max_text_chars: int):
    """One text: 1 to ``max_text_chars`` characters, not only white space."""
    return Annotated[
        StrictStr,
        Field(min_length=1, max_length=max_text_chars, json_schema_extra={"pattern": NOT_BLANK}),
        AfterValidator(_not_blank),
    ]


def predict_request_model(max_batch: int, max_text_chars: int, max_body_bytes: int):
    """Return the ``/predict`` request body class for these limits.

    Examples
    --------
    >>> Request = predict_request_model(2, 5, 1000)
    >>> Request(texts=["happy"], top_k=2.0).top_k
    2
    >>> Request(texts=["happy", "sad", "mad"])
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for PredictRequest
    ...
    """
    text = _text_type(max_text_chars)
    texts = Field(
        min_length=1,
        max_length=max_batch,
        description=f"texts to classify: 1 to {max_batch}, each with 1 to {max_text_chars} "
        f"characters, not all white space (the whole body is limited to {max_body_bytes} "
        "bytes: 413 above)",
    )
    return create_model("PredictRequest", __base__=_PredictOptions, texts=(list[text], texts))


class ModelInfo(BaseModel):
    """What is served: the model, its sidecar's test score, and how ``/explain`` works."""

    name: str = Field(description="the model file's name")
    kind: str = Field(description="'sklearn' or 'transformer' (the saved model's kind)")
    recipe: str | None = Field(description="the recipe it was fitted with, when recorded")
    labels: int = Field(description="how many emotions it scores")
    test_macro_f1: float | None = Field(
        description="macro-F1 on the test split under the tuned thresholds, from the "
        "model's sidecar (null when not recorded)"
    )
    explanation: Literal["linear", "lime"] | None = Field(
        description="what /explain uses by default: 'linear' (exact contributions), "
        "'lime' (an approximation, slow) or null (neither is available)"
    )
    explanation_note: str = Field(description="one sentence on the explanation, for people")
    max_text_chars: int = Field(description="longest text a request may carry")


class _ExplainOptions(BaseModel):
    """The ``/explain`` fields that do not depend on the model or the limits."""

    model_config = ConfigDict(extra="forbid")
    method: Literal["auto", "linear", "lime"] = Field(
        default="auto",
        description="'linear': exact contributions (linear models only); 'lime': LIME "
        "(any model; needs the 'explain' extra); 'auto': linear when the model is linear",
    )
    num_features: Annotated[
        int, Field(ge=1, le=MAX_LIME_FEATURES), BeforeValidator(_whole_number)
    ] = Field(default=10, description="LIME only: words kept per emotion")
    num_samples: Annotated[
        int, Field(ge=1, le=MAX_LIME_SAMPLES), BeforeValidator(_whole_number)
    ] = Field(default=1000, description="LIME only: perturbed texts scored")


def _labels_validator(label_names):
    """Return a validator that names the unknown emotion, instead of pydantic's union errors."""
    known = set(label_names)

    def check(cls, value):
        if value is None or value == "all":
            return value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("must be a list of label names, 'all' or null")
        if not value:
            raise ValueError("must name at least one emotion")
        unknown = [v for v in value if v not in known]
        if unknown:
            raise ValueError(
                f"unknown emotion {unknown[0]!r}; the model knows {', '.join(label_names)}"
            )
        return value

    return field_validator("labels", mode="before")(classmethod(check))


def explain_request_model(label_names, max_text_chars: int):
    """Return the ``/explain`` request body class for this model's labels and these limits.

    ``labels`` is a non-empty list of the model's label names, ``"all"``, or
    ``null`` (the default: the emotions at or above their tuned thresholds, or
    the top one when none is).

    Examples
    --------
    >>> Request = explain_request_model(["joy", "anger"], 20)
    >>> Request(text="so happy", labels=["joy"]).labels
    ['joy']
    >>> Request(text="so happy", labels=["pride"])
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for ExplainRequest
    labels
      Value error, unknown emotion 'pride'; the model knows joy, anger ...
    ...
    """
    label_names = list(label_names)
    label = Literal[tuple(label_names)]
    labels = Field(
        default=None,
        description="emotions to explain: a list of label names, 'all', or null (the "
        "predicted ones under the tuned thresholds; the top one when none is predicted)",
    )
    return create_model(
        "ExplainRequest",
        __base__=_ExplainOptions,
        __validators__={"_labels": _labels_validator(label_names)},
        text=(_text_type(max_text_chars), Field(description="the text to explain")),
        labels=(Annotated[list[label], Field(min_length=1)] | Literal["all"] | None, labels),
    )


class Contribution(BaseModel):
    """One feature's share of an emotion's decision value (``value * weight``)."""

    feature: str
    value: float = Field(description="its value in the text (tf-idf; 1 for LIME)")
    weight: float = Field(description="its coefficient")
    contribution: float


class Segment(BaseModel):
    """A piece of the text: a word with its share, or what lies between words."""

    text: str
    share: float | None = Field(
        description="a word's share of the contributions (emoclassic.explain.word_scores); "
        "null between words"
    )


class EmotionExplanation(BaseModel):
    """One emotion's explanation: ``decision == intercept + sum of the contributions``."""

    label: str
    score: float
    threshold: float = Field(description="the tuned threshold")
    predicted: bool = Field(description="whether the score reaches the tuned threshold")
    intercept: float | None = Field(description="null when infinite")
    decision: float | None = Field(
        description="log-odds (linear) or the surrogate's local prediction (LIME); "
        "null when infinite (an emotion constant in training)"
    )
    contributions: list[Contribution] = Field(description="most positive first")
    segments: list[Segment] = Field(description="the text, cut into pieces; they join to it")


class ExplainResponse(BaseModel):
    """The same explanation as ``emoclassic explain --json``, plus each emotion's segments."""

    text: str
    method: Literal["linear", "lime"]
    emotions: list[EmotionExplanation]
