"""An HTTP JSON API over any :class:`~emoclassic.model.EmotionModel` (FastAPI), and a demo page.

``create_app(model)`` returns an ASGI application with

- ``POST /predict`` ``{"texts": [...], "top_k": 3, "threshold": "tuned"}``: for
  each text the emotions at or above the threshold (highest first, at most
  ``top_k``) plus every label's score, sorted;
- ``POST /explain`` ``{"text": "...", "labels": ["joy"], "method": "auto"}``:
  why the model scored the text so, per emotion: the exact linear contributions
  of :func:`~emoclassic.explain.explain_linear` (the numbers of ``emoclassic
  explain --json``) or LIME's approximation, plus the text cut into words with
  their shares (:func:`~emoclassic.explain.word_scores`) for highlighting;
- ``GET /labels``: the label list with the tuned thresholds;
- ``GET /model``: the model's name, kind, recipe, label count, test macro-F1
  (from its sidecar) and how ``/explain`` explains it;
- ``GET /health``: liveness and what is loaded;
- ``GET /``: the demo page (:mod:`emoclassic.demo_page`), unless ``ui=False``;
- ``/docs`` and ``/openapi.json``: the OpenAPI description. It is the contract:
  it declares every limit the server enforces and every status it answers.

``HEAD`` works wherever ``GET`` does: the same status and headers, no body.

Every error is a JSON object ``{"error": "one line", "detail": [...] | null}``:
422 for malformed JSON or UTF-8, wrong types, unknown fields, empty lists or
blank texts (``detail`` lists pydantic's errors when it found them), and for an
explanation method the model cannot take; 413 when the body, the batch or a
text is over its limit; 408, 431 and 503 from the
:class:`~emoclassic.http_guard.RequestGuard` (slow body, headers too large,
shutting down); 501 when an explanation needs the missing ``explain`` extra;
404 for a path the schema does not list (a trailing slash is not redirected)
and 405 for a method the path does not take, with an ``Allow`` header. The
model is loaded once by the caller. A ``/predict`` request whose texts cost
little (a model with the fast linear path and at most ``INLINE_CHARS``
characters in all) is scored on the event loop; everything else (every
``/explain`` included) runs in one worker thread at a time, so that
``/health`` stays fast while heavy requests are scored.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the endpoint
# annotations at run time, and the request schemas are local to create_app.
import json
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from emoclassic._version import __version__
from emoclassic.errors import InvalidParameter, MissingDependencyError, first_line, require
from emoclassic.http_guard import RequestGuard

if TYPE_CHECKING:  # this module stays light: the CLI reads ServeLimits' defaults
    import numpy as np

    from emoclassic.model import EmotionModel

__all__ = ["ServeLimits", "create_app", "explain_text", "explanation_json"]

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


def create_app(
    model: "EmotionModel",
    limits: ServeLimits | None = None,
    *,
    name: str = "model",
    ui: bool = True,
):
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
        Shown by ``/health`` and ``/model`` (for example the model file's name).
    ui : bool, default=True
        Serve the demo page at ``GET /``; without it ``/`` is a 404, as for
        any path the schema does not list.

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
    >>> client.get("/").headers["content-type"]
    'text/html; charset=utf-8'
    >>> joy = client.post("/explain", json={"text": "good day"}).json()["emotions"][0]
    >>> joy["label"], [c["feature"] for c in joy["contributions"]][:2]
    ('joy', ['good', 'good day'])
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
    scoring = threading.Lock()  # one heavy request at a time: the event loop keeps the GIL often
    _add_info_routes(app, model, limits, name)
    _add_predict_route(app, model, limits, scoring)
    _add_explain_route(app, model, limits, scoring)
    if ui:
        _add_page_route(app, _common_responses(api_schemas.Error, limits))
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

    @app.exception_handler(InvalidParameter)
    async def invalid_parameter(request, exc: InvalidParameter):
        return JSONResponse(status_code=422, content={"error": str(exc), "detail": None})

    @app.exception_handler(MissingDependencyError)
    async def missing_dependency(request, exc: MissingDependencyError):
        return JSONResponse(status_code=501, content={"error": str(exc), "detail": None})

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


def _add_get(app, path: str, endpoint: Callable, **options) -> None:
    """Serve ``endpoint`` on ``GET path``, and on ``HEAD path`` (headers only, as HTTP says).

    The HEAD route stays out of the schema: it would repeat the GET operation
    under the same operation id, and HTTP defines HEAD from GET. ``options``
    go to both routes (``add_api_route``'s keywords).
    """
    app.add_api_route(path, endpoint, methods=["GET"], **options)
    app.add_api_route(path, endpoint, methods=["HEAD"], include_in_schema=False, **options)


def _add_info_routes(app, model: "EmotionModel", limits: ServeLimits, name: str) -> None:
    """``GET /health``, ``GET /labels`` and ``GET /model`` (each with ``HEAD``)."""
    from emoclassic.api_schemas import Health, Labels, ModelInfo

    labels = list(model.label_names)
    info = ModelInfo(**_model_info(model, name, limits))

    async def health() -> Health:
        """Report liveness: the loaded model's name, kind and label count (HEAD too)."""
        return Health(status="ok", model=name, kind=model.kind, labels=len(labels))

    async def get_labels() -> Labels:
        """Return the label list, in score-column order, with the tuned thresholds (HEAD too)."""
        cutoffs = dict(zip(labels, model.thresholds.tolist(), strict=True))
        return Labels(labels=labels, thresholds=cutoffs)

    async def model_info() -> ModelInfo:
        """Describe the model: name, kind, recipe, labels, test macro-F1, explanation (HEAD too)."""
        return info

    _add_get(app, "/health", health)
    _add_get(app, "/labels", get_labels)
    _add_get(app, "/model", model_info)


def _add_predict_route(
    app, model: "EmotionModel", limits: ServeLimits, scoring: threading.Lock
) -> None:
    """``POST /predict``: inline for cheap requests, else in a worker thread under ``scoring``."""
    from fastapi.responses import Response
    from starlette.concurrency import run_in_threadpool

    from emoclassic.api_schemas import Error, PredictResponse, predict_request_model

    labels = list(model.label_names)
    PredictRequest = predict_request_model(
        limits.max_batch, limits.max_text_chars, limits.max_body_bytes
    )

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


def _add_explain_route(
    app, model: "EmotionModel", limits: ServeLimits, scoring: threading.Lock
) -> None:
    """``POST /explain``: one text's explanation, computed in a worker thread under ``scoring``."""
    from fastapi.responses import Response
    from starlette.concurrency import run_in_threadpool

    from emoclassic.api_schemas import Error, ExplainResponse, explain_request_model

    ExplainRequest = explain_request_model(model.label_names, limits.max_text_chars)

    def answer_alone(request) -> bytes:
        with scoring:
            explanation = explain_text(
                model,
                request.text,
                request.labels,
                method=request.method,
                num_features=request.num_features,
                num_samples=request.num_samples,
            )
            return json.dumps(explanation_json(explanation), allow_nan=False).encode()

    @app.post(
        "/explain",
        response_model=ExplainResponse,
        responses={
            422: {
                "model": Error,
                "description": "malformed JSON or UTF-8, a request the schema refuses, or "
                "method 'linear' for a model that is not linear",
            },
            501: {
                "model": Error,
                "description": "LIME is needed and the 'explain' extra is not installed",
            },
        },
    )
    async def explain(request: ExplainRequest):
        """Explain one text: exact linear contributions, or LIME; plus its words' shares."""
        content = await run_in_threadpool(answer_alone, request)
        return Response(content, media_type="application/json")


def _add_page_route(app, common: dict[int, dict]) -> None:
    """``GET /``: the demo page, with its Content-Security-Policy (and ``HEAD``).

    FastAPI declares an operation's error bodies in the operation's own media
    type (``text/html`` here), so the ``common`` responses are declared again,
    each with its JSON body spelt out.
    """
    from fastapi.responses import HTMLResponse

    from emoclassic.demo_page import demo_page

    page = demo_page()
    header = {"schema": {"type": "string"}}
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    responses = {
        code: {**{k: v for k, v in spec.items() if k != "model"}, "content": error}
        for code, spec in common.items()
    }
    responses[200] = {
        "description": "the demo page (self-contained HTML: no request leaves the server's origin)",
        "headers": {key: {**header, "description": key} for key in page.headers},
    }

    async def index():
        """Return the demo page: type a text, see its emotions and why (HEAD too)."""
        return HTMLResponse(page.body, headers=page.headers)

    _add_get(app, "/", index, response_class=HTMLResponse, responses=responses)


def explain_text(
    model: "EmotionModel",
    text: str,
    labels=None,
    *,
    method: str = "auto",
    num_features: int = 10,
    num_samples: int = 1000,
):
    """Explain ``text`` as ``emoclassic explain`` does: exact when linear, else LIME.

    Parameters
    ----------
    model : EmotionModel
        The model.
    text : str
        The text.
    labels : sequence of str, "all" or None
        As in :func:`~emoclassic.explain.explain_linear`.
    method : {"auto", "linear", "lime"}, default="auto"
        ``"auto"``: ``"linear"`` when the model is linear, else ``"lime"``.
    num_features, num_samples : int
        LIME's options (:func:`~emoclassic.explain.explain_lime`).

    Returns
    -------
    emoclassic.explain.Explanation

    Raises
    ------
    InvalidParameter
        ``method="linear"`` for a model that is not linear, or LIME for a text
        without a word.
    MissingDependencyError
        LIME is needed and not installed.
    """
    from emoclassic.explain import explain_lime, explain_linear

    linear = model.explains_exactly
    if method == "auto":
        method = "linear" if linear else "lime"
    if method == "linear" and not linear:
        raise InvalidParameter(
            "method",
            "'linear' needs a linear text model (TF-IDF + logistic regression or naive "
            "Bayes); this model is explained with 'lime'",
        )
    if method == "linear":
        return explain_linear(model, text, labels)
    if method != "lime":
        raise InvalidParameter("method", f"must be 'auto', 'linear' or 'lime', got {method!r}")
    return explain_lime(model, text, labels, num_features=num_features, num_samples=num_samples)


def explanation_json(explanation) -> dict:
    """Return ``/explain``'s body: the explanation's ``to_dict()`` plus each emotion's segments.

    The segments cut the text into words (each with its share of the emotion's
    contributions, from :func:`~emoclassic.explain.word_scores`) and the text
    between them (share ``None``); their texts join to the explained text.
    Infinite or NaN numbers become ``None`` (``null``), as in ``emoclassic
    explain --json``.

    Examples
    --------
    >>> from emoclassic.explain import Contribution, EmotionExplanation, Explanation
    >>> joy = EmotionExplanation("joy", 0.9, 0.5, True, -1.0, 1.2,
    ...                          [Contribution("happy", 0.5, 4.4, 2.2)])
    >>> body = explanation_json(Explanation("so happy!", "linear", [joy]))
    >>> body["emotions"][0]["segments"]
    [{'text': 'so', 'share': 0.0}, {'text': ' ', 'share': None}, {'text': 'happy', 'share': 2.2}, {'text': '!', 'share': None}]
    """  # noqa: E501
    from emoclassic.explain import word_scores

    payload = explanation.to_dict()
    for emotion, described in zip(explanation.emotions, payload["emotions"], strict=True):
        described["segments"] = _segments(explanation.text, word_scores(emotion, explanation.text))
    return _finite(payload)


def _segments(text: str, spans: list[tuple[int, int, float]]) -> list[dict]:
    """Cut ``text`` at the word ``spans``: each word with its share, the rest with ``None``."""
    pieces, last = [], 0
    for start, end, share in spans:
        if start > last:
            pieces.append({"text": text[last:start], "share": None})
        pieces.append({"text": text[start:end], "share": share})
        last = end
    if last < len(text):
        pieces.append({"text": text[last:], "share": None})
    return pieces


def _finite(value):
    """Replace infinite and NaN floats with ``None``, all the way down (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def _model_info(model: "EmotionModel", name: str, limits: ServeLimits) -> dict:
    """Return ``/model``'s fields from the model and its sidecar metadata."""
    import importlib.util

    metadata = model.metadata
    recipe = metadata.get("recipe")
    if model.explains_exactly:
        explanation = "linear"
        note = (
            "Exact: each word's share of the top emotion's log-odds, from the model's own "
            "coefficients (the numbers of emoclassic explain)."
        )
    elif importlib.util.find_spec("lime") is not None:
        explanation = "lime"
        note = (
            "This model is not linear, so it has no exact explanation. LIME can approximate "
            "one on demand by scoring many variants of the text: it is slow."
        )
    else:
        explanation = None
        note = (
            "This model is not linear, so it has no exact explanation, and LIME, which "
            "approximates one, is not installed on the server (pip install 'emoclassic[explain]')."
        )
    return {
        "name": name,
        "kind": model.kind,
        "recipe": recipe if isinstance(recipe, str) else None,
        "labels": len(model.label_names),
        "test_macro_f1": _test_macro_f1(metadata),
        "explanation": explanation,
        "explanation_note": note,
        "max_text_chars": limits.max_text_chars,
    }


def _test_macro_f1(metadata: dict) -> float | None:
    """Return the sidecar's test macro-F1 under the tuned rule, or ``None`` when not recorded.

    Examples
    --------
    >>> _test_macro_f1({"metrics": {"test": {"tuned": {"macro_f1": 0.41}}}})
    0.41
    >>> print(_test_macro_f1({"metrics": {"test": {"tuned": {"macro_f1": "high"}}}}))
    None
    """
    value = metadata
    for key in ("metrics", "test", "tuned", "macro_f1"):
        value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


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
