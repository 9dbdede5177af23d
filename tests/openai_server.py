"""A loopback HTTP server speaking the OpenAI chat-completions protocol, with failure modes."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from augment_fakes import WORDS


class FakeOpenAI:
    """Serve ``POST /v1/chat/completions`` and ``GET /v1/models`` on 127.0.0.1.

    The server speaks HTTP/1.1 with keep-alive, as vLLM and llama.cpp do, so a
    client that pools its connection sends many requests over one; ``connections``
    counts the connections it accepted.

    Parameters
    ----------
    fail_first : int
        Answer the first N completion requests with HTTP 500.
    stall_first : int
        Let the next N completion requests hang for ``stall_seconds`` before answering.
    fail_if : str or None
        Always answer 500 when the prompt contains this string.
    delay : float
        Seconds to wait before every answer.
    rate_limit_first : int
        Answer the first N completion requests with HTTP 429 and ``Retry-After``.
    retry_after : str
        The ``Retry-After`` header sent with those 429s (seconds, as text).
    bad_json_first : int
        Answer the first N completion requests with HTTP 200 and a body that is not JSON.
    status : int or None
        Answer every completion request with this HTTP status (for example 401).
    """

    def __init__(
        self,
        *,
        fail_first=0,
        stall_first=0,
        stall_seconds=3.0,
        fail_if=None,
        delay=0.0,
        rate_limit_first=0,
        retry_after="0",
        bad_json_first=0,
        status=None,
    ):
        self.fail_first = fail_first
        self.stall_first = stall_first
        self.stall_seconds = stall_seconds
        self.fail_if = fail_if
        self.delay = delay
        self.rate_limit_first = rate_limit_first
        self.retry_after = retry_after
        self.bad_json_first = bad_json_first
        self.status = status
        self.requests = 0
        self.answered = 0
        self.texts_sent = 0
        self.connections = 0
        self.bodies: list[dict] = []
        self.headers: list[dict] = []
        self.arrivals: list[float] = []
        self.asked: Counter = Counter()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                with server.lock:
                    server.connections += 1

            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path == "/v1/models":
                    self._send(200, {"object": "list", "data": [{"id": "fake-model"}]})
                else:
                    self._send(404, {"error": "not found"})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests += 1
                    number = server.requests
                    server.bodies.append(body)
                    server.headers.append({k.lower(): v for k, v in self.headers.items()})
                    server.arrivals.append(time.monotonic())
                prompt = body["messages"][-1]["content"]
                if server.status is not None:
                    self._send(server.status, {"error": {"message": "no entry"}})
                    return
                if number <= server.fail_first or (server.fail_if and server.fail_if in prompt):
                    self._send(500, {"error": "boom"})
                    return
                number -= server.fail_first
                if number <= server.rate_limit_first:
                    self._send(429, {"error": "slow down"}, {"Retry-After": server.retry_after})
                    return
                number -= server.rate_limit_first
                if number <= server.bad_json_first:
                    self._send_raw(200, b"<html>not json</html>")
                    return
                number -= server.bad_json_first
                if number <= server.stall_first:
                    time.sleep(server.stall_seconds)
                time.sleep(server.delay)
                self._answer(body, prompt)

            def _answer(self, body, prompt):
                choices = []
                for i in range(body.get("n", 1)):
                    with server.lock:
                        k = server.asked[prompt]
                        server.asked[prompt] += 1
                    digest = hashlib.sha256(f"{prompt}|{k}".encode()).digest()
                    text = " ".join(WORDS[b % len(WORDS)] for b in digest[:9]).capitalize() + "."
                    choices.append({"index": i, "message": {"role": "assistant", "content": text}})
                try:
                    self._send(200, {"object": "chat.completion", "choices": choices})
                except OSError:  # the client gave up (timeout)
                    return
                with server.lock:
                    server.answered += 1
                    server.texts_sent += len(choices)

            def _send(self, status, payload, headers=None):
                self._send_raw(status, json.dumps(payload).encode(), headers)

            def _send_raw(self, status, data, headers=None):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
