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
from emoclassic.errors import InvalidParameter, MissingDependencyError
from openai_server import FakeOpenAI


def backend(server, **options):
    options = {"timeout": 0.5, "retries": 3, "concurrency": 4, **options}
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


# What the openai SDK brings: Retry-After, pooled connections, counted retries, clear errors.


def test_retry_after_is_honoured():
    # Without Retry-After the SDK waits at most 0.5 s before its first retry.
    with FakeOpenAI(rate_limit_first=1, retry_after="1") as server:
        gen = backend(server, concurrency=1)
        out = gen.generate(["one"], [0])
    assert out[0] and server.requests == 2
    assert gen.retried_requests == 1 and gen.failed_requests == 0
    assert 0.95 <= server.arrivals[1] - server.arrivals[0] < 5


def test_retries_are_counted_and_a_short_retry_after_beats_the_backoff():
    # The SDK's own backoff would wait at least 0.375 + 0.75 + 1.5 s over three retries.
    with FakeOpenAI(rate_limit_first=3, retry_after="0.05") as server:
        gen = backend(server, concurrency=1)
        out = gen.generate(["one", "two"], [0, 1])
    assert all(out) and server.requests == 5
    assert gen.retried_requests == 3 and gen.failed_requests == 0
    assert server.arrivals[3] - server.arrivals[0] < 0.9


def test_one_pooled_connection_serves_every_request():
    with FakeOpenAI(fail_first=2) as server:
        gen = backend(server, concurrency=1)  # check_server's GET is the first request
        first = gen.generate(["a", "b", "c"], [0, 1, 2])
        second = gen.generate(["d", "e"], [3, 4])
    assert all(first + second) and server.requests == 7 and gen.retried_requests == 2
    assert server.connections == 1


def test_concurrent_requests_open_at_most_concurrency_connections():
    with FakeOpenAI(delay=0.05) as server:
        gen = backend(server, concurrency=3)
        for start in range(0, 12, 6):
            assert all(gen.generate([f"p{i}" for i in range(start, start + 6)], range(6)))
    assert server.requests == 12 and 1 <= server.connections <= 3


def test_retries_exhausted_is_one_line_naming_the_url_and_the_status():
    with FakeOpenAI(fail_first=100) as server:
        gen = backend(server, retries=2)
        with pytest.raises(GenerationError) as caught:
            gen.generate(["a", "b"], [0, 1])
    assert str(caught.value) == (
        f"every request to {server.base_url}/chat/completions failed after 2 retries; "
        "last error: HTTP 500 (boom)"
    )
    assert server.requests == 6 and gen.retried_requests == 4 and gen.failed_requests == 2


def test_an_error_status_that_retrying_cannot_fix_is_not_retried():
    with FakeOpenAI(status=401) as server:
        gen = backend(server)
        with pytest.raises(GenerationError) as caught:
            gen.generate(["a", "b"], [0, 1])
    assert str(caught.value) == (
        f"every request to {server.base_url}/chat/completions failed; "
        "last error: HTTP 401 (no entry)"
    )
    assert server.requests == 2 and gen.retried_requests == 0


def test_server_gone_during_a_run_names_the_url_and_the_reason():
    with FakeOpenAI() as server:
        url = server.base_url
    gen = OpenAIGenerator("fake-model", base_url=url, retries=1, check_server=False)
    with pytest.raises(GenerationError) as caught:
        gen.generate(["a"], [0])
    message = str(caught.value)
    assert message.startswith(f"every request to {url}/chat/completions failed after 1 retries")
    assert "last error: " in message and "\n" not in message
    assert gen.retried_requests == 1


def test_an_answer_that_is_not_json_fails_that_prompt_only():
    with FakeOpenAI(bad_json_first=1) as server:
        gen = backend(server, concurrency=1)
        out = gen.generate(["a", "b"], [0, 1])
    assert out[0] is None and isinstance(out[1], str) and out[1]
    assert server.requests == 2 and gen.failed_requests == 1 and gen.retried_requests == 0
    with FakeOpenAI(bad_json_first=5) as server:
        gen = backend(server)
        with pytest.raises(GenerationError, match=r"failed; last error: the answer is not JSON$"):
            gen.generate(["a", "b"], [0, 1])


def test_the_api_key_is_sent_only_when_given(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "from-the-environment")
    with FakeOpenAI() as server:
        backend(server).generate(["a"], [0])  # api_key="k"
        OpenAIGenerator("fake-model", base_url=server.base_url).generate(["b"], [1])
    assert server.headers[0]["authorization"] == "Bearer k"
    assert "authorization" not in server.headers[1]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("base_url", "127.0.0.1:8000/v1", "base_url must start with http:// or https://"),
        ("retries", -1, "retries must be a whole number of at least 0, got -1"),
        ("concurrency", 0, "concurrency must be a whole number of at least 1, got 0"),
        ("timeout", 0, "timeout must be a positive number of seconds, got 0"),
        ("batch_size", 2.5, "batch_size must be a whole number of at least 1, got 2.5"),
    ],
)
def test_bad_options_are_named_as_parameters(option, value, message):
    with pytest.raises(InvalidParameter) as caught:
        OpenAIGenerator("m", check_server=False, **{option: value})
    assert caught.value.param == option and str(caught.value).startswith(message)
    assert "--" not in str(caught.value)


def test_a_missing_openai_package_is_a_one_line_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "openai", None)  # import openai now raises ImportError
    with pytest.raises(MissingDependencyError) as caught:
        OpenAIGenerator("m", check_server=False)
    assert str(caught.value) == "this feature needs 'openai': pip install 'emoclassic[openai]'"


@pytest.mark.parametrize("failure", ["server down", "retries exhausted"])
def test_cli_reports_a_failing_server_in_one_line(tmp_path, failure):
    args = [
        "augment",
        "--threshold", "0.015", "--limit", "400", "--max-iterations", "1",
        "--backend", "openai", "--model", "fake-model", "--min-words", "2",
        "--min-overlap", "0", "--min-meaning", "0", "--retries", "1",
        "--out", str(tmp_path / "aug"), "--no-progress",
    ]  # fmt: skip
    with FakeOpenAI(fail_first=10**6) as server:
        url = server.base_url
        if failure == "retries exhausted":
            result = run_cli(*args, "--base-url", url, cwd=tmp_path)
    if failure == "server down":
        result = run_cli(*args, "--base-url", url, cwd=tmp_path)
        expected = f"cannot reach the server at {url}: [Errno 111] Connection refused"
    else:
        expected = (
            f"every request to {url}/chat/completions failed after 1 retries; "
            "last error: HTTP 500 (boom)"
        )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == f"emoclassic: error: {expected}", result.stderr
    assert not (tmp_path / "aug").exists()
