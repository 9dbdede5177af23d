"""Inference speed and size: scikit-learn's own pipeline vs emoclassic's fast path.

Measures, in one run on one CPU:

- batch ``predict_proba`` throughput (texts/s) on the GoEmotions test split;
- single-text latency p50/p99, in-process;
- single-text latency p50/p99 over HTTP (``emoclassic serve`` on 127.0.0.1)
  with 8 concurrent clients, and the requests/s they get;
- model size on disk (joblib as saved by ``emoclassic fit``, and skops);
- peak resident memory of a process that loads the model and scores the
  test split;

for the same fitted model scored two ways: scikit-learn's ``Pipeline.predict_proba``
(28 binary estimators) and emoclassic's folded coefficient matrix. With
``--transformer MODEL`` the same figures are measured for that model too.
Speeds are printed with ratios, since absolute times depend on the machine.

With ``--reference MODEL`` (for example ``models/lr.joblib``), the fast paths of
both models are also timed in-process, in this one run, and their ratios printed:
how ``best`` compares with ``lr``.

The script exits with status 1 and a ``REGRESSION`` line when emoclassic's fast
path is slower than scikit-learn's own path, in batch or for a single text.

Usage::

    python pipelines/bench_inference.py                      # fits lr (no search) first
    python pipelines/bench_inference.py --model models/lr.joblib
    python pipelines/bench_inference.py --model models/best.joblib --reference models/lr.joblib
    python pipelines/bench_inference.py --model models/lr.joblib --transformer models/distilroberta
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

#: The two ways one model is scored: (column name, load_mode mode).
MODES = (("sklearn", "sklearn"), ("emoclassic", "fast"))


def percentile_ms(samples_ns, q):
    return float(np.percentile(np.asarray(samples_ns) / 1e6, q))


def batch_throughput(predicts, texts, repeats=5):
    """Best-of-``repeats`` texts/s of each named predict function, timed in turns.

    Each round times every function once, so a slow spell of a shared machine
    falls on all of them alike instead of on whichever was measured then.
    """
    for predict in predicts.values():
        predict(texts[:100])  # warm-up
    best = dict.fromkeys(predicts, float("inf"))
    for _ in range(repeats):
        for name, predict in predicts.items():
            best[name] = min(best[name], _timed(predict, texts))
    return {name: len(texts) / seconds for name, seconds in best.items()}


def _timed(predict, texts):
    start = time.perf_counter()
    predict(texts)
    return time.perf_counter() - start


def single_latency(predict, texts):
    for text in texts[:50]:
        predict([text])
    samples = []
    for text in texts:
        start = time.perf_counter_ns()
        predict([text])
        samples.append(time.perf_counter_ns() - start)
    return percentile_ms(samples, 50), percentile_ms(samples, 99)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_latency(model_path, mode, texts, clients=8, per_client=250):
    """Start a server for ``mode`` on loopback; ``clients`` threads send one text per request."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve-worker", mode, str(model_path), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_healthy(port, server)
        latencies = [[] for _ in range(clients)]
        errors = []

        def client(k):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            headers = {"Content-Type": "application/json"}
            for i in range(per_client + 20):
                body = json.dumps({"texts": [texts[(k * per_client + i) % len(texts)]]})
                start = time.perf_counter_ns()
                conn.request("POST", "/predict", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                elapsed = time.perf_counter_ns() - start
                if response.status != 200:
                    errors.append(response.status)
                if i >= 20:  # the first requests warm the connection up
                    latencies[k].append(elapsed)
            conn.close()

        threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - start
        if errors:
            raise RuntimeError(f"{len(errors)} HTTP errors, for example {errors[0]}")
        samples = [x for per in latencies for x in per]
        rate = clients * (per_client + 20) / wall
        return percentile_ms(samples, 50), percentile_ms(samples, 99), rate
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_healthy(port, server):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited: {server.stderr.read()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not become healthy")


def load_mode(mode, path):
    """The model scored the way ``mode`` says: sklearn, fast or other (a comparator)."""
    from emoclassic.persistence import load_model

    model = load_model(path)
    if mode == "sklearn":
        model.fast = False
    elif mode == "fast" and getattr(model, "linear", None) is None:
        raise SystemExit(f"{path}: not a linear text model; no fast path to measure")
    return model


def serve_worker(mode, path, port):
    import uvicorn

    from emoclassic.server import create_app

    model = load_mode(mode, path)
    model.warm_up()  # as emoclassic serve does
    app = create_app(model, name=Path(path).name)
    uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning", access_log=False)


def rss_worker(mode, path, texts_file):
    texts = json.loads(Path(texts_file).read_text(encoding="utf-8"))
    import emoclassic.persistence  # noqa: F401  (the baseline includes the imports)

    if mode != "none":  # "none": the baseline of imports and data alone
        load_mode(mode, path).predict_proba(texts)
    print(peak_rss_self_mb())


def peak_rss_self_mb():
    """This process's peak RSS. ``ru_maxrss`` survives ``exec`` on Linux (it would report
    the parent's peak), so read the fresh address space's ``VmHWM`` where there is one."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB -> MiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_rss_mb(mode, path, texts_file):
    out = subprocess.run(
        [sys.executable, __file__, "--rss-worker", mode, str(path), str(texts_file)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def disk_mb(path):
    path = Path(path)
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6
    return path.stat().st_size / 1e6


def float32_check(model, texts, path):
    """Would float32 coefficients do? Report the file size saved and the score change."""
    import io

    import joblib
    from scipy.special import expit

    linear = model.linear
    if linear.coef.dtype == np.float32:
        print("coefficients: float32 already (as the recipe's estimators store them)")
        return
    features = linear.transform(texts)
    exact = expit(np.asarray(features @ linear.coef) + linear.intercept)
    rounded = linear.coef.astype(np.float32).astype(np.float64)
    approx = expit(np.asarray(features @ rounded) + linear.intercept)
    sizes = {}
    for dtype in (np.float64, np.float32):
        buffer = io.BytesIO()
        joblib.dump(linear.coef.astype(dtype), buffer, compress=3)
        sizes[dtype.__name__] = len(buffer.getvalue()) / 1e6
    print(
        f"coefficients: float64 {sizes['float64']:.2f} MB, float32 {sizes['float32']:.2f} MB "
        f"compressed (file would be ~{disk_mb(path) - sizes['float64'] + sizes['float32']:.2f} "
        f"MB); float32 moves test scores by up to {np.abs(exact - approx).max():.1e}, so "
        "float64 is kept (1e-9 agreement with scikit-learn)"
    )


def measure(mode, path, texts, args, batch=True):
    """Every figure of one model scored one way (batch unless told, single, HTTP, memory)."""
    model = load_mode(mode, path)
    row = {}
    if batch:
        row["batch texts/s"] = batch_throughput({mode: model.predict_proba}, texts)[mode]
    row["single p50 ms"], row["single p99 ms"] = single_latency(
        model.predict_proba, texts[: args.single]
    )
    p50, p99, rate = http_latency(
        path, mode, texts, clients=args.clients, per_client=args.http_requests
    )
    row[f"HTTP p50 ms ({args.clients} clients)"] = p50
    row[f"HTTP p99 ms ({args.clients} clients)"] = p99
    row[f"HTTP requests/s ({args.clients} clients)"] = rate
    row["peak RSS MB"] = peak_rss_mb(mode, path, args.texts_file)
    row["RSS over baseline MB"] = row["peak RSS MB"] - peak_rss_mb("none", path, args.texts_file)
    return row


def higher_is_better(metric):
    return metric == "batch texts/s" or metric.startswith("HTTP requests/s")


def print_table(columns, reference):
    names = list(columns)
    metrics = list(columns[reference])
    header = f"{'metric':<30}" + "".join(f"{name:>18}" for name in names)
    header += "".join(f"{'ratio ' + name:>22}" for name in names if name != reference)
    print(header)
    print("-" * len(header))
    for metric in metrics:
        line = f"{metric:<30}" + "".join(
            f"{columns[n].get(metric, float('nan')):>18.4g}" for n in names
        )
        for name in names:
            if name == reference:
                continue
            ours, ref = columns[name].get(metric), columns[reference][metric]
            if ours is None or not ref:
                line += f"{'':>22}"
                continue
            ratio = ours / ref if higher_is_better(metric) else ref / ours
            line += f"{ratio:>21.2f}x"
        print(line)
    print(f"(ratio: how many times better than {reference!r}; above 1 is faster or smaller)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="saved lr model (default: fit)")
    parser.add_argument("--transformer", type=Path, default=None, help="comparator model")
    parser.add_argument(
        "--reference", type=Path, default=None, help="model whose fast path --model is compared to"
    )
    parser.add_argument("--single", type=int, default=2000, help="texts timed one by one")
    parser.add_argument("--http-requests", type=int, default=250, help="requests per client")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--serve-worker", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--rss-worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_worker:
        return serve_worker(*args.serve_worker)
    if args.rss_worker:
        return rss_worker(*args.rss_worker)

    import joblib
    import sklearn

    from emoclassic.datasets import load_goemotions
    from emoclassic.persistence import load_model, save_model
    from emoclassic.training import FitSettings, fit_model

    dataset = load_goemotions()
    texts = list(dataset.splits["test"].texts)
    work = Path(tempfile.mkdtemp(prefix="emoclassic-bench-"))
    args.texts_file = work / "test_texts.json"
    args.texts_file.write_text(json.dumps(texts), encoding="utf-8")
    path = args.model
    if path is None:
        print("fitting lr (reference features, default parameters, no grid search)...")
        path = work / "lr.joblib"
        save_model(fit_model("lr", dataset, FitSettings(search=False, progress=False)), path)
    model = load_model(path)
    skops_path = work / "lr.skops"
    save_model(model, skops_path)
    pipeline = (
        model.estimator.estimator_ if hasattr(model.estimator, "estimator_") else model.estimator
    )
    raw = work / "pipeline.joblib"
    joblib.dump(pipeline, raw)

    print(
        f"model {path}: {model.metadata.get('recipe', '?')} "
        f"{model.metadata.get('best_params', {})}; test split {len(texts)} texts; "
        f"{os.cpu_count()} CPUs; scikit-learn {sklearn.__version__}; numpy {np.__version__}"
    )
    probe = texts[:2000]
    fast_scores, slow_scores = model.predict_proba(probe), pipeline.predict_proba(probe)
    print(
        f"max |fast - sklearn| score difference on 2,000 test texts: "
        f"{np.abs(fast_scores - slow_scores).max():.2e}"
    )

    float32_check(model, texts, path)

    columns = {}
    for name, mode in MODES:
        print(f"measuring {name}...", flush=True)
        columns[name] = measure(mode, path, texts, args, batch=False)
    # The batch ratio decides the REGRESSION check: the two paths are timed in turns.
    both = {name: load_mode(mode, path).predict_proba for name, mode in MODES}
    for name, rate in batch_throughput(both, texts).items():
        columns[name] = {"batch texts/s": rate, **columns[name]}
    size = disk_mb(path)
    columns["sklearn"]["model file MB"] = disk_mb(raw)
    columns["emoclassic"]["model file MB"] = size
    if args.transformer is not None:
        print("measuring transformer...", flush=True)
        columns["transformer"] = measure("other", args.transformer, texts, args)
        columns["transformer"]["model file MB"] = disk_mb(args.transformer)
    print()
    print_table(columns, "sklearn")
    print()
    print(
        f"model files: emoclassic joblib (compress=3) {size:.2f} MB; skops "
        f"{disk_mb(skops_path):.2f} MB; the bare Pipeline, joblib uncompressed "
        f"{disk_mb(raw):.2f} MB"
    )
    failed = regressions(columns)
    if args.reference is not None:
        columns["versus reference"] = compare_with_reference(path, args.reference, texts, args)
    if args.json is not None:
        args.json.write_text(json.dumps(columns, indent=2) + "\n")
    for line in failed:
        print(line)
    return 1 if failed else 0


def regressions(columns) -> list[str]:
    """``REGRESSION`` lines where the fast path is slower than scikit-learn's."""
    fast, slow = columns["emoclassic"], columns["sklearn"]
    failed = []
    if fast["batch texts/s"] < slow["batch texts/s"]:
        failed.append(
            f"REGRESSION: fast path batch {fast['batch texts/s']:.0f} texts/s is slower than "
            f"scikit-learn's {slow['batch texts/s']:.0f}"
        )
    if fast["single p50 ms"] > slow["single p50 ms"]:
        failed.append(
            f"REGRESSION: fast path single-text p50 {fast['single p50 ms']:.4f} ms is slower "
            f"than scikit-learn's {slow['single p50 ms']:.4f}"
        )
    return failed


def compare_with_reference(path, reference, texts, args) -> dict:
    """Time both models' fast paths in this process, alternating, and print the ratios."""
    ours, theirs = load_mode("fast", path), load_mode("fast", reference)
    predicts = {"model": ours.predict_proba, "reference": theirs.predict_proba}
    rates = batch_throughput(predicts, texts)
    figures = {f"{name} batch texts/s": rate for name, rate in rates.items()}
    for name, model in (("model", ours), ("reference", theirs)):
        figures[f"{name} single p50 ms"], _ = single_latency(
            model.predict_proba, texts[: args.single]
        )
    batch = figures["model batch texts/s"] / figures["reference batch texts/s"]
    single = figures["model single p50 ms"] / figures["reference single p50 ms"]
    print()
    print(f"in this process, fast paths: {path} vs reference {reference}")
    print(
        f"  batch:  {figures['model batch texts/s']:>9.0f} vs "
        f"{figures['reference batch texts/s']:>9.0f} texts/s  = {batch:.2f}x the reference"
    )
    print(
        f"  single: {figures['model single p50 ms']:>9.4f} vs "
        f"{figures['reference single p50 ms']:>9.4f} ms p50  = {single:.2f}x the reference's time"
    )
    figures["batch ratio"], figures["single p50 ratio"] = batch, single
    return figures


if __name__ == "__main__":
    sys.exit(main())
