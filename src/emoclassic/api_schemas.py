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
    "NOT_BLANK",
    "Error",
    "Health",
    "Labels",
    "PredictResponse",
    "predict_request_model",
]

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
    text = Annotated[
        StrictStr,
        Field(min_length=1, max_length=max_text_chars, json_schema_extra={"pattern": NOT_BLANK}),
        AfterValidator(_not_blank),
    ]
    texts = Field(
        min_length=1,
        max_length=max_batch,
        description=f"texts to classify: 1 to {max_batch}, each with 1 to {max_text_chars} "
        f"characters, not all white space (the whole body is limited to {max_body_bytes} "
        "bytes: 413 above)",
    )
    return create_model("PredictRequest", __base__=_PredictOptions, texts=(list[text], texts))
