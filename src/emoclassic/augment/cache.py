"""A crash-safe JSONL cache of generations, so interrupted runs resume for free.

Each generation is one JSON line, appended, flushed and ``fsync``-ed as soon as
its request returns, so ``Ctrl-C`` or ``kill -9`` loses at most the request in
flight. A torn last line (the process died mid-write) is skipped on reading.
Only real model outputs are written: failed or timed-out requests never are,
so a resumed run retries them.

A generation is identified by :func:`generation_key`: the model, the prompt
template, the source row, the target label, the sample index and the seed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from emoclassic.errors import DataError

__all__ = ["GenerationCache", "generation_key"]

log = logging.getLogger(__name__)


def generation_key(
    *, model: str, template_sha: str, source_text: str, label: str, sample: int, seed: int
) -> str:
    """Return the cache key of one generation (a 24-hex-digit SHA-256 prefix).

    The source row enters through its text, so the key stays valid when the
    dataset is re-ordered or cut with ``--limit``.

    Examples
    --------
    >>> key = generation_key(
    ...     model="m", template_sha="t", source_text="so sad", label="grief", sample=0, seed=1
    ... )
    >>> len(key), key == generation_key(
    ...     model="m", template_sha="t", source_text="so sad", label="grief", sample=1, seed=1
    ... )
    (24, False)
    """
    payload = json.dumps([model, template_sha, source_text, label, sample, seed])
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


class GenerationCache:
    """Generations on disk (JSONL) plus an in-memory index by key.

    Parameters
    ----------
    path : str or Path or None
        The JSONL file; created when missing. ``None`` keeps everything in
        memory (nothing survives the process).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "cache.jsonl"
    >>> cache = GenerationCache(path)
    >>> cache.add([{"key": "k1", "text": "so sad"}])
    >>> GenerationCache(path).get("k1")
    'so sad'
    >>> len(GenerationCache(path))
    1
    """

    def __init__(self, path: str | Path | None) -> None:
        self.path = None if path is None else Path(path)
        self._texts: dict[str, str] = {}
        self.skipped_lines = 0
        if self.path is not None and self.path.exists():
            self._load()

    def _load(self) -> None:
        try:
            lines = self.path.read_text("utf-8", errors="replace").splitlines()
        except OSError as exc:
            raise DataError(f"{self.path}: cannot read the generation cache: {exc}") from None
        for line in lines:
            try:
                record = json.loads(line)
                key, text = record["key"], record["text"]
            except (json.JSONDecodeError, KeyError, TypeError):
                self.skipped_lines += 1
                continue
            if isinstance(key, str) and isinstance(text, str):
                self._texts[key] = text
        if self.skipped_lines:
            log.warning("%s: skipped %d unreadable line(s)", self.path, self.skipped_lines)

    def __len__(self) -> int:
        return len(self._texts)

    def __contains__(self, key: str) -> bool:
        return key in self._texts

    def get(self, key: str) -> str | None:
        """Return the cached text for ``key``, or ``None``."""
        return self._texts.get(key)

    def add(self, records: Iterable[dict]) -> None:
        """Append records (each with ``key`` and ``text``) and force them to disk."""
        records = list(records)
        if not records:
            return
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            payload = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
            with open(self.path, "a", encoding="utf-8") as handle:
                # A file killed mid-line leaves a torn line; start clean after it.
                if handle.tell() > 0 and not self._ends_with_newline():
                    payload = "\n" + payload
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
        for record in records:
            self._texts[record["key"]] = record["text"]

    def _ends_with_newline(self) -> bool:
        with open(self.path, "rb") as handle:
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) == b"\n"
