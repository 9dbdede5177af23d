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

    Parameters
    ----------
    fail_first : int
        Answer the first N completion requests with HTTP 500.
    stall_first : int
        Let the first N completion requests hang for ``stall_seconds`` before answering.
    fail_if : str or None
        Always answer 500 when the prompt contains this string.
    delay : float
        Seconds to wait before every answer.
    """

    def __init__(self, *, fail_first=0, stall_first=0, stall_seconds=3.0, fail_if=None, delay=0.0):
        self.fail_first = fail_first
        self.stall_first = stall_first
        self.stall_seconds = stall_seconds
        self.fail_if = fail_if
        self.delay = delay
        self.requests = 0
        self.answered = 0
        self.texts_sent = 0
        self.bodies: list[dict] = []
        self.asked: Counter = Counter()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
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
                prompt = body["messages"][-1]["content"]
                if number <= server.fail_first or (server.fail_if and server.fail_if in prompt):
                    self._send(500, {"error": "boom"})
                    return
                if number <= server.fail_first + server.stall_first:
                    time.sleep(server.stall_seconds)
                time.sleep(server.delay)
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

            def _send(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

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
