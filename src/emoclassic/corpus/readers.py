"""Read a corpus in fixed-size batches of rows: CSV, TSV, JSONL, Parquet or plain text.

Every reader yields :class:`Batch` objects of exactly ``batch_size`` rows (the
last one may be shorter), whatever the file's own blocks are, so that the same
input always splits into the same batches. That is what lets an interrupted
run resume at a batch boundary.

Values are read as written: in CSV and TSV every cell is text (``NA``,
``null`` and ``nan`` are texts; only an empty unquoted cell is missing), in
JSON lines every value keeps its JSON type (an integer of any size stays
exact), and Parquet values keep their own type (an integer id with missing
values stays an integer).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emoclassic._tables import (
    RepeatedKeyError,
    brief,
    kind,
    object_without_repeated_keys,
    refuse_repeated_columns,
)
from emoclassic.errors import DataError, UsageError, first_line

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "FORMATS",
    "Batch",
    "MalformedCorpusError",
    "check_source",
    "count_rows",
    "detect_format",
    "read_batches",
]

#: Rows per batch: small enough that memory stays a few hundred MB, large enough
#: that per-batch costs (a Parquet part, a manifest update) stay under 5% of the time.
DEFAULT_BATCH_SIZE = 16_384

#: File suffix -> input format. A folder is read as a Parquet dataset.
FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".txt": "text",
}


class MalformedCorpusError(DataError):
    """The corpus itself cannot be read past some point: a rerun on it fails the same way.

    Unlike a bad row, which another bad-row policy gets past, the input must be
    changed, so the batches finished before it cannot be resumed from.
    """


@dataclass
class Batch:
    """One batch of rows.

    Attributes
    ----------
    start : int
        Position of the first row in the corpus (0-based).
    texts : ndarray of object
        The texts as read: ``str``, or anything else for a bad row (``None``, a number...).
    ids : ndarray of object or None
        The id column's values as read (``None`` where missing), or ``None`` when
        the rows are named by position.
    """

    start: int
    texts: np.ndarray
    ids: np.ndarray | None

    def __len__(self) -> int:
        return len(self.texts)


def detect_format(path: str | Path) -> str:
    """Return the input format of ``path`` from its suffix (a folder is Parquet).

    Examples
    --------
    >>> detect_format("comments.jsonl"), detect_format("reviews.TSV")
    ('jsonl', 'tsv')
    """
    path = Path(path)
    if path.is_dir():
        return "parquet"
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(FORMATS))
        raise UsageError(f"{path}: unknown input format {path.suffix!r} (use one of {known})")
    return fmt


def check_source(path: str | Path) -> str:
    r"""Return the input format of an existing corpus, refusing what cannot be read as one.

    A corpus is a regular file with a known suffix, or a folder holding
    ``.parquet`` files. A named pipe, socket or device is refused (reading it
    could block forever), and so is a folder without Parquet files.

    Parameters
    ----------
    path : str or Path
        The corpus.

    Returns
    -------
    str
        One of the values of :data:`FORMATS`.

    Raises
    ------
    DataError
        ``path`` is missing, not a regular file or folder, or a folder without
        ``.parquet`` files.
    UsageError
        The suffix is not a known input format.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "c.csv").write_text("text\nso happy\n")
    >>> check_source(folder / "c.csv")
    'csv'
    >>> check_source(folder)
    Traceback (most recent call last):
    ...
    emoclassic.errors.DataError: ...: a folder without .parquet files
    """
    from emoclassic.atomic import check_input_file

    path = Path(path)
    try:
        folder = path.is_dir()
    except OSError as exc:  # a name too long, a folder that cannot be searched
        raise DataError(f"{path}: cannot be read ({exc.strerror or first_line(exc)})") from None
    if folder:
        _parquet_files(path)
        return "parquet"
    check_input_file(path)  # missing, or a pipe, socket or device: refused unopened
    return detect_format(path)


def count_rows(path: str | Path) -> int | None:
    """Rows in a Parquet file or folder (from its metadata), else ``None``: not worth a pass."""
    if detect_format(path) != "parquet":
        return None
    return _parquet_rows(Path(path))


def read_batches(
    path: str | Path,
    *,
    text_column: str = "text",
    id_column: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Iterator[Batch]:
    r"""Yield the corpus in batches of ``batch_size`` rows.

    Parameters
    ----------
    path : str or Path
        A ``.csv``, ``.tsv``, ``.jsonl``/``.ndjson``, ``.parquet`` or ``.txt`` file
        (one text per line), or a folder of Parquet files.
    text_column : str, default="text"
        Column that holds the texts (ignored for ``.txt``).
    id_column : str, optional
        Column carried through as each row's id.
    batch_size : int, default=16384
        Rows per batch.

    Yields
    ------
    Batch

    Raises
    ------
    DataError
        Before the first batch: see :func:`check_source`; a missing or repeated
        column. :class:`MalformedCorpusError` while reading: a line that is not
        valid JSON, a JSON object with a repeated key, text that is not UTF-8.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "c.csv"
    >>> _ = path.write_text('id,text\nNA,"so happy"\n9,"a ""quoted"",\nmulti-line text"\n')
    >>> [(b.start, b.ids.tolist(), b.texts.tolist())
    ...  for b in read_batches(path, id_column="id", batch_size=1)]
    [(0, ['NA'], ['so happy']), (1, ['9'], ['a "quoted",\nmulti-line text'])]
    """
    path = Path(path)
    fmt = check_source(path)
    if fmt == "text":
        if id_column is not None:
            raise UsageError(f"{path}: a text file has no columns; drop the id column")
        return _rebatch(_text_tables(path, batch_size), "text", None, batch_size, path)
    columns = _check_columns(path, _COLUMNS[fmt](path), text_column, id_column)
    tables = _READERS[fmt](path, columns, batch_size)
    return _rebatch(tables, text_column, id_column, batch_size, path)


def _rebatch(tables, text_column, id_column, batch_size, path) -> Iterator[Batch]:
    """Cut a stream of pandas frames into batches of exactly ``batch_size`` rows."""
    import pandas as pd

    pending: list = []
    held = start = 0
    try:
        for frame in tables:
            pending.append(frame)
            held += len(frame)
            while held >= batch_size:
                joined = pd.concat(pending, ignore_index=True) if len(pending) > 1 else pending[0]
                yield _batch(joined.iloc[:batch_size], start, text_column, id_column)
                start += batch_size
                rest = joined.iloc[batch_size:]
                pending, held = ([rest] if len(rest) else []), len(rest)
    except UnicodeDecodeError:
        raise MalformedCorpusError(f"{path}: not UTF-8 text") from None
    except ValueError as exc:  # a parse error: the same input fails the same way
        raise MalformedCorpusError(f"{path}: cannot be read ({first_line(exc)})") from None
    except OSError as exc:  # may pass: a rerun resumes
        raise DataError(f"{path}: cannot be read ({exc.strerror or first_line(exc)})") from None
    if held:
        joined = pd.concat(pending, ignore_index=True) if len(pending) > 1 else pending[0]
        yield _batch(joined, start, text_column, id_column)


def _batch(frame, start: int, text_column: str, id_column: str | None) -> Batch:
    ids = None if id_column is None else frame[id_column].to_numpy(dtype=object)
    return Batch(start, frame[text_column].to_numpy(dtype=object), ids)


def _frame(columns: dict[str, list]):
    """Make a pandas frame of object columns: values exactly as given, ``None`` where missing."""
    import pandas as pd

    return pd.DataFrame({name: pd.Series(values, dtype=object) for name, values in columns.items()})


def _arrow_frame(record_batch, columns: list[str]):
    """Turn an Arrow record batch into object columns (integers with nulls stay integers)."""
    return _frame({name: record_batch.column(name).to_pylist() for name in columns})


def _check_columns(path: Path, available, text_column: str, id_column: str | None) -> list[str]:
    wanted = [text_column] if id_column is None else [text_column, id_column]
    available = list(available)
    missing = [name for name in wanted if name not in available]
    if missing:
        have = ", ".join(map(repr, available[:20])) or "none"
        raise DataError(f"{path}: no column {missing[0]!r} (columns: {have})")
    if id_column == text_column:
        raise UsageError(f"{path}: the id column and the text column are both {text_column!r}")
    _refuse_repeated(path, available, wanted)
    return wanted


def _refuse_repeated(where: Path, names: list[str], wanted: list[str]) -> None:
    """Refuse a header that names a wanted column twice: which one is meant is unknown."""
    refuse_repeated_columns([name for name in names if name in wanted], where=str(where))


def _parquet_files(path: Path) -> list[Path]:
    """Return the Parquet file, or a folder's ``*.parquet`` files in name order (not hidden).

    Only regular files count: a named pipe or a device named ``*.parquet`` is left out.
    """
    if not path.is_dir():
        return [path]
    files = sorted(
        file
        for file in path.rglob("*.parquet")
        if file.is_file()
        and not any(part.startswith((".", "_")) for part in file.relative_to(path).parts)
    )
    if not files:
        raise DataError(f"{path}: a folder without .parquet files")
    return files


def _parquet_file(file: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(file)
    except OSError as exc:  # may pass (a permission, a network file system): not malformed
        raise DataError(f"{file}: cannot be read ({exc.strerror or first_line(exc)})") from None
    except pa.ArrowException as exc:
        raise MalformedCorpusError(
            f"{file}: not a readable Parquet file ({first_line(exc)})"
        ) from None


def _parquet_columns(path: Path) -> list[str]:
    return _parquet_file(_parquet_files(path)[0]).schema_arrow.names


def _parquet_rows(path: Path) -> int:
    return sum(_parquet_file(file).metadata.num_rows for file in _parquet_files(path))


def _parquet_tables(path: Path, columns: list[str], batch_size: int):
    # File by file and row group by row group: memory holds one row group, whatever the size.
    for file in _parquet_files(path):
        parquet = _parquet_file(file)
        names = parquet.schema_arrow.names
        missing = [name for name in columns if name not in names]
        if missing:
            raise MalformedCorpusError(f"{file}: no column {missing[0]!r}")
        _refuse_repeated(file, names, columns)
        for record_batch in parquet.iter_batches(batch_size=batch_size, columns=columns):
            yield _arrow_frame(record_batch, columns)


def _csv_options(delimiter: str):
    import pyarrow.csv as csv

    return csv.ParseOptions(delimiter=delimiter, newlines_in_values=True)


def _delimited_columns(path: Path, delimiter: str) -> list[str]:
    import pyarrow as pa
    import pyarrow.csv as csv

    try:
        reader = csv.open_csv(
            path,
            read_options=csv.ReadOptions(block_size=1 << 16),
            parse_options=_csv_options(delimiter),
        )
    except (pa.ArrowInvalid, OSError) as exc:
        kind = "comma" if delimiter == "," else "tab"
        raise DataError(
            f"{path}: not a readable {kind}-separated file ({first_line(exc)})"
        ) from None
    return reader.schema.names


def _delimited_tables(path: Path, columns: list[str], batch_size: int, delimiter: str):
    import pyarrow as pa
    import pyarrow.csv as csv

    reader = csv.open_csv(
        path,
        read_options=csv.ReadOptions(block_size=1 << 22),
        parse_options=_csv_options(delimiter),
        convert_options=csv.ConvertOptions(
            include_columns=columns,
            column_types={name: pa.string() for name in columns},
            # Only an empty, unquoted cell is missing: "NA", "null", "nan" are values.
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    while True:
        try:
            record_batch = reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as exc:
            raise ValueError(str(exc)) from None
        yield _arrow_frame(record_batch, columns)


# strict=False: a raw tab inside a string is read as a tab, as pandas did.
_DECODER = json.JSONDecoder(object_pairs_hook=object_without_repeated_keys, strict=False)


def _jsonl_records(path: Path) -> Iterator[dict]:
    """Yield the JSON object of each non-blank line; refuse any other line, naming it."""
    with path.open(encoding="utf-8-sig", newline="\n") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                yield _json_object(line, path, number)


def _json_object(line: str, path: Path, number: int) -> dict:
    try:
        record = _DECODER.decode(line)
    except RepeatedKeyError as exc:
        problem = f"names the key {brief(exc.key)} twice"
    except json.JSONDecodeError as exc:  # one line: the column is the position in it
        problem = f"is not valid JSON ({exc.msg} at column {exc.pos + 1})"
    except (ValueError, RecursionError) as exc:  # an integer of over 4300 digits, deep nesting
        problem = f"is not valid JSON ({first_line(exc)})"
    else:
        if type(record) is dict:
            return record
        problem = f"is {kind(record)}, not a JSON object"
    raise MalformedCorpusError(f"{path}: line {number} {problem}")


def _jsonl_columns(path: Path) -> list[str]:
    try:
        first = next(_jsonl_records(path), None)
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or first_line(exc)})") from None
    if first is None:
        raise DataError(f"{path}: no rows")
    return list(first)


def _jsonl_tables(path: Path, columns: list[str], batch_size: int):
    # A key missing from a record is a missing value: for the text, a bad row.
    rows: list[dict] = []
    for record in _jsonl_records(path):
        rows.append(record)
        if len(rows) == batch_size:
            yield _frame({name: [row.get(name) for row in rows] for name in columns})
            rows = []
    if rows:
        yield _frame({name: [row.get(name) for row in rows] for name in columns})


def _text_tables(path: Path, batch_size: int):
    with path.open(encoding="utf-8", newline=None) as handle:
        lines: list[str | None] = []
        for line in handle:
            if "\x00" in line:
                raise MalformedCorpusError(f"{path}: a binary file, not text")
            stripped = line.rstrip("\n")
            lines.append(stripped if stripped.strip() else None)
            if len(lines) == batch_size:
                yield _frame({"text": lines})
                lines = []
        if lines:
            yield _frame({"text": lines})


_READERS = {
    "csv": lambda path, columns, size: _delimited_tables(path, columns, size, ","),
    "tsv": lambda path, columns, size: _delimited_tables(path, columns, size, "\t"),
    "jsonl": _jsonl_tables,
    "parquet": _parquet_tables,
}
_COLUMNS = {
    "csv": lambda path: _delimited_columns(path, ","),
    "tsv": lambda path: _delimited_columns(path, "\t"),
    "jsonl": _jsonl_columns,
    "parquet": _parquet_columns,
}
