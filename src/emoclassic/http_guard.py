"""What every HTTP request passes before the API sees it: size limits, read timeouts, shutdown.

:class:`RequestGuard` is an ASGI middleware, so it holds under any ASGI server.
It reads the whole body first (it is at most ``max_body_bytes``), and answers
with the API's JSON error shape ``{"error": "one line", "detail": null}``:

- **431** when the request line and headers are over ``max_header_bytes``;
- **413** when the body is over ``max_body_bytes`` (declared or streamed);
- **408** when the body has not arrived ``read_timeout`` seconds after the
  headers (a stalled or trickling client no longer holds its connection);
- **503** when the server starts shutting down while a body is still coming,
  so a shutdown never waits on a stalled client.

Under uvicorn, :func:`guarded_protocol` adds the same limit and timeout to the
headers themselves, before any of them is buffered (``emoclassic serve`` uses it).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

__all__ = ["RequestGuard", "error_body", "guarded_protocol"]


def error_body(message: str) -> bytes:
    """Return the API's JSON error body for a one-line ``message``.

    Examples
    --------
    >>> error_body("request body over 10 bytes")
    b'{"error": "request body over 10 bytes", "detail": null}'
    """
    return json.dumps({"error": message, "detail": None}).encode()


def headers_over(limit: int) -> str:
    """Return the 431 message for a header limit of ``limit`` bytes."""
    return f"request line and headers over {limit} bytes"


def body_over(limit: int) -> str:
    """Return the 413 message for a body limit of ``limit`` bytes."""
    return f"request body over {limit} bytes"


def too_slow(timeout: float, part: str) -> str:
    """Return the 408 message when ``part`` did not arrive within ``timeout`` seconds."""
    return f"the request {part} did not arrive within {timeout:g} s"


SHUTTING_DOWN = "the server is shutting down"


class RequestGuard:
    """ASGI middleware: body and header limits, a body read timeout, shutdown awareness.

    Parameters
    ----------
    app : ASGI application
        The application to protect.
    max_body_bytes : int
        Largest body accepted (413 above).
    max_header_bytes : int
        Largest request line plus headers accepted (431 above).
    read_timeout : float
        Seconds a client may take to send the whole body (408 after).
    stopping : threading.Event, optional
        Set by the server when it starts shutting down: a body still arriving is
        then answered 503 at once. A new event when not given.

    Examples
    --------
    >>> from fastapi import FastAPI
    >>> from fastapi.testclient import TestClient
    >>> app = FastAPI()
    >>> app.add_middleware(
    ...     RequestGuard, max_body_bytes=10, max_header_bytes=4096, read_timeout=5.0
    ... )
    >>> reply = TestClient(app).post("/anything", content=b"x" * 11)
    >>> reply.status_code, reply.json()["error"]
    (413, 'request body over 10 bytes')
    """

    #: Seconds between two looks at the deadline and the stop signal while a body arrives.
    poll_interval = 0.2

    def __init__(
        self,
        app,
        *,
        max_body_bytes: int,
        max_header_bytes: int,
        read_timeout: float,
        stopping: threading.Event | None = None,
    ):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.read_timeout = read_timeout
        self.stopping = stopping if stopping is not None else threading.Event()

    async def __call__(self, scope, receive, send):
        """Check an HTTP request's size and pace, then pass it on with its body read."""
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        header_bytes = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
        header_bytes += sum(len(name) + len(value) + 4 for name, value in scope["headers"])
        if header_bytes > self.max_header_bytes:
            return await _send_error(send, 431, headers_over(self.max_header_bytes))
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            return await _send_error(send, 413, body_over(self.max_body_bytes))
        body, refusal = await self._read_body(receive)
        if refusal is not None:
            return await _send_error(send, *refusal)
        if body is None:  # the client went away
            return None
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # from now on only the disconnect

        return await self.app(scope, replay, send)

    async def _read_body(self, receive) -> tuple[bytes | None, tuple[int, str] | None]:
        """Read the body: ``(body, None)``, ``(None, (status, error))`` or ``(None, None)``."""
        chunks: list[bytes] = []
        size = 0
        deadline = time.monotonic() + self.read_timeout
        while True:
            message = await self._next_message(receive, deadline)
            if isinstance(message, tuple):
                return None, message
            if message["type"] == "http.disconnect":
                return None, None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None, (413, body_over(self.max_body_bytes))
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), None

    async def _next_message(self, receive, deadline: float):
        """Return the next ASGI message, or ``(status, error)`` on the deadline or a shutdown."""
        pending = asyncio.ensure_future(receive())
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return 408, too_slow(self.read_timeout, "body")
                done, _ = await asyncio.wait({pending}, timeout=min(remaining, self.poll_interval))
                if done:
                    return pending.result()
                if self.stopping.is_set():
                    return 503, SHUTTING_DOWN
        finally:
            if not pending.done():
                pending.cancel()


async def _send_error(send, status: int, message: str) -> None:
    """Answer ``status`` with the JSON error body and close the connection."""
    body = error_body(message)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


#: Reason phrases of the statuses the protocol answers itself.
_REASONS = {400: b"Bad Request", 408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


def guarded_protocol(max_header_bytes: int, read_timeout: float):
    """Return uvicorn's httptools protocol with a header limit and a header read timeout.

    uvicorn's httptools protocol keeps every header a client sends and waits for
    them forever. The returned subclass answers **431** once the request line
    and headers pass ``max_header_bytes``, **408** when they are not complete
    ``read_timeout`` seconds after the request began (a request begins with its
    first byte: a request line cut short, such as ``GE``, is answered 408 too),
    and its own malformed-HTTP **400** in the API's JSON error shape, then
    closes the connection. A connection on which no byte of a request arrived
    within ``read_timeout`` is closed without an answer: there is nothing to
    answer.

    Parameters
    ----------
    max_header_bytes : int
        Largest request line plus headers.
    read_timeout : float
        Seconds a client may take to send them.

    Returns
    -------
    type
        A protocol class for ``uvicorn.Config(http=...)``.

    Raises
    ------
    ImportError
        When httptools is not installed (it comes with ``uvicorn[standard]``).
    """
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol, with bounded and timed headers."""

        def connection_made(self, transport):
            super().connection_made(transport)
            self._refusal = None
            self._request_begun = False
            self._start_header_clock()

        def on_message_begin(self):  # called on a request's first byte
            super().on_message_begin()
            self._header_bytes = 0
            self._request_begun = True
            if self._header_clock is None:
                self._start_header_clock()

        def on_url(self, url):
            self._count(len(url))
            super().on_url(url)

        def on_header(self, name, value):
            self._count(len(name) + len(value) + 4)
            super().on_header(name, value)

        def on_headers_complete(self):
            self._stop_header_clock()
            super().on_headers_complete()

        def connection_lost(self, exc):
            self._stop_header_clock()
            super().connection_lost(exc)

        def send_400_response(self, msg):
            status, message = self._refusal or (400, "the request is not valid HTTP")
            self._answer(status, message)

        def _count(self, size):
            self._header_bytes = getattr(self, "_header_bytes", 0) + size
            if self._header_bytes > max_header_bytes:
                self._refusal = (431, headers_over(max_header_bytes))
                raise ValueError(self._refusal[1])  # stops the parser; see send_400_response

        def _start_header_clock(self):
            self._header_clock = self.loop.call_later(read_timeout, self._headers_too_slow)

        def _stop_header_clock(self):
            clock, self._header_clock = getattr(self, "_header_clock", None), None
            if clock is not None:
                clock.cancel()

        def _headers_too_slow(self):
            self._header_clock = None
            if self.cycle is None or self.cycle.response_complete:
                # Close quietly when no byte of a request came (an idle connection);
                # answer 408 once one has, be it only part of the request line.
                if self._request_begun:
                    self._answer(408, too_slow(read_timeout, "headers"))
                elif not self.transport.is_closing():
                    self.transport.close()

        def _answer(self, status, message):
            if self.transport.is_closing():
                return
            body = error_body(message)
            head = [
                b"HTTP/1.1 %d %s" % (status, _REASONS[status]),
                b"content-type: application/json",
                b"content-length: %d" % len(body),
                b"connection: close",
            ]
            self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
            self.transport.close()

    return GuardedHttpToolsProtocol
