"""The one interface every generator backend implements.

A backend turns prompts into texts, one per prompt, each with its own seed::

    generate(prompts, seeds) -> list[str | None]

``prompts`` are user messages (the filled prompt template); the backend wraps
each in the model's chat format. The loop derives each seed from the
generation's cache key, so a generation does not depend on when it was asked
for: a resumed run asks for the same texts as an uninterrupted one. A prompt
whose request failed (after retries) gets ``None``, never an empty string, so
the caller never caches a failure. A backend raises :class:`GenerationError`
when it cannot work at all (model not loadable, server down).

:mod:`emoclassic.augment.factory` builds a backend by name; this module
imports none of the backends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from emoclassic.errors import EmoclassicError

__all__ = ["DEFAULT_MODEL", "GenerationError", "Generator"]

DEFAULT_MODEL = "meta-llama/Llama-3.2-1B-Instruct"


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
