"""The HTTP API, over real HTTP on loopback, through the installed ``emoclassic serve``."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import LABELS, emoclassic_command, toy_split
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


@pytest.fixture(scope="module")
def server(model):
    _, path = model
    port = _free_port()
    process = subprocess.Popen(
        [*emoclassic_command(), "serve", str(path), "--port", str(port), "--max-batch", "50"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONWARNINGS="ignore"),
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if request(port, "GET", "/health")[0] == 200:
                break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"server did not start: {process.communicate()[1]}")
        time.sleep(0.2)
    yield process, port
    if process.poll() is None:
        process.kill()
        process.communicate()


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
    assert status == 200 and {"/predict", "/labels", "/health"} <= set(spec["paths"])
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
        ({"texts": ["  "]}, 422, "texts[0] is empty"),
        ({}, 422, "texts: Field required"),
        ({"texts": ["ok"], "top_k": 0}, 422, "top_k: Input should be greater than or equal to 1"),
        ({"texts": ["ok"], "top_k": "3"}, 422, "top_k: Input should be a valid integer"),
        ({"texts": ["ok"], "threshold": 1.5}, 422, "threshold: Value error, must be 'tuned'"),
        ({"texts": ["ok"], "threshold": "low"}, 422, "threshold: Value error, must be 'tuned'"),
        ({"texts": ["ok"], "colour": 1}, 422, "colour: Extra inputs are not permitted"),
        ({"texts": ["ok"] * 51}, 413, "51 texts in one request; the limit is 50"),
        ({"texts": ["a" * 10_001]}, 413, "texts[0] has 10001 characters; the limit is 10000"),
        ({"texts": ["word " * 5000] * 50}, 413, "request body over 1048576 bytes"),
    ],
)
def test_malformed_requests_are_4xx_json(server, body, status, fragment):
    _, port = server
    got_status, reply = request(port, "POST", "/predict", body)
    assert got_status == status
    assert fragment in reply["error"]


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


def test_sigterm_stops_cleanly(server):
    process, port = server
    assert request(port, "GET", "/health")[0] == 200
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert stdout.startswith("serving") and stdout.endswith("stopped\n")
    assert "Traceback" not in stderr
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
