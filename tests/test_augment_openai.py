"""The openai backend against a real loopback HTTP server, one that fails and one that stalls."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from augment_fakes import skewed_dataset
from conftest import emoclassic_command, run_cli
from emoclassic.augment.backend import GenerationError
from emoclassic.augment.cache import GenerationCache
from emoclassic.augment.filters import QualityFilter
from emoclassic.augment.loop import AugmentSettings, augment_split
from emoclassic.augment.openai_backend import OpenAIGenerator
from openai_server import FakeOpenAI


def backend(server, **options):
    options = {"timeout": 0.5, "retries": 3, "backoff": 0.01, "concurrency": 4, **options}
    return OpenAIGenerator("fake-model", base_url=server.base_url, api_key="k", **options)


def test_openai_backend_sends_the_protocol():
    with FakeOpenAI() as server:
        gen = backend(server, temperature=0.7, top_p=0.8, max_new_tokens=40)
        out = gen.generate(["rephrase A", "rephrase B", "rephrase A"], [5, 6, 7])
    assert len(out) == 3 and len(set(out)) == 3
    body = sorted(server.bodies, key=lambda b: b["seed"])[0]
    assert body == {
        "model": "fake-model",
        "messages": [{"role": "user", "content": "rephrase A"}],
        "temperature": 0.7,
        "top_p": 0.8,
        "max_tokens": 40,
        "seed": 5,
    }


def test_openai_backend_survives_500s():
    with FakeOpenAI(fail_first=2) as server:
        gen = backend(server, concurrency=1)
        out = gen.generate(["one", "two"], [0, 1])
    assert all(isinstance(text, str) and text for text in out)
    assert server.requests == 4 and gen.retried_requests == 2 and gen.failed_requests == 0


def test_openai_backend_survives_a_stalled_request():
    with FakeOpenAI(stall_first=1, stall_seconds=2.0) as server:
        gen = backend(server, concurrency=1, timeout=0.3)
        started = time.perf_counter()
        out = gen.generate(["one"], [0])
        elapsed = time.perf_counter() - started
    assert out[0] and gen.retried_requests == 1
    assert elapsed < 1.5  # gave up on the stalled request instead of waiting for it


def test_failed_requests_are_never_cached(tmp_path):
    dataset = skewed_dataset()
    path = tmp_path / "cache.jsonl"
    settings = AugmentSettings(threshold=0.1, max_iterations=1, seed=3)
    with FakeOpenAI(fail_if="story 1 about") as server:
        gen = backend(server, retries=1)
        result = augment_split(
            dataset.train,
            dataset.label_names,
            gen,
            quality=QualityFilter(min_overlap=0),
            settings=settings,
            cache=GenerationCache(path),
            progress=False,
        )
    # Two picks (rows 97 and 98); row 98's text always gets a 500.
    assert gen.failed_requests == 1 and result.stats["rare"].failed == 1
    assert result.stats["rare"].generated == 1
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["source_row"] for r in records] == [97] and records[0]["text"]


def test_server_down_and_wrong_model_are_one_line_errors():
    with FakeOpenAI() as server:
        url = server.base_url
        with pytest.raises(GenerationError, match="does not serve model 'other'"):
            OpenAIGenerator("other", base_url=url)
    with pytest.raises(GenerationError, match=f"cannot reach the server at {url}"):
        OpenAIGenerator("fake-model", base_url=url, timeout=1)
    with FakeOpenAI(fail_first=100) as server:  # every completion fails
        gen = backend(server, retries=1)
        with pytest.raises(GenerationError, match=r"every request to .* failed after 1 retries"):
            gen.generate(["a", "b"], [0, 1])


def test_cli_killed_with_sigkill_resumes_without_regenerating(tmp_path):
    out = tmp_path / "aug"
    cache = tmp_path / "aug.cache.jsonl"
    args = [
        "augment",
        "--threshold", "0.015", "--limit", "400", "--max-iterations", "3",
        "--backend", "openai", "--model", "fake-model", "--min-words", "2",
        "--min-overlap", "0", "--min-meaning", "0",
        "--batch-size", "1", "--concurrency", "1", "--retries", "0",
        "--out", str(out), "--no-progress",
    ]  # fmt: skip
    with FakeOpenAI(delay=0.05) as server:
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        process = subprocess.Popen(
            [*emoclassic_command(), *args, "--base-url", server.base_url],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if cache.exists() and len(cache.read_text().splitlines()) >= 5:
                break
            time.sleep(0.01)
        assert process.poll() is None, "the run finished before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait()
        time.sleep(0.3)  # let the server finish the request that was in flight
        sent_before = server.texts_sent
        cached_before = len(cache.read_text().splitlines())
        assert cached_before >= 5 and not out.exists()

        result = run_cli(*args, "--base-url", server.base_url, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        sent_after = server.texts_sent - sent_before
    lines = cache.read_text().splitlines()
    keys = [json.loads(line)["key"] for line in lines]
    assert len(keys) == len(set(keys))  # nothing generated twice
    expected = f"{sent_after:,} new generations, {cached_before:,} from the cache"
    assert expected in result.stdout, result.stdout
    assert len(keys) == cached_before + sent_after  # nothing lost
    # Only the one request in flight at the kill was answered but not cached.
    assert 0 <= sent_before - cached_before <= 1
    assert out.is_dir() and sys.executable
