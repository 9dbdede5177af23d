"""Generation through any OpenAI-compatible chat-completions server (``openai`` backend).

Works with ``vllm serve``, Ollama, the llama.cpp server, TGI and the OpenAI
API itself: everything that answers ``POST {base_url}/chat/completions``. Only
the standard library is used (``urllib`` in a thread pool), so the backend
needs no extra package.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from emoclassic.augment.backend import GenerationError

__all__ = ["OpenAIGenerator"]

log = logging.getLogger(__name__)

#: HTTP statuses worth retrying (rate limits, timeouts, server errors).
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class RequestFailed(Exception):
    """One request failed; ``retry`` tells whether trying again can help."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


class OpenAIGenerator:
    """Sample rephrasings from an OpenAI-compatible server.

    Prompts of one ``generate`` call are sent concurrently, at most
    ``concurrency`` requests at a time. A request that times out, cannot
    connect or gets a 429/5xx answer is retried up to ``retries`` times,
    waiting ``backoff * 2**attempt`` seconds between tries. A prompt whose
    request still fails gets no texts (never empty strings), so nothing about
    it is cached and a resumed run asks again; when every prompt of a call
    fails, :class:`~emoclassic.augment.backend.GenerationError` stops the run
    with the last error.

    Parameters
    ----------
    model : str
        Model name as the server knows it (``vllm serve MODEL`` serves
        ``MODEL``).
    base_url : str, default="http://127.0.0.1:8000/v1"
        Server address up to and including ``/v1``.
    api_key : str or None
        Sent as ``Authorization: Bearer KEY`` when given.
    batch_size : int, default=32
        Prompts per ``generate`` call made by the augmentation loop.
    concurrency : int, default=8
        Requests in flight at once.
    timeout : float, default=60.0
        Seconds to wait for one response.
    retries : int, default=3
        Extra attempts after a failed request.
    backoff : float, default=1.0
        First wait between attempts, doubled after each.
    temperature, top_p : float, default=0.9, 0.95
        Sampling parameters.
    max_new_tokens : int, default=128
        Sent as ``max_tokens``.
    check_server : bool, default=True
        Ask ``GET {base_url}/models`` once at creation, so a server that is
        down (or does not serve ``model``) fails at once with one clear line.

    Examples
    --------
    >>> gen = OpenAIGenerator("m", base_url="http://127.0.0.1:9/v1", check_server=False)
    >>> gen.model_name, gen.endpoint
    ('openai:m', 'http://127.0.0.1:9/v1/chat/completions')
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
        backoff: float = 1.0,
        temperature: float = 0.9,
        top_p: float = 0.95,
        max_new_tokens: int = 128,
        check_server: bool = True,
    ) -> None:
        self.model = model
        self.model_name = f"openai:{model}"
        self.base_url = base_url.rstrip("/")
        self.endpoint = f"{self.base_url}/chat/completions"
        self.api_key = api_key
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.temperature = temperature
        self.top_p = top_p
        self.max_new_tokens = max_new_tokens
        self.failed_requests = 0
        self.retried_requests = 0
        if check_server:
            self.check_server()

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def check_server(self) -> None:
        """Fail with one line when the server is unreachable or lacks the model."""
        request = urllib.request.Request(f"{self.base_url}/models", headers=self._headers())
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                listing = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError:
            return  # the server answers; some servers have no /models route
        except (json.JSONDecodeError, UnicodeDecodeError):
            return
        except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
            reason = getattr(exc, "reason", None) or type(exc).__name__
            raise GenerationError(f"cannot reach the server at {self.base_url}: {reason}") from None
        if not isinstance(listing, dict):
            return
        served = [m.get("id") for m in listing.get("data", []) if isinstance(m, dict)]
        if served and self.model not in served:
            raise GenerationError(
                f"the server at {self.base_url} does not serve model {self.model!r} "
                f"(it serves: {', '.join(map(str, served))})"
            )

    def generate(self, prompts: Sequence[str], seeds: Sequence[int]) -> list[str | None]:
        """Return one text per prompt, sent with its own seed; failed prompts get ``None``."""
        if len(prompts) != len(seeds):
            raise ValueError("prompts and seeds must have the same length")
        if not prompts:
            return []
        errors: list[str] = []

        def one(index: int) -> str | None:
            try:
                return self._with_retries(prompts[index], seeds[index])
            except RequestFailed as exc:
                errors.append(str(exc))
                return None

        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(prompts))) as pool:
            results = list(pool.map(one, range(len(prompts))))
        self.failed_requests += len(errors)
        if errors and len(errors) == len(prompts):
            raise GenerationError(
                f"every request to {self.endpoint} failed after {self.retries} retries; "
                f"last error: {errors[-1]}"
            )
        for error in errors[:3]:
            log.warning("request failed, will be retried by a resumed run: %s", error)
        return results

    def _with_retries(self, prompt: str, seed: int) -> str:
        for attempt in range(self.retries + 1):
            try:
                return self._post(prompt, seed)
            except RequestFailed as exc:
                if not exc.retry or attempt == self.retries:
                    raise
                self.retried_requests += 1
                log.info("retrying after: %s", exc)
                time.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _post(self, prompt: str, seed: int) -> str:
        body = {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_new_tokens,
            "seed": seed,
        }
        request = urllib.request.Request(
            self.endpoint, data=json.dumps(body).encode(), headers=self._headers(), method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise RequestFailed(
                f"HTTP {exc.code} from {self.endpoint}", retry=exc.code in RETRY_STATUSES
            ) from None
        except TimeoutError:
            raise RequestFailed(f"no answer within {self.timeout:g} s", retry=True) from None
        except (urllib.error.URLError, OSError) as exc:
            raise RequestFailed(f"{getattr(exc, 'reason', exc)}", retry=True) from None
        except http.client.HTTPException as exc:
            reason = f"broken HTTP response ({type(exc).__name__})"
            raise RequestFailed(reason, retry=True) from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise RequestFailed("the server sent a response that is not JSON", retry=True) from None
        try:
            return str(payload["choices"][0]["message"]["content"] or "")
        except (KeyError, IndexError, TypeError):
            raise RequestFailed(
                "the response has no choices[].message.content", retry=True
            ) from None
