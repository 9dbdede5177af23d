"""The one interface every generator backend implements, and the backend factory.

A backend turns prompts into texts::

    generate(prompts, n, seed) -> list[list[str]]

``prompts`` are user messages (the filled prompt template); the backend wraps
each in the model's chat format. The result holds, per prompt, up to ``n``
sampled texts. A prompt whose request failed (after retries) gets fewer texts
than ``n`` or none: missing texts are never padded with empty strings, so the
caller never caches a failure. A backend raises :class:`GenerationError` when
it cannot work at all (model not loadable, server down).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from emoclassic.errors import EmoclassicError, UsageError

__all__ = ["BACKENDS", "DEFAULT_MODEL", "GenerationError", "Generator", "make_backend"]

DEFAULT_MODEL = "meta-llama/Llama-3.2-1B-Instruct"
BACKENDS = ("hf", "openai")


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

    def generate(self, prompts: Sequence[str], n: int, seed: int) -> list[list[str]]:
        """Return up to ``n`` generations for each prompt (see the module docstring)."""
        ...


def make_backend(name: str, **options) -> Generator:
    """Build a backend by name with its options.

    Parameters
    ----------
    name : {"hf", "openai"}
        ``"hf"``: :class:`~emoclassic.augment.hf_backend.HFGenerator`
        (transformers, local). ``"openai"``:
        :class:`~emoclassic.augment.openai_backend.OpenAIGenerator` (any
        OpenAI-compatible chat-completions server).
    **options
        Keyword arguments of that class.

    Examples
    --------
    >>> make_backend("openai", model="m", check_server=False).model_name
    'openai:m'
    >>> make_backend("nope")
    Traceback (most recent call last):
    ...
    emoclassic.errors.UsageError: unknown backend 'nope' (choose from hf, openai)
    """
    if name == "hf":
        from emoclassic.augment.hf_backend import HFGenerator

        return HFGenerator(**options)
    if name == "openai":
        from emoclassic.augment.openai_backend import OpenAIGenerator

        return OpenAIGenerator(**options)
    raise UsageError(f"unknown backend {name!r} (choose from {', '.join(BACKENDS)})")
