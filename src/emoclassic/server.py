"""An HTTP JSON API over any :class:`~emoclassic.model.EmotionModel` (FastAPI).

``create_app(model)`` returns an ASGI application with

- ``POST /predict`` ``{"texts": [...], "top_k": 3, "threshold": "tuned"}``: for
  each text the emotions at or above the threshold (highest first, at most
  ``top_k``) plus every label's score, sorted;
- ``GET /labels``: the label list with the tuned thresholds;
- ``GET /health``: liveness and what is loaded;
- ``/docs`` and ``/openapi.json``: the OpenAPI description. It is the contract:
  it declares every limit the server enforces and every status it answers.

``HEAD`` works wherever ``GET`` does: the same status and headers, no body.

Every error is a JSON object ``{"error": "one line", "detail": [...] | null}``:
422 for malformed JSON or UTF-8, wrong types, unknown fields, empty lists or
blank texts (``detail`` lists pydantic's errors when it found them); 413 when
the body, the batch or a text is over its limit; 408, 431 and 503 from the
:class:`~emoclassic.http_guard.RequestGuard` (slow body, headers too large,
shutting down); 404 for a path the schema does not list (a trailing slash is
not redirected) and 405 for a method the path does not take, with an ``Allow``
header. The model is loaded once by the caller. A request whose texts
cost little (a model with the fast linear path and at most ``INLINE_CHARS``
characters in all) is scored on the event loop; everything else runs in one
worker thread at a time, so that ``/health`` stays fast while heavy batches
are scored.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the endpoint
# annotations at run time, and the request schemas are local to create_app.
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

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
        ``emoclassic serve`` warms it up first
        (:meth:`~emoclassic.model.EmotionModel.warm_up`).
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
    from emoclassic import api_schemas

    limits = limits or ServeLimits()

    app = fastapi.FastAPI(
        title="emoclassic",
        description="Multi-label emotion classification of texts. HEAD works wherever GET "
        "does (the same status and headers, no body).",
        version=__version__,
        responses=_common_responses(api_schemas.Error, limits),
        redirect_slashes=False,  # "/health/" is 404, not an undeclared 307 redirect
    )
    app.state.stopping = threading.Event()
    app.add_middleware(
        RequestGuard,
        max_body_bytes=limits.max_body_bytes,
        max_header_bytes=limits.max_header_bytes,
        read_timeout=limits.read_timeout,
        stopping=app.state.stopping,
    )
    _add_error_handlers(app)
    _add_routes(app, model, limits, name)
    return app


def _common_responses(error_model, limits: ServeLimits) -> dict[int, dict]:
    """Return the statuses any request can get, whatever its operation, to declare on each.

    404 and 405 come from routing, before an operation is chosen: a client gets
    them for a path the schema does not list, or a method the path does not take.
    """

    def error(text: str, **more) -> dict:
        return {"model": error_model, "description": text, **more}

    allow = {"description": "the methods the path takes", "schema": {"type": "string"}}
    return {
        404: error("no such path: the paths are the ones this schema lists"),
        405: error("the path does not take this method", headers={"Allow": allow}),
        408: error(f"headers or body not received within {limits.read_timeout:g} s"),
        413: error(f"request body over {limits.max_body_bytes} bytes"),
        431: error(f"request line and headers over {limits.max_header_bytes} bytes"),
        503: error("the server is shutting down"),
    }


def _add_error_handlers(app) -> None:
    """Every error in the API's shape: ``{"error": "one line", "detail": [...] | null}``."""
    from fastapi.encoders import jsonable_encoder
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request, exc: RequestValidationError):
        errors = jsonable_encoder(exc.errors(), include={"loc", "msg", "type"})
        return JSONResponse(
            status_code=422, content={"error": _summarise(errors), "detail": errors}
        )

    @app.exception_handler(HTTPException)
    async def http_error(request, exc: HTTPException):
        status, message = exc.status_code, str(exc.detail)
        headers = getattr(exc, "headers", None)
        if status == 400:  # FastAPI could not decode the body (bad UTF-8, too deeply nested)
            status, message = (
                422,
                f"the body is not valid JSON ({first_line(exc.__cause__ or exc)})",
            )
        if status == 405:  # routing names the first route's methods only: GET, not HEAD
            headers = {**(headers or {}), "Allow": ", ".join(_methods_at(app, request.scope))}
        return JSONResponse(
            status_code=status, content={"error": message, "detail": None}, headers=headers
        )


def _methods_at(app, scope: dict) -> list[str]:
    """Return every method a route takes at the request's path, sorted (for ``Allow``)."""
    from starlette.routing import Match

    methods = set()
    for route in app.router.routes:
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)


def _add_get(app, path: str, endpoint: Callable) -> None:
    """Serve ``endpoint`` on ``GET path``, and on ``HEAD path`` (headers only, as HTTP says).

    The HEAD route stays out of the schema: it would repeat the GET operation
    under the same operation id, and HTTP defines HEAD from GET.
    """
    app.add_api_route(path, endpoint, methods=["GET"])
    app.add_api_route(path, endpoint, methods=["HEAD"], include_in_schema=False)


def _add_routes(app, model: "EmotionModel", limits: ServeLimits, name: str) -> None:
    """``GET /health``, ``GET /labels`` and ``POST /predict``."""
    from fastapi.responses import Response
    from starlette.concurrency import run_in_threadpool

    from emoclassic.api_schemas import Error, Health, Labels, PredictResponse, predict_request_model

    labels = list(model.label_names)
    scoring = threading.Lock()  # one heavy batch at a time: the event loop keeps the GIL often
    PredictRequest = predict_request_model(
        limits.max_batch, limits.max_text_chars, limits.max_body_bytes
    )

    async def health() -> Health:
        """Report liveness: the loaded model's name, kind and label count (HEAD too)."""
        return Health(status="ok", model=name, kind=model.kind, labels=len(labels))

    async def get_labels() -> Labels:
        """Return the label list, in score-column order, with the tuned thresholds (HEAD too)."""
        cutoffs = dict(zip(labels, model.thresholds.tolist(), strict=True))
        return Labels(labels=labels, thresholds=cutoffs)

    _add_get(app, "/health", health)
    _add_get(app, "/labels", get_labels)

    def answer(request) -> bytes:
        scores = model.predict_proba(request.texts)
        cutoffs = model.resolve_thresholds(request.threshold)
        predictions = _predictions(scores, cutoffs, labels, request.top_k)
        return json.dumps({"predictions": predictions}).encode()

    def answer_alone(request) -> bytes:
        with scoring:
            return answer(request)

    @app.post(
        "/predict",
        response_model=PredictResponse,
        responses={
            422: {
                "model": Error,
                "description": "malformed JSON or UTF-8, or a request the schema refuses",
            }
        },
    )
    async def predict(request: PredictRequest):
        """Return the emotions above the threshold, and all scores sorted, for each text."""
        if model.scores_instantly and sum(map(len, request.texts)) <= INLINE_CHARS:
            content = answer(request)
        else:
            content = await run_in_threadpool(answer_alone, request)
        return Response(content, media_type="application/json")


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
