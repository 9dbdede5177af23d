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
        self._torn_at: int | None = None
        if self.path is not None and self.path.exists():
            self._load()

    def _load(self) -> None:
        """Read the records; only a torn last line (a writer killed mid-line) is skipped.

        Any other line that is not a cache record means the path names some other
        file (the data, a model, a prompt): it is refused, never appended to.
        """
        if not self.path.is_file():
            raise DataError(f"{self.path}: the generation cache is not a regular file")
        try:
            data = self.path.read_bytes()
            # Records end at "\n" only: a generation may hold U+2028, U+2029 or U+0085,
            # which json.dumps(ensure_ascii=False) writes unescaped (splitlines splits there).
            lines = data.decode("utf-8").split("\n")
            if lines[-1] == "":
                lines.pop()
        except UnicodeDecodeError:
            raise DataError(f"{self.path}: not a generation cache (not UTF-8 text)") from None
        except OSError as exc:
            raise DataError(f"{self.path}: cannot read the generation cache: {exc}") from None
        for number, line in enumerate(lines, 1):
            record = _cache_record(line)
            if record is None:
                torn = number == len(lines) and not data.endswith(b"\n")
                if torn and line.startswith('{"'):  # the start of a record, cut short
                    self.skipped_lines += 1  # cut off before the next append
                    self._torn_at = len(data) - len(line.encode("utf-8"))
                    continue
                raise DataError(
                    f"{self.path}: not a generation cache (line {number} is not a record "
                    "with a string key and text); give another cache path"
                )
            self._texts[record[0]] = record[1]
        if self.skipped_lines:
            log.warning("%s: skipped a torn last line", self.path)

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
            if self._torn_at is not None:
                os.truncate(self.path, self._torn_at)
                self._torn_at = None
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


def _cache_record(line: str) -> tuple[str, str] | None:
    """``(key, text)`` of one cache line, or ``None`` when it is not a record."""
    try:
        record = json.loads(line)
        key, text = record["key"], record["text"]
    except (json.JSONDecodeError, KeyError, TypeError, RecursionError):
        return None
    if isinstance(key, str) and isinstance(text, str):
        return key, text
    return None
