"""The HTTP API, over real HTTP on loopback, through the installed ``emoclassic serve``."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import LABELS, emoclassic_command, toy_split
from emoclassic.api_schemas import NOT_BLANK
from emoclassic.datasets import EmotionDataset
from emoclassic.persistence import save_model
from emoclassic.training import FitSettings, fit_model

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    ds = EmotionDataset(LABELS, {"train": toy_split(4), "validation": toy_split(2)})
    fitted = fit_model("lr", ds, FitSettings(progress=False, search=False))
    path = tmp_path_factory.mktemp("serve") / "lr.joblib"
    save_model(fitted, path)
    return fitted, path


def request(port, method, path, body=None, *, raw=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        payload = raw if raw is not None else (None if body is None else json.dumps(body))
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, path, body=payload, headers=all_headers)
        response = conn.getresponse()
        content = response.read()
        return response.status, json.loads(content)
    finally:
        conn.close()


def start_server(path, *options):
    """Start the installed ``emoclassic serve`` on a free port; return the process and port."""
    process = subprocess.Popen(
        [*emoclassic_command(), "serve", str(path), "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONWARNINGS="ignore"),
    )
    banner = process.stdout.readline()
    found = re.fullmatch(
        r"serving \S+ on http://127\.0\.0\.1:(\d+) \(docs: /docs; demo page: /\)\n", banner
    )
    if not found:
        process.kill()
        pytest.fail(f"server did not start: {banner!r} {process.communicate()[1]}")
    port = int(found.group(1))
    assert port != 0  # the banner names the port the server bound, not the one asked for
    assert request(port, "GET", "/health")[0] == 200  # listening before the banner
    return process, port


#: The module's server gives a client this long to send its headers, and its body.
READ_TIMEOUT = 1.5


@pytest.fixture(scope="module")
def server(model):
    _, path = model
    process, port = start_server(
        path, "--max-batch", "50", "--read-timeout", str(READ_TIMEOUT), "--max-header-bytes", "4096"
    )
    yield process, port
    if process.poll() is None:
        process.kill()
        process.communicate()


def raw_exchange(port, data: bytes, *, wait: float = 10.0) -> tuple[float, bytes]:
    """Send raw bytes, read until the server closes; return (seconds, everything read)."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(data)
        sock.settimeout(wait)
        start = time.monotonic()
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return time.monotonic() - start, b"".join(chunks)


def json_error(reply: bytes) -> tuple[int, dict]:
    """Status and JSON body of a raw HTTP/1.1 reply, after checking its content type."""
    head, _, body = reply.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert b"content-type: application/json" in head.lower()
    content = json.loads(body)
    assert set(content) == {"error", "detail"} and "\n" not in content["error"]
    return status, content


def reply_parts(reply: bytes) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body of one raw HTTP/1.1 reply."""
    head, _, body = reply.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return int(status_line.split(" ", 2)[1]), {k.lower(): v for k, v in headers.items()}, body


def raw_request(method: str, path: str, body: bytes = b"") -> bytes:
    """One raw HTTP/1.1 request that asks the server to close the connection after it."""
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def test_health_labels_and_docs(server, model):
    _, port = server
    fitted, _ = model
    assert request(port, "GET", "/health") == (
        200,
        {"status": "ok", "model": "lr.joblib", "kind": "sklearn", "labels": 3},
    )
    status, labels = request(port, "GET", "/labels")
    assert status == 200 and labels["labels"] == list(LABELS)
    assert list(labels["thresholds"].values()) == fitted.thresholds.tolist()
    status, spec = request(port, "GET", "/openapi.json")
    assert set(spec["paths"]) == {"/", "/predict", "/explain", "/labels", "/model", "/health"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/docs")
    response = conn.getresponse()
    assert response.status == 200 and b"swagger" in response.read().lower()
    conn.close()


def test_predict_matches_the_library(server, model):
    _, port = server
    fitted, _ = model
    texts = ["so happy today", "angry and scared of the dark"]
    status, reply = request(port, "POST", "/predict", {"texts": texts})
    assert status == 200
    scores = fitted.predict_proba(texts)
    for text_scores, prediction, expected in zip(
        scores, reply["predictions"], fitted.predict_emotions(texts), strict=True
    ):
        assert [(e["label"], e["score"]) for e in prediction["emotions"]] == expected
        ranked = sorted(zip(LABELS, text_scores.tolist(), strict=True), key=lambda p: -p[1])
        assert [(s["label"], s["score"]) for s in prediction["scores"]] == ranked
    status, reply = request(
        port, "POST", "/predict", {"texts": texts, "threshold": 0.0, "top_k": 2}
    )
    assert status == 200
    assert [len(p["emotions"]) for p in reply["predictions"]] == [2, 2]
    assert reply["predictions"][0]["emotions"][0]["label"] == "joy"
    status, reply = request(port, "POST", "/predict", {"texts": texts, "threshold": 1})
    assert [p["emotions"] for p in reply["predictions"]] == [[], []]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"texts": []}, 422, "texts: List should have at least 1 item"),
        ({"texts": "so happy"}, 422, "texts: Input should be a valid list"),
        ({"texts": [1, 2]}, 422, "texts.0: Input should be a valid string"),
        ({"texts": ["ok", None]}, 422, "texts.1: Input should be a valid string"),
        ({"texts": ["ok", " \u3000\x1c"]}, 422, "texts.1: Value error, must contain a character"),
        ({"texts": [""]}, 422, "texts.0: String should have at least 1 character"),
        ({}, 422, "texts: Field required"),
        ({"texts": ["ok"], "top_k": 0}, 422, "top_k: Input should be greater than or equal to 1"),
        ({"texts": ["ok"], "top_k": "3"}, 422, "top_k: Value error, must be a whole number"),
        ({"texts": ["ok"], "top_k": 2.5}, 422, "top_k: Value error, must be a whole number"),
        ({"texts": ["ok"], "top_k": True}, 422, "top_k: Value error, must be a whole number"),
        ({"texts": ["ok"], "threshold": 1.5}, 422, "threshold: Value error, must be 'tuned'"),
        ({"texts": ["ok"], "threshold": "low"}, 422, "threshold: Value error, must be 'tuned'"),
        ({"texts": ["ok"], "colour": 1}, 422, "colour: Extra inputs are not permitted"),
        ({"texts": ["ok"] * 51}, 422, "texts: List should have at most 50 items"),
        ({"texts": ["a" * 10_001]}, 422, "texts.0: String should have at most 10000 characters"),
    ],
)
def test_malformed_requests_are_4xx_json(server, body, status, fragment):
    _, port = server
    got_status, reply = request(port, "POST", "/predict", body)
    assert got_status == status
    assert fragment in reply["error"]
    if status == 422:  # pydantic's errors, in the declared shape, without the input echoed
        assert reply["detail"] and all(set(e) == {"loc", "msg", "type"} for e in reply["detail"])


def test_malformed_bodies(server):
    _, port = server
    status, reply = request(port, "POST", "/predict", raw="{not json")
    assert status == 422 and reply["error"].startswith("the body is not valid JSON")
    status, reply = request(port, "POST", "/predict", raw="[1, 2]")
    assert status == 422 and "valid dictionary" in reply["error"]
    status, reply = request(
        port, "POST", "/predict", raw="x", headers={"Content-Length": "2000000"}
    )
    assert status == 413
    status, reply = request(port, "GET", "/predict")
    assert status == 405 and reply["error"] == "Method Not Allowed"


def test_a_declared_body_over_the_limit_is_413_before_it_is_sent(server):
    _, port = server
    head = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n"
    _, reply = raw_exchange(port, head)
    assert json_error(reply) == (413, {"error": "request body over 1048576 bytes", "detail": None})


def test_a_streamed_body_over_the_limit_is_413():
    """No Content-Length: the guard counts the bytes as they arrive (in process, no socket)."""
    import asyncio

    import httpx

    from emoclassic.model import EmotionModel
    from emoclassic.server import ServeLimits, create_app

    app = create_app(EmotionModel(LABELS, [0.5] * len(LABELS)), ServeLimits(max_body_bytes=1000))

    async def chunks():
        for _ in range(20):
            yield b'{"texts": ["' + b"a" * 100

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post("/predict", content=chunks())

    reply = asyncio.run(scenario())
    assert reply.status_code == 413
    assert reply.json() == {"error": "request body over 1000 bytes", "detail": None}


def test_undecodable_and_deeply_nested_bodies_are_422(server):
    _, port = server
    status, reply = request(port, "POST", "/predict", raw=b'{"texts": ["ok \xff"]}')
    assert status == 422
    assert reply["error"].startswith("the body is not valid JSON ('utf-8' codec can't decode")
    status, reply = request(port, "POST", "/predict", raw="[" * 100_000 + "]" * 100_000)
    assert status == 422
    assert reply["error"].startswith("the body is not valid JSON (maximum recursion depth")


@pytest.mark.parametrize(
    "request_head",
    [
        b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-Many: a\r\n" * 500 + b"\r\n",
        b"GET /health?" + b"q" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
    ids=["one-big-header", "many-headers", "long-url"],
)
def test_headers_over_the_limit_are_431_json(server, request_head):
    _, port = server
    _, reply = raw_exchange(port, request_head)
    assert json_error(reply) == (
        431,
        {"error": "request line and headers over 4096 bytes", "detail": None},
    )


@pytest.mark.parametrize(
    ("sent", "part"),
    [
        (b'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{"texts"', "body"),
        (b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Le", "headers"),
        (b"GE", "headers"),  # a request line cut short: the request has begun all the same
    ],
    ids=["body", "headers", "request-line"],
)
def test_a_stalled_client_gets_408_after_the_read_timeout(server, sent, part):
    _, port = server
    elapsed, reply = raw_exchange(port, sent)
    error = f"the request {part} did not arrive within {READ_TIMEOUT:g} s"
    assert json_error(reply) == (408, {"error": error, "detail": None})
    assert READ_TIMEOUT - 0.5 < elapsed < READ_TIMEOUT + 5


def test_an_idle_connection_is_closed_without_an_answer(server):
    """No byte of a request came: nothing to answer, the connection is closed at the timeout."""
    _, port = server
    elapsed, reply = raw_exchange(port, b"")
    assert reply == b""
    assert READ_TIMEOUT - 0.5 < elapsed < READ_TIMEOUT + 5


def test_a_trickling_body_is_timed_out_as_a_whole(server):
    """A client sending a byte now and then never resets the clock (slowloris)."""
    _, port = server
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n")
        start = time.monotonic()
        sock.settimeout(0.3)
        reply = b""
        while not reply and time.monotonic() - start < 15:
            try:
                sock.sendall(b" ")
                reply = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:  # the server closed after answering; read what it sent
                break
        elapsed = time.monotonic() - start
        sock.settimeout(5)
        while chunk := sock.recv(65536):
            reply += chunk
    assert json_error(reply)[0] == 408
    assert elapsed < READ_TIMEOUT + 5


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/health", "application/json"),
        ("/labels", "application/json"),
        ("/model", "application/json"),
        ("/openapi.json", "application/json"),
        ("/", "text/html; charset=utf-8"),
    ],
)
def test_head_answers_like_get_without_a_body(server, path, content_type):
    _, port = server
    _, got = raw_exchange(port, raw_request("GET", path))
    _, reply = raw_exchange(port, raw_request("HEAD", path))
    status, headers, body = reply_parts(reply)
    get_status, get_headers, get_body = reply_parts(got)
    assert (status, get_status) == (200, 200)
    assert body == b""  # the server closed right after the head: nothing else was sent
    assert headers["content-type"] == get_headers["content-type"] == content_type
    assert int(headers["content-length"]) == len(get_body) > 0
    for name in ("content-security-policy", "x-content-type-options", "cache-control"):
        assert headers.get(name) == get_headers.get(name)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nope"),
        ("GET", "/../../etc/passwd"),
        ("GET", "/health/"),  # no redirect to /health: that 307 would be undeclared
        ("POST", "/predict/"),
        ("DELETE", "/nope"),
    ],
)
def test_an_unknown_path_is_a_json_404(server, method, path):
    _, port = server
    _, reply = raw_exchange(port, raw_request(method, path))
    assert json_error(reply) == (404, {"error": "Not Found", "detail": None})


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/predict", "POST"),
        ("PUT", "/predict", "POST"),
        ("OPTIONS", "/predict", "POST"),
        ("DELETE", "/health", "GET, HEAD"),
        ("POST", "/labels", "GET, HEAD"),
        ("TRACE", "/openapi.json", "GET, HEAD"),
        ("POST", "/", "GET, HEAD"),
        ("GET", "/explain", "POST"),
    ],
)
def test_a_method_the_path_does_not_take_is_a_json_405_with_allow(server, method, path, allowed):
    _, port = server
    body = b'{"texts": ["so happy"]}' if method in {"PUT", "POST"} else b""
    _, reply = raw_exchange(port, raw_request(method, path, body))
    assert json_error(reply) == (405, {"error": "Method Not Allowed", "detail": None})
    assert reply_parts(reply)[1]["allow"] == allowed


def test_head_on_a_post_only_path_is_405_without_a_body(server):
    _, port = server
    _, reply = raw_exchange(port, raw_request("HEAD", "/predict"))
    status, headers, body = reply_parts(reply)
    assert (status, headers["allow"], body) == (405, "POST", b"")
    assert headers["content-type"] == "application/json"


def test_what_is_not_http_gets_a_json_400(server):
    _, port = server
    _, reply = raw_exchange(port, b"NOT HTTP AT ALL\r\n\r\n")
    assert json_error(reply) == (400, {"error": "the request is not valid HTTP", "detail": None})


def test_the_openapi_schema_declares_the_enforced_limits(server):
    _, port = server
    status, schema = request(port, "GET", "/openapi.json")
    assert status == 200
    body = schema["components"]["schemas"]["PredictRequest"]
    assert body["additionalProperties"] is False
    texts = body["properties"]["texts"]
    assert (texts["minItems"], texts["maxItems"]) == (1, 50)
    assert (texts["items"]["minLength"], texts["items"]["maxLength"]) == (1, 10_000)
    assert texts["items"]["pattern"] == NOT_BLANK
    assert body["properties"]["top_k"]["anyOf"][0] == {"type": "integer", "minimum": 1}
    number = body["properties"]["threshold"]["anyOf"][0]
    assert (number["minimum"], number["maximum"]) == (0, 1)
    responses = schema["paths"]["/predict"]["post"]["responses"]
    assert sorted(responses) == ["200", "404", "405", "408", "413", "422", "431", "503"]
    error = {"$ref": "#/components/schemas/Error"}
    assert all(
        responses[code]["content"]["application/json"]["schema"] == error
        for code in responses
        if code != "200"
    )


def test_the_openapi_schema_declares_routing_errors_on_every_operation(server):
    """404 and 405 come before an operation is chosen: every operation declares them."""
    _, port = server
    status, schema = request(port, "GET", "/openapi.json")
    assert status == 200
    error = {"$ref": "#/components/schemas/Error"}
    operations = [(path, method) for path, ops in schema["paths"].items() for method in ops]
    assert sorted(operations) == [
        ("/", "get"),
        ("/explain", "post"),
        ("/health", "get"),
        ("/labels", "get"),
        ("/model", "get"),
        ("/predict", "post"),
    ]
    for path, method in operations:
        responses = schema["paths"][path][method]["responses"]
        for code in ("404", "405"):
            assert responses[code]["content"]["application/json"]["schema"] == error
        assert responses["405"]["headers"]["Allow"]["schema"] == {"type": "string"}
    assert "HEAD works wherever GET does" in schema["info"]["description"]


def test_not_blank_is_exactly_pythons_white_space():
    """The schema's pattern refuses a text exactly when ``str.isspace`` says it is blank."""
    pattern = re.compile(NOT_BLANK)
    disagree = [
        c for c in range(sys.maxunicode + 1) if (pattern.search(chr(c)) is None) != chr(c).isspace()
    ]
    assert disagree == []


def _schemathesis(port, tmp_path, max_examples):
    command = Path(sys.executable).with_name("schemathesis")
    if not command.exists():
        pytest.skip("schemathesis is not installed")
    result = subprocess.run(
        [
            str(command),
            "run",
            f"http://127.0.0.1:{port}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            str(max_examples),
            "--seed",
            "1",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert re.search(r"\d+ generated, \d+ passed", result.stdout), result.stdout[-2000:]


def test_schemathesis_finds_nothing(server, tmp_path):
    _schemathesis(server[1], tmp_path, max_examples=100)


@pytest.mark.fuzz
def test_schemathesis_finds_nothing_in_a_long_run(server, tmp_path):
    _schemathesis(server[1], tmp_path, max_examples=3000)


def test_heavy_requests_leave_the_event_loop():
    """A fast model scores a small request inline; a costly one goes to a worker thread."""
    import asyncio
    import threading

    import httpx
    import numpy as np

    from emoclassic.model import EmotionModel
    from emoclassic.server import INLINE_CHARS, create_app

    threads = []

    class FastModel(EmotionModel):
        scores_instantly = True

        def predict_proba(self, texts):
            threads.append(threading.get_ident())
            return np.full((len(texts), len(self.label_names)), 0.9)

    app = create_app(FastModel(LABELS, [0.5] * len(LABELS)))

    async def scenario():
        loop_thread = threading.get_ident()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for texts in (["short"] * 4, ["x" * (INLINE_CHARS // 2 + 1)] * 2):
                assert (await client.post("/predict", json={"texts": texts})).status_code == 200
        return loop_thread

    loop_thread = asyncio.run(scenario())
    assert threads[0] == loop_thread
    assert threads[1] != loop_thread


def test_200_concurrent_requests(server, model):
    _, port = server
    fitted, _ = model
    texts = [f"so happy {i}" if i % 2 else f"angry and mad {i}" for i in range(200)]

    def one(text):
        return request(port, "POST", "/predict", {"texts": [text], "threshold": 0.0})

    with ThreadPoolExecutor(max_workers=32) as pool:
        replies = list(pool.map(one, texts))
    assert [status for status, _ in replies] == [200] * 200
    for text, (_, reply) in zip(texts, replies, strict=True):
        [expected] = fitted.predict_emotions([text], threshold=0.0)
        got = [(e["label"], e["score"]) for e in reply["predictions"][0]["emotions"]]
        assert got == expected


def test_sigterm_stops_cleanly_even_with_a_stalled_client(server):
    """A body still arriving when shutdown begins is answered 503 at once, in JSON."""
    process, port = server
    assert request(port, "GET", "/health")[0] == 200
    with socket.create_connection(("127.0.0.1", port)) as stalled:
        stalled.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
        time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        stalled.settimeout(10)
        reply = b""  # the head and the body may come in two reads; the server then closes
        while chunk := stalled.recv(65536):
            reply += chunk
    assert json_error(reply) == (503, {"error": "the server is shutting down", "detail": None})
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert stdout == "stopped\n"  # after the banner, which start_server read
    # No traceback and no error: only uvicorn's warnings about the malformed requests above.
    warning = "emoclassic: warning: Invalid HTTP request received."
    assert all(line == warning for line in stderr.splitlines())
    with pytest.raises(OSError):
        request(port, "GET", "/health")


def test_missing_extra_is_one_line(model, monkeypatch, capsys):
    from emoclassic.cli.main import main

    _, path = model
    monkeypatch.setitem(__import__("sys").modules, "uvicorn", None)
    assert main(["serve", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "emoclassic: error: this feature needs 'uvicorn': pip install 'emoclassic[serve]'"


def test_busy_port_is_one_line_before_the_banner(model, capsys):
    from emoclassic.cli.main import main

    _, path = model
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", str(path), "--port", str(port)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""  # no "serving ..." banner for a server that never started
    assert captured.err.startswith(f"emoclassic: error: cannot listen on 127.0.0.1:{port} (")
    assert captured.err.count("\n") == 1


def test_a_slow_model_does_not_block_health():
    import asyncio
    import threading

    import httpx
    import numpy as np

    from emoclassic.model import EmotionModel
    from emoclassic.server import create_app

    release = threading.Event()

    class SlowModel(EmotionModel):
        """Scores only once the test lets it: a stand-in for a transformer's forward pass."""

        def predict_proba(self, texts):
            if not release.wait(10):
                raise TimeoutError("never released")
            return np.full((len(texts), len(self.label_names)), 0.9)

    app = create_app(SlowModel(LABELS, [0.5] * len(LABELS)))

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            pending = asyncio.create_task(client.post("/predict", json={"texts": ["hi"]}))
            await asyncio.sleep(0.1)  # the prediction is now waiting inside the model
            health = await asyncio.wait_for(client.get("/health"), timeout=5)
            release.set()
            return health, await pending

    health, predicted = asyncio.run(scenario())
    assert health.status_code == 200
    assert predicted.status_code == 200
    assert len(predicted.json()["predictions"][0]["emotions"]) == len(LABELS)
