"""``emoclassic serve MODEL``: the HTTP JSON API (FastAPI + uvicorn)."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

from emoclassic.cli._common import positive_float, positive_int


def add_parser(subparsers) -> None:
    """Register the ``serve`` subcommand."""
    from emoclassic.server import ServeLimits

    defaults = ServeLimits()
    parser = subparsers.add_parser(
        "serve",
        help="serve a model over HTTP (POST /predict, GET /labels, /health, /docs)",
        description="Load a saved model once and answer JSON requests: POST /predict "
        '{"texts": [...], "top_k": K, "threshold": "tuned"|0.3}, GET /labels, GET /health; '
        "OpenAPI docs at /docs. Stops cleanly on SIGTERM or Ctrl-C. Needs the 'serve' extra.",
    )
    parser.add_argument("model", type=Path, help="saved model")
    parser.add_argument("--host", default="127.0.0.1", help="address (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    parser.add_argument(
        "--max-batch",
        type=positive_int,
        default=defaults.max_batch,
        help=f"most texts per request (default: {defaults.max_batch})",
    )
    parser.add_argument(
        "--max-text-chars",
        type=positive_int,
        default=defaults.max_text_chars,
        help=f"longest text in characters (default: {defaults.max_text_chars})",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=positive_int,
        default=defaults.max_body_bytes,
        help=f"largest request body (default: {defaults.max_body_bytes})",
    )
    parser.add_argument(
        "--max-header-bytes",
        type=positive_int,
        default=defaults.max_header_bytes,
        help=f"largest request line plus headers (default: {defaults.max_header_bytes})",
    )
    parser.add_argument(
        "--read-timeout",
        type=positive_float,
        default=defaults.read_timeout,
        metavar="SECONDS",
        help="seconds a client may take to send its headers, and again its body "
        f"(default: {defaults.read_timeout:g})",
    )
    parser.add_argument("--access-log", action="store_true", help="log every request")
    parser.add_argument(
        "--allow-version-mismatch",
        action="store_true",
        help="load a model saved with another scikit-learn minor version",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load the model, then serve until SIGTERM or Ctrl-C."""
    from emoclassic.errors import UsageError, require
    from emoclassic.persistence import load_model
    from emoclassic.server import ServeLimits, create_app

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, got {args.port}")
    uvicorn = require("uvicorn", "serve")
    require("fastapi", "serve")
    model = load_model(args.model, allow_version_mismatch=args.allow_version_mismatch)
    limits = ServeLimits(
        args.max_batch,
        args.max_text_chars,
        args.max_body_bytes,
        args.max_header_bytes,
        args.read_timeout,
    )
    app = create_app(model, limits, name=args.model.name)
    listener = _listen(args.host, args.port)
    host, port = listener.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"serving {args.model} on http://{shown}:{port} (docs: /docs)", flush=True)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=args.access_log,
        timeout_graceful_shutdown=10,
        **_protocol(limits),
    )
    # uvicorn handles SIGINT/SIGTERM itself: it stops accepting connections, finishes
    # open requests, restores the previous handlers and re-raises the signal. For
    # SIGTERM that previous handler is a no-op, so a stop request exits with status 0.
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        _stopping_server(config).run(sockets=[listener])
    finally:
        signal.signal(signal.SIGTERM, previous)
        listener.close()
    print("stopped", flush=True)
    return 0


def _listen(host: str, port: int):
    """Bind ``host:port`` (port 0: any free port) or fail with one line before the banner."""
    import socket

    from emoclassic.errors import EmoclassicError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        listener = socket.socket(family, kind, proto)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(address)
            listener.listen(2048)
        except OSError:
            listener.close()
            raise
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise EmoclassicError(f"cannot listen on {host}:{port} ({reason})") from None
    return listener


def _protocol(limits) -> dict:
    """Return the uvicorn options that limit and time the headers (httptools; h11 without it)."""
    from emoclassic.http_guard import guarded_protocol

    try:
        return {"http": guarded_protocol(limits.max_header_bytes, limits.read_timeout)}
    except ImportError:  # h11 refuses oversized headers itself, with a plain-text 400
        return {"http": "h11", "h11_max_incomplete_event_size": limits.max_header_bytes}


def _stopping_server(config):
    """Return a uvicorn server that tells the app when shutdown begins (``app.state.stopping``)."""
    import uvicorn

    class StoppingServer(uvicorn.Server):
        async def shutdown(self, sockets=None):
            self.config.app.state.stopping.set()
            await super().shutdown(sockets=sockets)

    return StoppingServer(config)
