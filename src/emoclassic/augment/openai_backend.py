"""Generation through any OpenAI-compatible chat-completions server (``openai`` backend).

Works with ``vllm serve``, Ollama, the llama.cpp server, TGI and the OpenAI
API itself: everything that answers ``POST {base_url}/chat/completions``.
Requests go through the official ``openai`` SDK (``pip install
'emoclassic[openai]'``), imported only when a backend is built. The SDK owns
the transport: one pooled keep-alive HTTP client shared by the request
threads, per-attempt timeouts, and retries with exponential backoff, jitter
and the server's ``Retry-After``.
"""

from __future__ import annotations

import json
import logging
import numbers
import threading
import weakref
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from emoclassic.augment.backend import GenerationError
from emoclassic.errors import InvalidParameter, first_line, require

__all__ = ["OpenAIGenerator"]

log = logging.getLogger(__name__)

#: The header in which the ``openai`` SDK numbers each attempt of a request (0 = first).
RETRY_COUNT_HEADER = "x-stainless-retry-count"

#: Stands in for a missing API key, which the SDK requires; it never leaves the process.
_NO_KEY = "no-key"


class RequestFailed(Exception):
    """One prompt's request failed for good; ``retries`` is how many retries it took."""

    def __init__(self, message: str, *, retries: int) -> None:
        super().__init__(message)
        self.retries = retries


class _RequestHook:
    """An HTTP client request hook: counts retries and drops the placeholder key.

    It runs in the thread that sends the request, so :attr:`taken` tells each
    request thread how many retries its current prompt has taken.
    """

    def __init__(self, *, send_key: bool) -> None:
        self.send_key = send_key
        self.retried = 0
        self._lock = threading.Lock()
        self._local = threading.local()

    def __call__(self, request: Any) -> None:
        if not self.send_key:
            request.headers.pop("authorization", None)
        count = request.headers.get(RETRY_COUNT_HEADER, "0")
        taken = int(count) if count.isdigit() else 0
        self._local.taken = taken
        if taken:
            with self._lock:
                self.retried += 1
            log.info("retry %d of a request to %s", taken, request.url)

    def start(self) -> None:
        """Mark the start of a new prompt in this thread."""
        self._local.taken = 0

    @property
    def taken(self) -> int:
        """Retries taken by the current prompt of this thread."""
        return getattr(self._local, "taken", 0)


class OpenAIGenerator:
    """Sample rephrasings from an OpenAI-compatible server.

    Prompts of one ``generate`` call are sent concurrently, at most
    ``concurrency`` requests at a time, over one pooled HTTP client. The
    ``openai`` SDK retries a request that times out, cannot connect or gets
    an HTTP 408, 409, 429 or 5xx answer, up to ``retries`` times. Between
    attempts it waits as long as the server's ``Retry-After`` asks (up to
    two minutes), or else 0.5 s doubled after each attempt up to 8 s, less
    up to a quarter of random jitter. A prompt whose request still fails
    gets no text (never an empty string), so nothing about it is cached and
    a resumed run asks again. An answer that is not JSON or has no
    ``choices[0].message.content`` is such a failure, without retries. When
    every prompt of a call fails,
    :class:`~emoclassic.augment.backend.GenerationError` stops the run with
    one line that names the server and the last error.

    Parameters
    ----------
    model : str
        Model name as the server knows it (``vllm serve MODEL`` serves
        ``MODEL``).
    base_url : str, default="http://127.0.0.1:8000/v1"
        Server address up to and including ``/v1``.
    api_key : str or None
        Sent as ``Authorization: Bearer KEY`` when given; ``None`` sends no
        ``Authorization`` header (the ``OPENAI_API_KEY`` environment
        variable is not read here).
    batch_size : int, default=32
        Prompts per ``generate`` call made by the augmentation loop.
    concurrency : int, default=8
        Requests in flight at once.
    timeout : float, default=60.0
        Seconds one attempt may wait to connect, or for the next bytes of
        the answer, before it is abandoned (and retried).
    retries : int, default=3
        Extra attempts after a failed request.
    temperature, top_p : float, default=0.9, 0.95
        Sampling parameters.
    max_new_tokens : int, default=128
        Sent as ``max_tokens``.
    check_server : bool, default=True
        Ask ``GET {base_url}/models`` once at creation, without retries, so
        a server that is down (or does not serve ``model``) fails at once
        with one clear line.

    Attributes
    ----------
    retried_requests : int
        Retries sent so far (each attempt after a request's first).
    failed_requests : int
        Prompts that got no text after their retries.

    Raises
    ------
    InvalidParameter
        ``base_url`` is not an http(s) address, or a count or ``timeout``
        is out of range.
    MissingDependencyError
        The ``openai`` package is not installed.
    GenerationError
        ``check_server`` found the server down or without ``model``.

    Examples
    --------
    >>> gen = OpenAIGenerator("m", base_url="http://127.0.0.1:9/v1", check_server=False)
    >>> gen.model_name, gen.endpoint
    ('openai:m', 'http://127.0.0.1:9/v1/chat/completions')
    >>> gen.close()
    >>> OpenAIGenerator("m", retries=-1, check_server=False)
    Traceback (most recent call last):
    ...
    emoclassic.errors.InvalidParameter: retries must be a whole number of at least 0, got -1
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str = "http://127.0.0.1:8000/v1",
        api_key: str | None = None,
        batch_size: int = 32,
        concurrency: int = 8,
        timeout: float = 60.0,
        retries: int = 3,
        temperature: float = 0.9,
        top_p: float = 0.95,
        max_new_tokens: int = 128,
        check_server: bool = True,
    ) -> None:
        _check_parameters(
            base_url=base_url,
            counts={
                "batch_size": (batch_size, 1),
                "concurrency": (concurrency, 1),
                "retries": (retries, 0),
                "max_new_tokens": (max_new_tokens, 1),
            },
            timeout=timeout,
        )
        self._openai = require("openai", "openai")
        self.model = model
        self.model_name = f"openai:{model}"
        self.base_url = base_url.rstrip("/")
        self.endpoint = f"{self.base_url}/chat/completions"
        self.api_key = api_key
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.timeout = timeout
        self.retries = retries
        self.temperature = temperature
        self.top_p = top_p
        self.max_new_tokens = max_new_tokens
        self.failed_requests = 0
        self._hook = _RequestHook(send_key=bool(api_key))
        http_client = self._openai.DefaultHttpxClient(event_hooks={"request": [self._hook]})
        self._client = self._openai.OpenAI(
            base_url=self.base_url,
            api_key=api_key or _NO_KEY,
            timeout=timeout,
            max_retries=retries,
            http_client=http_client,
        )
        self._close = weakref.finalize(self, http_client.close)
        if check_server:
            self.check_server()

    @property
    def retried_requests(self) -> int:
        """Retries sent so far (each attempt after a request's first)."""
        return self._hook.retried

    def close(self) -> None:
        """Close the pooled HTTP connections (also done when the generator is collected)."""
        self._close()

    def __enter__(self) -> OpenAIGenerator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def check_server(self) -> None:
        """Fail with one line when the server is unreachable or lacks the model.

        Raises
        ------
        GenerationError
            No answer from ``{base_url}/models``, or a model listing without
            :attr:`model`. A server that answers with an error status or
            without a listing passes: some servers have no ``/models`` route.
        """
        errors = self._openai
        try:
            listing = json.loads(
                self._client.with_options(max_retries=0).models.with_raw_response.list().content
            )
        except errors.APIStatusError:
            return  # the server answers; some servers have no /models route
        except errors.APIConnectionError as exc:
            reason = self._connection_problem(exc)
            raise GenerationError(f"cannot reach the server at {self.base_url}: {reason}") from None
        except ValueError:  # not JSON
            return
        served = _served_models(listing)
        if served and self.model not in served:
            raise GenerationError(
                f"the server at {self.base_url} does not serve model {self.model!r} "
                f"(it serves: {', '.join(served)})"
            )

    def generate(self, prompts: Sequence[str], seeds: Sequence[int]) -> list[str | None]:
        """Return one text per prompt, sent with its own seed; failed prompts get ``None``.

        Parameters
        ----------
        prompts : sequence of str
            User messages, one request each.
        seeds : sequence of int
            The ``seed`` sent with each prompt.

        Returns
        -------
        list of str or None
            The answers, in the order of ``prompts``.

        Raises
        ------
        GenerationError
            Every prompt of the call failed.
        """
        if len(prompts) != len(seeds):
            raise ValueError("prompts and seeds must have the same length")
        if not prompts:
            return []
        failures: list[RequestFailed] = []

        def one(index: int) -> str | None:
            try:
                return self._complete(prompts[index], seeds[index])
            except RequestFailed as exc:
                failures.append(exc)
                return None

        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(prompts))) as pool:
            results = list(pool.map(one, range(len(prompts))))
        self.failed_requests += len(failures)
        if failures and len(failures) == len(prompts):
            last = failures[-1]
            tries = f" after {last.retries} retries" if last.retries else ""
            raise GenerationError(
                f"every request to {self.endpoint} failed{tries}; last error: {last}"
            )
        for failure in failures[:3]:
            log.warning(
                "a request to %s failed; a resumed run asks again: %s", self.endpoint, failure
            )
        return results

    def _complete(self, prompt: str, seed: int) -> str:
        errors = self._openai
        self._hook.start()
        try:
            answer = self._client.chat.completions.with_raw_response.create(
                model=self.model,
                messages=[{"role": "user", "content": prompt}],
                temperature=self.temperature,
                top_p=self.top_p,
                max_tokens=self.max_new_tokens,
                seed=seed,
            )
            payload = json.loads(answer.content)
        except errors.APIStatusError as exc:
            problem = f"HTTP {exc.status_code}{_status_detail(exc.body)}"
            raise RequestFailed(problem, retries=self._hook.taken) from None
        except errors.APIConnectionError as exc:
            problem = self._connection_problem(exc)
            raise RequestFailed(problem, retries=self._hook.taken) from None
        except ValueError:  # json.JSONDecodeError, UnicodeDecodeError
            raise RequestFailed("the answer is not JSON", retries=self._hook.taken) from None
        try:
            return str(payload["choices"][0]["message"]["content"] or "")
        except (KeyError, IndexError, TypeError):
            raise RequestFailed(
                "the answer has no choices[0].message.content", retries=self._hook.taken
            ) from None

    def _connection_problem(self, exc: Exception) -> str:
        if isinstance(exc, self._openai.APITimeoutError):
            return f"no answer within {self.timeout:g} s"
        return first_line(exc.__cause__ or exc)


def _check_parameters(*, base_url: str, counts: dict[str, tuple[Any, int]], timeout: float) -> None:
    """Raise :class:`~emoclassic.errors.InvalidParameter` for the first bad value.

    Examples
    --------
    >>> _check_parameters(base_url="localhost:8000", counts={}, timeout=1)
    Traceback (most recent call last):
    ...
    emoclassic.errors.InvalidParameter: base_url must start with http:// or https://, got 'localhost:8000'
    """  # noqa: E501
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        raise InvalidParameter("base_url", f"must start with http:// or https://, got {base_url!r}")
    for name, (value, least) in counts.items():
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < least:
            raise InvalidParameter(
                name, f"must be a whole number of at least {least}, got {value!r}"
            )
    if not isinstance(timeout, numbers.Real) or isinstance(timeout, bool) or not timeout > 0:
        raise InvalidParameter("timeout", f"must be a positive number of seconds, got {timeout!r}")


def _served_models(listing: object) -> list[str]:
    """Return the model ids in a ``GET /models`` answer; none when it is not a listing.

    Examples
    --------
    >>> _served_models({"object": "list", "data": [{"id": "a"}, {"name": "b"}, 3]})
    ['a']
    >>> _served_models(["not", "a", "listing"])
    []
    """
    data = listing.get("data") if isinstance(listing, dict) else None
    if not isinstance(data, list):
        return []
    return [str(m["id"]) for m in data if isinstance(m, dict) and m.get("id") is not None]


def _status_detail(body: object) -> str:
    """Return the server's words about an error status as ``" (words)"``, or ``""``.

    Examples
    --------
    >>> _status_detail({"message": "model not found", "type": "invalid_request_error"})
    ' (model not found)'
    >>> _status_detail("boom"), _status_detail(None)
    (' (boom)', '')
    """
    if isinstance(body, dict):
        body = body.get("message")
    if not isinstance(body, str) or not body.strip():
        return ""
    text = first_line(ValueError(body))
    return f" ({text[:200]})"
