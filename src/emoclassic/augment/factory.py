"""Pick and build a generator backend by name.

The interface lives in :mod:`emoclassic.augment.backend`; the backends
implement it in their own modules, which this factory imports only when one
is asked for, so choosing a backend never loads torch or a server client::

    make_backend(choose_backend(model), model=model)

Examples
--------
>>> BACKENDS
('auto', 'llamacpp', 'hf', 'openai')
"""

from __future__ import annotations

from typing import Any

from emoclassic.augment.backend import Generator
from emoclassic.errors import UsageError

__all__ = ["BACKENDS", "choose_backend", "make_backend"]

#: Names ``emoclassic augment --backend`` accepts; ``"auto"`` means :func:`choose_backend`.
BACKENDS = ("auto", "llamacpp", "hf", "openai")


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


def make_backend(name: str, *, drop_unused: bool = False, **options: Any) -> Generator:
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
    drop_unused : bool, default=False
        Pass only the options the chosen backend's class accepts, so that a
        caller can hold the options of every backend in one set. ``False``:
        an option the class does not take is an error.
    **options
        Keyword arguments of that class.

    Examples
    --------
    >>> make_backend("openai", model="m", check_server=False).model_name
    'openai:m'
    >>> make_backend("openai", model="m", check_server=False, parallel=4, drop_unused=True)
    ... # doctest: +ELLIPSIS
    <...OpenAIGenerator object at ...>
    >>> make_backend("nope")
    Traceback (most recent call last):
    ...
    emoclassic.errors.UsageError: unknown backend 'nope' (choose from llamacpp, hf, openai)
    """
    backend_class = _backend_class(name)
    if drop_unused:
        import inspect

        accepted = inspect.signature(backend_class).parameters
        options = {key: value for key, value in options.items() if key in accepted}
    return backend_class(**options)


def _backend_class(name: str) -> type:
    if name == "llamacpp":
        from emoclassic.augment.llamacpp_backend import LlamaCppGenerator

        return LlamaCppGenerator
    if name == "hf":
        from emoclassic.augment.hf_backend import HFGenerator

        return HFGenerator
    if name == "openai":
        from emoclassic.augment.openai_backend import OpenAIGenerator

        return OpenAIGenerator
    raise UsageError(f"unknown backend {name!r} (choose from {', '.join(BACKENDS[1:])})")
