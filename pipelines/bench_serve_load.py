"""Does ``/health`` stay fast while the server scores the heaviest valid requests?

Starts the installed ``emoclassic serve MODEL --port 0`` and measures ``GET /health``
latency twice in one run:

- **idle**: nothing else is sent (the reference);
- **loaded**: ``--clients`` threads send maximum-size ``/predict`` batches back to
  back: ``--max-batch`` texts (256, the server's default), each as long as the
  default limits allow (10,000 characters, and 1 MiB for the whole body;
  GoEmotions test comments joined up to that length), so every request is as
  heavy as a valid request can be. ``--max-batch 16`` sends 16 texts of 10,000
  characters, the case that used to be scored on the event loop.

It prints health p50/p99 in both states, their ratio, and how fast the heavy
requests were scored. It exits with status 1 and a ``GOAL MISSED`` line when the
loaded p99 is ``--goal-ms`` (50 ms) or more, and with ``REGRESSION`` when any
request fails.

Usage::

    python pipelines/bench_serve_load.py --model models/best.joblib
    python pipelines/bench_serve_load.py --model models/best.joblib --clients 4 --seconds 30
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

BODY_LIMIT = 1_048_576
TEXT_LIMIT = 10_000


def heavy_body(max_batch: int) -> bytes:
    """One ``/predict`` body of ``max_batch`` long texts, just under the body limit."""
    from emoclassic.datasets import load_goemotions

    comments = load_goemotions().splits["test"].texts
    per_text = min(TEXT_LIMIT, (BODY_LIMIT - 64) // max_batch - 8)  # quotes, comma, slack
    texts, i = [], 0
    for _ in range(max_batch):
        parts, size = [], 0
        while size < per_text:
            comment = comments[i % len(comments)]
            parts.append(comment)
            size += len(comment) + 1
            i += 1
        texts.append(" ".join(parts)[:per_text].encode("ascii", "ignore").decode())
    body = json.dumps({"texts": texts}, ensure_ascii=True).encode()
    if len(body) > BODY_LIMIT:
        raise SystemExit(f"heavy body is {len(body)} bytes, over the {BODY_LIMIT} limit")
    return body


def start_server(model: Path, max_batch: int):
    command = [
        sys.executable, "-m", "emoclassic.cli.main", "serve", str(model),
        "--port", "0", "--max-batch", str(max_batch),
    ]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    banner = server.stdout.readline()
    found = re.search(r":(\d+) \(docs", banner)
    if not found:
        server.kill()
        raise SystemExit(f"server did not start: {banner}{server.stderr.read()}")
    return server, int(found.group(1))


def health_latencies(port: int, seconds: float, every: float = 0.01) -> list[float]:
    """``GET /health`` every ``every`` seconds for ``seconds``; latencies in ms."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies = []
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        start = time.perf_counter()
        conn.request("GET", "/health")
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"REGRESSION: /health answered {response.status}")
        latencies.append((time.perf_counter() - start) * 1e3)
        time.sleep(every)
    conn.close()
    return latencies


def heavy_client(port, body, stop, timings, errors):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Content-Type": "application/json"}
    while not stop.is_set():
        start = time.perf_counter()
        conn.request("POST", "/predict", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            errors.append(response.status)
            return
        timings.append(time.perf_counter() - start)
    conn.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="saved model to serve")
    parser.add_argument("--clients", type=int, default=4, help="heavy clients (default: 4)")
    parser.add_argument("--max-batch", type=int, default=256, help="texts per heavy request")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of each phase")
    parser.add_argument("--goal-ms", type=float, default=50.0, help="loaded health p99 goal")
    args = parser.parse_args(argv)

    body = heavy_body(args.max_batch)
    server, port = start_server(args.model, args.max_batch)
    try:
        idle = health_latencies(port, args.seconds / 2)
        stop, timings, errors = threading.Event(), [], []
        clients = [
            threading.Thread(target=heavy_client, args=(port, body, stop, timings, errors))
            for _ in range(args.clients)
        ]
        heavy_start = time.perf_counter()
        for client in clients:
            client.start()
        time.sleep(1.0)  # every client has a request in flight
        loaded = health_latencies(port, args.seconds)
        stop.set()
        for client in clients:
            client.join()
        heavy_seconds = time.perf_counter() - heavy_start
    finally:
        server.terminate()
        server.communicate(timeout=60)
    if errors:
        print(f"REGRESSION: heavy requests failed with status {errors[0]}")
        return 1

    def p(samples, q):
        return float(np.percentile(samples, q))

    chars = sum(map(len, json.loads(body)["texts"]))
    rows = [
        ("health p50 ms", p(idle, 50), p(loaded, 50)),
        ("health p99 ms", p(idle, 99), p(loaded, 99)),
        ("health max ms", max(idle), max(loaded)),
    ]
    print(f"model {args.model.name}; {args.clients} clients sending {args.max_batch} texts "
          f"({len(body):,} bytes, {chars:,} characters) per request")  # fmt: skip
    print(f"{'metric':<16}{'idle':>10}{'loaded':>10}{'ratio':>8}")
    for name, quiet, busy in rows:
        print(f"{name:<16}{quiet:>10.2f}{busy:>10.2f}{busy / quiet:>7.1f}x")
    rate = len(timings) * args.max_batch / heavy_seconds
    print(f"heavy requests: {len(timings)} in {heavy_seconds:.1f} s, p50 {p(timings, 50):.2f} s, "
          f"about {rate:,.0f} texts/s")  # fmt: skip
    if p(loaded, 99) >= args.goal_ms:
        print(f"GOAL MISSED: loaded health p99 {p(loaded, 99):.1f} ms >= {args.goal_ms:g} ms")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
