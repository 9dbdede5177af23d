"""Local generation from a GGUF file with llama.cpp, in process (the ``llamacpp`` backend).

llama.cpp runs quantized models on the CPU far faster than transformers can
after dequantising them, and loads a GGUF file in under a second. The
``xllamacpp`` package is a prebuilt wheel of llama.cpp's own server with a
Python API: no compiler and no HTTP port are needed. Requests are answered
by ``parallel`` server slots with continuous batching, each with its own
seed.

Reproducibility: with several slots, the floating-point result of a step
depends on which sequences share the batch, so a sampled token can differ
between two runs even with the same seed (two runs of the same 96 requests
agreed on 82). The generation cache is what makes a resumed run exact; for
bit-for-bit repeatable generations, use ``parallel=1`` (slower).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from emoclassic.augment.backend import GenerationError
from emoclassic.augment.models import resolve_model
from emoclassic.errors import first_line, require

__all__ = ["LlamaCppGenerator"]

log = logging.getLogger(__name__)


class LlamaCppGenerator:
    """Sample rephrasings from a GGUF model with llama.cpp (``xllamacpp``).

    Parameters
    ----------
    model : str
        A ``.gguf`` path or a named offline model such as ``"smollm2-135m"``
        (see :data:`emoclassic.augment.models.OFFLINE_MODELS`).
    batch_size : int, default=32
        Prompts per ``generate`` call made by the augmentation loop.
    parallel : int, default=8
        Server slots decoding at once (continuous batching); one slot leaves
        most of a CPU's matrix throughput unused on a small model.
    threads : int or None
        CPU threads; ``None`` uses every core this process may run on.
    context : int, default=512
        Tokens of context per slot (prompt plus generation).
    gpu_layers : int, default=-1
        Layers offloaded to a GPU when the llama.cpp build has one (``-1``:
        all); the CPU wheel ignores it.
    temperature, top_p : float, default=0.7, 0.95
        Sampling parameters; ``temperature=0`` is greedy.
    max_new_tokens : int, default=64
        Generation length limit.

    Notes
    -----
    ``generate(prompts, seeds)`` sends each prompt with its own seed. With
    ``parallel=1`` a generation then depends only on its prompt, its seed and
    the settings; with more slots, batching can change it (module docstring).
    """

    def __init__(
        self,
        model: str,
        *,
        batch_size: int = 32,
        parallel: int = 8,
        threads: int | None = None,
        context: int = 512,
        gpu_layers: int = -1,
        temperature: float = 0.7,
        top_p: float = 0.95,
        max_new_tokens: int = 64,
    ) -> None:
        xllamacpp = require("xllamacpp", "offline-llm")
        resolved = resolve_model(model)
        if not resolved.is_gguf:
            raise GenerationError(
                f"the llamacpp backend needs a .gguf file or a named offline model, got {model!r}"
            )
        self.model_name = resolved.name
        self.path = resolved.gguf
        self.batch_size = batch_size
        self.parallel = parallel
        self.temperature = temperature
        self.top_p = top_p
        self.max_new_tokens = max_new_tokens
        threads = threads or len(os.sched_getaffinity(0))
        params = xllamacpp.CommonParams()
        params.model.path = str(self.path)
        params.n_parallel = parallel
        params.n_ctx = context * parallel
        params.n_gpu_layers = gpu_layers
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.verbosity = -1  # llama.cpp logs nothing; errors come back per request
        try:
            self._server = xllamacpp.Server(params)
        except Exception as exc:  # llama.cpp reports load failures as plain exceptions
            reason = first_line(exc)
            raise GenerationError(f"cannot load {self.path}: {reason}") from None
        log.info("loaded %s with llama.cpp (%d slots, %d threads)", self.path, parallel, threads)

    def generate(self, prompts: Sequence[str], seeds: Sequence[int]) -> list[str | None]:
        """Return one text per prompt, sampled with that prompt's seed; ``None`` if it failed."""
        if len(prompts) != len(seeds):
            raise ValueError("prompts and seeds must have the same length")
        if not prompts:
            return []
        with ThreadPoolExecutor(max_workers=min(self.parallel, len(prompts))) as pool:
            return list(pool.map(self._one, prompts, seeds))

    def _one(self, prompt: str, seed: int) -> str | None:
        request = {
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "seed": int(seed),
        }
        answer = self._server.handle_chat_completions(request)
        try:
            return str(answer["choices"][0]["message"]["content"] or "")
        except (KeyError, IndexError, TypeError):
            error = answer.get("error") if isinstance(answer, dict) else answer
            log.warning("llama.cpp request failed (a resumed run retries it): %s", error)
            return None
