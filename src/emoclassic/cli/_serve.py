"""``emoclassic serve MODEL``: the HTTP JSON API (FastAPI + uvicorn)."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

from emoclassic.cli._common import bounded_float, whole_number

#: Ranges of the limit flags. A limit outside its range would either make every
#: request fail (a header limit under one request line, a timeout no client meets)
#: or not be a limit at all (more than the request schema or memory can hold).
MAX_BATCH = 1_000_000
MAX_TEXT_CHARS = 100_000_000
MAX_BODY_BYTES = 2**30
HEADER_BYTES = (1024, 1_048_576)
READ_TIMEOUT = (0.1, 3600.0)

read_timeout = bounded_float(
    f"between {READ_TIMEOUT[0]:g} and {READ_TIMEOUT[1]:g} seconds",
    lambda v: READ_TIMEOUT[0] <= v <= READ_TIMEOUT[1],
)


def host_name(text: str) -> str:
    """Argparse type: a host name or address that can be looked up (IDNA-encodable).

    Examples
    --------
    >>> host_name("127.0.0.1"), host_name("::1")
    ('127.0.0.1', '::1')
    >>> host_name("a..b")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: not a valid host name or address: 'a..b'
    """
    try:
        text.encode("idna")
    except UnicodeError:  # undecodable bytes, an empty or over-long label
        raise argparse.ArgumentTypeError(f"not a valid host name or address: {text!r}") from None
    return text


def add_parser(subparsers) -> None:
    """Register the ``serve`` subcommand."""
    from emoclassic.server import ServeLimits

    defaults = ServeLimits()
    parser = subparsers.add_parser(
        "serve",
        help="serve a model over HTTP (a demo page at /, POST /predict, /explain, GET /labels, "
        "/model, /health, /docs)",
        description="Load a saved model once and answer JSON requests: POST /predict "
        '{"texts": [...], "top_k": K, "threshold": "tuned"|0.3}, POST /explain {"text": ...}, '
        "GET /labels, GET /model, GET /health; OpenAPI docs at /docs; a demo page at / (type a "
        "text, see its emotions and why; --no-ui turns it off). Stops cleanly on SIGTERM or "
        "Ctrl-C. Needs the 'serve' extra. "
        "Log lines (warnings; with -v also info, with --access-log one per request) go to "
        "stderr as 'emoclassic: LEVEL: ...'.",
    )
    parser.add_argument("model", type=Path, help="saved model")
    parser.add_argument(
        "--host", type=host_name, default="127.0.0.1", help="address (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--port",
        type=whole_number(0, 65535),
        default=8000,
        help="port, 0 to 65535; 0 picks a free one (default: 8000)",
    )
    _add_limit_arguments(parser, defaults)
    parser.add_argument(
        "--no-ui",
        dest="ui",
        action="store_false",
        help="no demo page: GET / answers 404 (an API-only deployment)",
    )
    parser.add_argument(
        "--access-log", action="store_true", help="log every request (a line on stderr)"
    )
    parser.add_argument(
        "--allow-version-mismatch",
        action="store_true",
        help="load a model saved with another scikit-learn minor version",
    )
    parser.set_defaults(run=run)


def _add_limit_arguments(parser: argparse.ArgumentParser, defaults) -> None:
    """Add the request limit flags, each checked against its range while parsing."""
    parser.add_argument(
        "--max-batch",
        type=whole_number(1, MAX_BATCH),
        default=defaults.max_batch,
        help=f"most texts per request, 1 to {MAX_BATCH:,} (default: {defaults.max_batch})",
    )
    parser.add_argument(
        "--max-text-chars",
        type=whole_number(1, MAX_TEXT_CHARS),
        default=defaults.max_text_chars,
        help=f"longest text in characters, 1 to {MAX_TEXT_CHARS:,} "
        f"(default: {defaults.max_text_chars})",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=whole_number(1, MAX_BODY_BYTES),
        default=defaults.max_body_bytes,
        help=f"largest request body, 1 to {MAX_BODY_BYTES:,} (default: {defaults.max_body_bytes})",
    )
    parser.add_argument(
        "--max-header-bytes",
        type=whole_number(*HEADER_BYTES),
        default=defaults.max_header_bytes,
        help=f"largest request line plus headers, {HEADER_BYTES[0]:,} to {HEADER_BYTES[1]:,} "
        f"(default: {defaults.max_header_bytes})",
    )
    parser.add_argument(
        "--read-timeout",
        type=read_timeout,
        default=defaults.read_timeout,
        metavar="SECONDS",
        help="seconds a client may take to send its headers, and again its body, "
        f"{READ_TIMEOUT[0]:g} to {READ_TIMEOUT[1]:g} (default: {defaults.read_timeout:g})",
    )


def run(args: argparse.Namespace) -> int:
    """Load the model, then serve until SIGTERM or Ctrl-C."""
    from emoclassic.errors import require
    from emoclassic.persistence import load_model
    from emoclassic.server import ServeLimits, create_app

    uvicorn = require("uvicorn", "serve")
    require("fastapi", "serve")
    model = load_model(args.model, allow_version_mismatch=args.allow_version_mismatch)
    model.warm_up()  # the first requests are then as fast as the rest
    limits = ServeLimits(
        args.max_batch,
        args.max_text_chars,
        args.max_body_bytes,
        args.max_header_bytes,
        args.read_timeout,
    )
    app = create_app(model, limits, name=args.model.name, ui=args.ui)
    listener = _listen(args.host, args.port)
    host, port = listener.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    page = "; demo page: /" if args.ui else ""
    print(f"serving {args.model} on http://{shown}:{port} (docs: /docs{page})", flush=True)
    config = uvicorn.Config(
        app,
        **_logging(args.access_log),
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


def _logging(access_log: bool) -> dict:
    """Return uvicorn's logging options: its records go through the command's logging.

    uvicorn installs its own handlers and format (``WARNING:  Invalid HTTP
    request received.``) unless ``log_config`` is ``None``; without them its
    records reach the handler :func:`emoclassic.cli.main.configure_logging`
    installed, as ``emoclassic: warning: ...`` lines, at the level ``-v`` set.
    An access line is an info record, shown with ``--access-log``.
    """
    import logging

    if access_log:
        logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    return {"log_config": None, "log_level": None, "access_log": access_log}


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
    except UnicodeError:  # a host name the IDNA codec refuses
        raise EmoclassicError(f"cannot listen on {host!r}: not a valid host name") from None
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
