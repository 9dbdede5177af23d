"""The one interface every generator backend implements, and the backend factory.

A backend turns prompts into texts, one per prompt, each with its own seed::

    generate(prompts, seeds) -> list[str | None]

``prompts`` are user messages (the filled prompt template); the backend wraps
each in the model's chat format. The loop derives each seed from the
generation's cache key, so a generation does not depend on when it was asked
for: a resumed run asks for the same texts as an uninterrupted one. A prompt
whose request failed (after retries) gets ``None``, never an empty string, so
the caller never caches a failure. A backend raises :class:`GenerationError`
when it cannot work at all (model not loadable, server down).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from emoclassic.errors import EmoclassicError, UsageError

__all__ = [
    "BACKENDS",
    "DEFAULT_MODEL",
    "GenerationError",
    "Generator",
    "choose_backend",
    "make_backend",
]

DEFAULT_MODEL = "meta-llama/Llama-3.2-1B-Instruct"
BACKENDS = ("auto", "llamacpp", "hf", "openai")


class GenerationError(EmoclassicError):
    """The generator cannot run: the model cannot be loaded or the server is down."""


@runtime_checkable
class Generator(Protocol):
    """What the augmentation loop needs from a backend.

    Attributes
    ----------
    model_name : str
        Identifies the model in cache keys and in the dataset card.
    batch_size : int
        How many prompts the loop hands over per call (and caches after).
    """

    model_name: str
    batch_size: int

    def generate(self, prompts: Sequence[str], seeds: Sequence[int]) -> list[str | None]:
        """Return one generation per prompt (see the module docstring)."""
        ...


def choose_backend(model: str) -> str:
    """Pick the local backend for a model: ``"llamacpp"`` for GGUF files, else ``"hf"``.

    GGUF models (a ``.gguf`` path or a named offline model) go to llama.cpp
    when ``xllamacpp`` is installed. On 2 CPU cores with SmolLM2-135M it
    loaded in 0.5 s against 20.8 s of dequantising for transformers, and
    generated 1.43x faster on the same 96 prompts
    (``python pipelines/bench_augment.py --model smollm2-135m``).
    Without ``xllamacpp`` they go to transformers, which reads GGUF too.

    Examples
    --------
    >>> choose_backend("meta-llama/Llama-3.2-1B-Instruct")
    'hf'
    """
    import importlib.util

    from emoclassic.augment.models import resolve_model

    if resolve_model(model).is_gguf and importlib.util.find_spec("xllamacpp") is not None:
        return "llamacpp"
    return "hf"


def make_backend(name: str, **options) -> Generator:
    """Build a backend by name with its options.

    Parameters
    ----------
    name : {"llamacpp", "hf", "openai"}
        ``"llamacpp"``: :class:`~emoclassic.augment.llamacpp_backend.LlamaCppGenerator`
        (GGUF files, in process). ``"hf"``:
        :class:`~emoclassic.augment.hf_backend.HFGenerator` (transformers,
        local). ``"openai"``:
        :class:`~emoclassic.augment.openai_backend.OpenAIGenerator` (any
        OpenAI-compatible chat-completions server). ``"auto"`` is resolved
        by the caller with :func:`choose_backend`.
    **options
        Keyword arguments of that class.

    Examples
    --------
    >>> make_backend("openai", model="m", check_server=False).model_name
    'openai:m'
    >>> make_backend("nope")
    Traceback (most recent call last):
    ...
    emoclassic.errors.UsageError: unknown backend 'nope' (choose from llamacpp, hf, openai)
    """
    if name == "llamacpp":
        from emoclassic.augment.llamacpp_backend import LlamaCppGenerator

        return LlamaCppGenerator(**options)
    if name == "hf":
        from emoclassic.augment.hf_backend import HFGenerator

        return HFGenerator(**options)
    if name == "openai":
        from emoclassic.augment.openai_backend import OpenAIGenerator

        return OpenAIGenerator(**options)
    raise UsageError(f"unknown backend {name!r} (choose from {', '.join(BACKENDS[1:])})")
