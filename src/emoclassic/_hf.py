"""Bridge from Hugging Face ``datasets`` objects to DataFrames and label names.

``datasets`` is imported lazily: it costs seconds, and most commands never
need it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from emoclassic._tables import SPLIT_ALIASES
from emoclassic.errors import DataError, first_line


def dataset_dict_from_disk(path: Path) -> tuple[dict[str, pd.DataFrame], list[str] | None]:
    """Open a ``save_to_disk`` folder (a ``DatasetDict`` or a single ``Dataset``)."""
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as exc:  # corrupt arrow files raise several types
        raise DataError(f"{path}: not a readable datasets folder: {exc}") from None
    return _to_frames(loaded)


def dataset_dict_from_hub(spec: str) -> tuple[dict[str, pd.DataFrame], list[str] | None]:
    """Download ``OWNER/NAME[:CONFIG]`` with :func:`datasets.load_dataset`.

    This needs internet access to the Hugging Face Hub; offline, it fails with
    a one-line :class:`DataError`.
    """
    import datasets

    repo, _, config = spec.partition(":")
    try:
        with quiet_hub_logs():
            loaded = datasets.load_dataset(repo, config or None)
    except Exception as exc:  # network and hub errors come in many types
        reason = first_line(exc)
        raise DataError(
            f"hub:{spec}: cannot be loaded from the Hugging Face Hub: {reason}"
        ) from None
    return _to_frames(loaded)


@contextlib.contextmanager
def quiet_hub_logs() -> Iterator[None]:
    """Hold back the Hub clients' retry warnings unless ``-v`` asked for info logs.

    Offline, ``huggingface_hub`` logs two warnings per retry (about 20 lines)
    before the one error this module turns into a :class:`DataError`.

    Examples
    --------
    >>> import logging
    >>> with quiet_hub_logs():
    ...     logging.getLogger("huggingface_hub").getEffectiveLevel() >= logging.ERROR
    True
    """
    if logging.getLogger().getEffectiveLevel() <= logging.INFO:
        yield
        return
    loggers = [logging.getLogger(name) for name in HUB_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


#: Loggers of the Hub clients that warn on every retry.
HUB_LOGGERS = ("huggingface_hub", "datasets", "filelock", "urllib3", "httpx")


def _to_frames(loaded) -> tuple[dict[str, pd.DataFrame], list[str] | None]:
    import datasets

    parts = loaded if isinstance(loaded, datasets.DatasetDict) else {"train": loaded}
    frames: dict[str, pd.DataFrame] = {}
    names: list[str] | None = None
    for split_name, dataset in parts.items():
        canonical = next(
            (key for key, aliases in SPLIT_ALIASES.items() if split_name in aliases), None
        )
        if canonical is None:
            continue
        frames[canonical] = dataset.to_pandas()
        names = names or _class_label_names(dataset.features)
    if "train" not in frames:
        raise DataError(f"no train split among {', '.join(parts)}")
    return frames, names


def _class_label_names(features) -> list[str] | None:
    import datasets

    for feature in features.values():
        inner = getattr(feature, "feature", None)
        if isinstance(inner, datasets.ClassLabel):
            return list(inner.names)
        if isinstance(feature, list) and feature and isinstance(feature[0], datasets.ClassLabel):
            return list(feature[0].names)
        if isinstance(feature, datasets.ClassLabel):
            return list(feature.names)
    return None
