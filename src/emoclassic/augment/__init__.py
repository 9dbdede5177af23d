"""LLM data augmentation of rare emotions (``emoclassic augment``).

One module per step:

- :mod:`~emoclassic.augment.selection`: which labels are rare.
- :mod:`~emoclassic.augment.prompts`: the prompt template (``prompt.txt``).
- :mod:`~emoclassic.augment.backend`: the generator interface;
  :mod:`~emoclassic.augment.llamacpp_backend` (llama.cpp, GGUF files),
  :mod:`~emoclassic.augment.hf_backend` (transformers) and
  :mod:`~emoclassic.augment.openai_backend` (OpenAI-compatible servers);
  :mod:`~emoclassic.augment.factory` picks and builds one by name.
- :mod:`~emoclassic.augment.filters`: quality filters
  (``forbidden_phrases.txt``).
- :mod:`~emoclassic.augment.cache`: the resumable JSONL generation cache.
- :mod:`~emoclassic.augment.loop`: the iterative loop.
- :mod:`~emoclassic.augment.publish`: the ``datasets.DatasetDict``, its card,
  disk and Hub.
- :mod:`~emoclassic.augment.report`: the closing table.

The default prompt template and forbidden-phrase list ship inside this package;
``emoclassic augment --prompt-file/--forbidden-file`` swaps them. Names are
imported lazily, so importing this package costs nothing.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "DEFAULT_MODEL": "emoclassic.augment.backend",
    "GenerationError": "emoclassic.augment.backend",
    "Generator": "emoclassic.augment.backend",
    "make_backend": "emoclassic.augment.factory",
    "GenerationCache": "emoclassic.augment.cache",
    "generation_key": "emoclassic.augment.cache",
    "QualityFilter": "emoclassic.augment.filters",
    "load_forbidden_phrases": "emoclassic.augment.filters",
    "AugmentResult": "emoclassic.augment.loop",
    "AugmentSettings": "emoclassic.augment.loop",
    "augment_split": "emoclassic.augment.loop",
    "PromptTemplate": "emoclassic.augment.prompts",
    "select_minority_labels": "emoclassic.augment.selection",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'emoclassic.augment' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
