"""An HTTP JSON API over any :class:`~emoclassic.model.EmotionModel` (FastAPI).

``create_app(model)`` returns an ASGI application with

- ``POST /predict`` ``{"texts": [...], "top_k": 3, "threshold": "tuned"}``: for
  each text the emotions at or above the threshold (highest first, at most
  ``top_k``) plus every label's score, sorted;
- ``GET /labels``: the label list with the tuned thresholds;
- ``GET /health``: liveness and what is loaded;
- ``/docs`` and ``/openapi.json``: the OpenAPI description. It is the contract:
  it declares every limit the server enforces and every status it answers.

Every error is a JSON object ``{"error": "one line", "detail": [...] | null}``:
422 for malformed JSON or UTF-8, wrong types, unknown fields, empty lists or
blank texts (``detail`` lists pydantic's errors when it found them); 413 when
the body, the batch or a text is over its limit; 408, 431 and 503 from the
:class:`~emoclassic.http_guard.RequestGuard` (slow body, headers too large,
shutting down). The model is loaded once by the caller. A request whose texts
cost little (a model with the fast linear path and at most ``INLINE_CHARS``
characters in all) is scored on the event loop; everything else runs in one
worker thread at a time, so that ``/health`` stays fast while heavy batches
are scored.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the endpoint
# annotations at run time, and the request schemas are local to create_app.
import json
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Literal

from emoclassic._version import __version__
from emoclassic.errors import first_line, require
from emoclassic.http_guard import RequestGuard

if TYPE_CHECKING:  # this module stays light: the CLI reads ServeLimits' defaults
    import numpy as np

    from emoclassic.model import EmotionModel

__all__ = ["ServeLimits", "create_app"]

#: A request with the fast linear path and at most this many characters in all is
#: scored on the event loop (well under a millisecond, even for ``best``).
INLINE_CHARS = 2_000

#: A text must contain a character that is not white space (``str.isspace``). The class is
#: spelt out because ``\\s`` means different sets in Python, ECMA (JSON Schema) and Rust.
NOT_BLANK = r"[^\t-\r\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"


@dataclass(frozen=True)
class ServeLimits:
    """Request limits of the HTTP API.

    Parameters
    ----------
    max_batch : int, default=256
        Most texts in one ``/predict`` request (413 above).
    max_text_chars : int, default=10_000
        Longest text in characters (413 above).
    max_body_bytes : int, default=1_048_576
        Largest request body in bytes (413 above), checked on the
        ``Content-Length`` header and again while the body streams in.
    max_header_bytes : int, default=16_384
        Largest request line plus headers in bytes (431 above).
    read_timeout : float, default=10.0
        Seconds a client may take to send its headers, and again its body
        (408 after).
    """

    max_batch: int = 256
    max_text_chars: int = 10_000
    max_body_bytes: int = 1_048_576
    max_header_bytes: int = 16_384
    read_timeout: float = 10.0


def create_app(model: "EmotionModel", limits: ServeLimits | None = None, *, name: str = "model"):
    """Build the FastAPI application serving ``model``.

    Parameters
    ----------
    model : EmotionModel
        A loaded model; it is shared by all requests and never modified.
    limits : ServeLimits, optional
        Request limits.
    name : str, default="model"
        Shown by ``/health`` (for example the model file's name).

    Returns
    -------
    fastapi.FastAPI
        Run it with uvicorn (``emoclassic serve`` does). ``app.state.stopping``
        is a :class:`threading.Event`; set it when shutdown begins, so that a
        request whose body is still arriving gets a 503 at once.

    Examples
    --------
    >>> from fastapi.testclient import TestClient
    >>> from emoclassic.model import SklearnEmotionModel
    >>> from emoclassic.pipelines import make_nb_pipeline
    >>> pipe = make_nb_pipeline().fit(["good day", "bad day"], [[1, 0], [0, 1]])
    >>> client = TestClient(create_app(SklearnEmotionModel(pipe, ["joy", "anger"], [0.5, 0.5])))
    >>> reply = client.post("/predict", json={"texts": ["good"]}).json()
    >>> [e["label"] for e in reply["predictions"][0]["emotions"]]
    ['joy']
    >>> client.post("/predict", json={"texts": []}).status_code
    422
    """
    fastapi = require("fastapi", "serve")
    from fastapi.encoders import jsonable_encoder
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, Response
    from pydantic import (
        AfterValidator,
        BaseModel,
        BeforeValidator,
        ConfigDict,
        Field,
        StrictStr,
        field_validator,
    )
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException

    limits = limits or ServeLimits()
    labels = list(model.label_names)
    scoring = threading.Lock()  # one heavy batch at a time: the event loop keeps the GIL often

    Text = Annotated[
        StrictStr,
        Field(
            min_length=1,
            max_length=limits.max_text_chars,
            json_schema_extra={"pattern": NOT_BLANK},
        ),
        AfterValidator(_not_blank),
    ]
    Count = Annotated[int, Field(ge=1), BeforeValidator(_whole_number)]

    class PredictRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        texts: list[Text] = Field(
            min_length=1,
            max_length=limits.max_batch,
            description=f"texts to classify: 1 to {limits.max_batch}, each with "
            f"1 to {limits.max_text_chars} characters, not all white space "
            f"(the whole body is limited to {limits.max_body_bytes} bytes: 413 above)",
        )
        top_k: Count | None = Field(
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

    class Score(BaseModel):
        label: str
        score: float

    class Prediction(BaseModel):
        emotions: list[Score] = Field(description="at or above the threshold, highest first")
        scores: list[Score] = Field(description="every label, highest first")

    class PredictResponse(BaseModel):
        predictions: list[Prediction]

    class Health(BaseModel):
        status: Literal["ok"]
        model: str
        kind: str
        labels: int

    class Labels(BaseModel):
        labels: list[str]
        thresholds: dict[str, float]

    class ErrorLocation(BaseModel):
        loc: list[str | int]
        msg: str
        type: str

    class Error(BaseModel):
        error: str = Field(description="what went wrong, in one line")
        detail: list[ErrorLocation] | None = Field(
            description="pydantic's validation errors, when the request body had any"
        )

    def error(text: str):
        return {"model": Error, "description": text}

    app = fastapi.FastAPI(
        title="emoclassic",
        description="Multi-label emotion classification of texts.",
        version=__version__,
        responses={
            408: error(f"headers or body not received within {limits.read_timeout:g} s"),
            413: error(f"request body over {limits.max_body_bytes} bytes"),
            431: error(f"request line and headers over {limits.max_header_bytes} bytes"),
            503: error("the server is shutting down"),
        },
    )
    app.state.stopping = threading.Event()
    app.add_middleware(
        RequestGuard,
        max_body_bytes=limits.max_body_bytes,
        max_header_bytes=limits.max_header_bytes,
        read_timeout=limits.read_timeout,
        stopping=app.state.stopping,
    )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request, exc: RequestValidationError):
        errors = jsonable_encoder(exc.errors(), include={"loc", "msg", "type"})
        return JSONResponse(
            status_code=422, content={"error": _summarise(errors), "detail": errors}
        )

    @app.exception_handler(HTTPException)
    async def http_error(request, exc: HTTPException):
        status, message = exc.status_code, str(exc.detail)
        if status == 400:  # FastAPI could not decode the body (bad UTF-8, too deeply nested)
            status, message = (
                422,
                f"the body is not valid JSON ({first_line(exc.__cause__ or exc)})",
            )
        return JSONResponse(
            status_code=status,
            content={"error": message, "detail": None},
            headers=getattr(exc, "headers", None),
        )

    @app.get("/health")
    async def health() -> Health:
        """Report liveness: the loaded model's name, kind and label count."""
        return Health(status="ok", model=name, kind=model.kind, labels=len(labels))

    @app.get("/labels")
    async def get_labels() -> Labels:
        """Return the label list, in score-column order, with the tuned thresholds."""
        cutoffs = dict(zip(labels, model.thresholds.tolist(), strict=True))
        return Labels(labels=labels, thresholds=cutoffs)

    def answer(request: PredictRequest) -> bytes:
        scores = model.predict_proba(request.texts)
        cutoffs = model.resolve_thresholds(request.threshold)
        predictions = _predictions(scores, cutoffs, labels, request.top_k)
        return json.dumps({"predictions": predictions}).encode()

    def answer_alone(request: PredictRequest) -> bytes:
        with scoring:
            return answer(request)

    @app.post(
        "/predict",
        response_model=PredictResponse,
        responses={422: error("malformed JSON or UTF-8, or a request the schema refuses")},
    )
    async def predict(request: PredictRequest):
        """Return the emotions above the threshold, and all scores sorted, for each text."""
        texts = request.texts
        if model.scores_instantly and sum(map(len, texts)) <= INLINE_CHARS:
            content = answer(request)
        else:
            content = await run_in_threadpool(answer_alone, request)
        return Response(content, media_type="application/json")

    return app


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


def _predictions(scores: "np.ndarray", cutoffs: "np.ndarray", labels, top_k: int | None) -> list:
    import numpy as np

    from emoclassic.model import rank_emotions

    kept = rank_emotions(scores, cutoffs, labels, top_k)
    ranked = rank_emotions(scores, np.full(len(labels), -np.inf), labels)
    return [
        {"emotions": _as_dicts(above), "scores": _as_dicts(every)}
        for above, every in zip(kept, ranked, strict=True)
    ]


def _as_dicts(pairs: list[tuple[str, float]]) -> list[dict]:
    return [{"label": label, "score": score} for label, score in pairs]


def _summarise(errors: list[dict]) -> str:
    """One line from pydantic's error list, for example ``texts: List should have ...``."""
    parts = []
    for error in errors[:3]:
        if error.get("type") == "json_invalid":
            parts.append(f"the body is not valid JSON ({error.get('msg', 'decode error')})")
            continue
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(parts) + more
