"""An HTTP JSON API over any :class:`~emoclassic.model.EmotionModel` (FastAPI).

``create_app(model)`` returns an ASGI application with

- ``POST /predict`` ``{"texts": [...], "top_k": 3, "threshold": "tuned"}``: for
  each text the emotions at or above the threshold (highest first, at most
  ``top_k``) plus every label's score, sorted;
- ``GET /labels``: the label list with the tuned thresholds;
- ``GET /health``: liveness and what is loaded;
- ``/docs`` and ``/openapi.json``: the OpenAPI description.

Every error is a JSON object ``{"error": "one line", "detail": ...}``: 422 for
malformed JSON, wrong types, empty lists or empty texts; 413 when the body,
the batch or a text is over its limit. The model is loaded once by the
caller. Small batches for a model with the fast linear path are scored on
the event loop (a fraction of a millisecond); everything else (larger
batches, a transformer, any other model) in the thread pool, so that the
server keeps answering ``/health`` while a slow model works.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the endpoint
# annotations at run time, and the request schemas are local to create_app.
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from emoclassic._version import __version__
from emoclassic.errors import require

if TYPE_CHECKING:  # this module stays light: the CLI reads ServeLimits' defaults
    import numpy as np

    from emoclassic.model import EmotionModel

__all__ = ["ServeLimits", "create_app"]

#: Batches up to this size are scored inline on the event loop.
INLINE_BATCH = 16


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
    """

    max_batch: int = 256
    max_text_chars: int = 10_000
    max_body_bytes: int = 1_048_576


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
        Run it with uvicorn (``emoclassic serve`` does).

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
    from fastapi.responses import JSONResponse
    from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException

    limits = limits or ServeLimits()
    labels = list(model.label_names)

    class PredictRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        texts: list[StrictStr] = Field(
            min_length=1, description=f"texts to classify (1 to {limits.max_batch})"
        )
        top_k: Annotated[StrictInt, Field(ge=1)] | None = Field(
            default=None, description="keep at most this many emotions per text"
        )
        threshold: float | Literal["tuned"] = Field(
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

    app = fastapi.FastAPI(
        title="emoclassic",
        description="Multi-label emotion classification of texts.",
        version=__version__,
    )
    app.add_middleware(_BodyLimit, max_bytes=limits.max_body_bytes)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request, exc: RequestValidationError):
        errors = jsonable_encoder(exc.errors(), exclude={"input", "url", "ctx"})
        return JSONResponse(
            status_code=422, content={"error": _summarise(errors), "detail": errors}
        )

    @app.exception_handler(HTTPException)
    async def http_error(request, exc: HTTPException):
        return JSONResponse(
            status_code=exc.status_code,
            content={"error": str(exc.detail), "detail": None},
            headers=getattr(exc, "headers", None),
        )

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Report liveness: the loaded model's name, kind and label count."""
        return {"status": "ok", "model": name, "kind": model.kind, "labels": len(labels)}

    @app.get("/labels")
    async def get_labels() -> dict[str, Any]:
        """Return the label list, in score-column order, with the tuned thresholds."""
        cutoffs = dict(zip(labels, model.thresholds.tolist(), strict=True))
        return {"labels": labels, "thresholds": cutoffs}

    @app.post(
        "/predict",
        response_model=PredictResponse,
        responses={413: {"description": "body, batch or a text over its limit"}},
    )
    async def predict(request: PredictRequest):
        """Return the emotions above the threshold, and all scores sorted, for each text."""
        texts = request.texts
        if len(texts) > limits.max_batch:
            raise HTTPException(
                413, f"{len(texts)} texts in one request; the limit is {limits.max_batch}"
            )
        for i, text in enumerate(texts):
            if len(text) > limits.max_text_chars:
                raise HTTPException(
                    413,
                    f"texts[{i}] has {len(text)} characters; the limit is {limits.max_text_chars}",
                )
            if not text.strip():
                raise HTTPException(422, f"texts[{i}] is empty")
        if model.scores_instantly and len(texts) <= INLINE_BATCH:
            scores = model.predict_proba(texts)
        else:
            scores = await run_in_threadpool(model.predict_proba, texts)
        cutoffs = model.resolve_thresholds(request.threshold)
        return JSONResponse({"predictions": _predictions(scores, cutoffs, labels, request.top_k)})

    return app


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


class _BodyLimit:
    """ASGI middleware: 413 for a body over ``max_bytes`` (header or streamed)."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        from starlette.exceptions import HTTPException
        from starlette.responses import JSONResponse

        too_large = f"request body over {self.max_bytes} bytes"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            response = JSONResponse({"error": too_large, "detail": None}, status_code=413)
            return await response(scope, receive, send)
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, too_large)
            return message

        await self.app(scope, limited_receive, send)
