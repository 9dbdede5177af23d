"""Reading tabular split files and turning their label columns into a 0/1 matrix.

Private helpers of :mod:`emoclassic.datasets`. Two label layouts are
understood:

* one column holding, per row, a list of label ids or names (a Python list,
  a JSON list ``"[3, 7]"`` or a comma-separated string ``"3,7"``);
* one 0/1 column per label, as in SemEval-2025 Task 11 (``id,text,anger,...``).

Whatever the file holds, the result is either well-formed (every text a
non-empty string, every label a clean name or a non-negative id) or a
:class:`~emoclassic.errors.DataError` with a one-line message naming the file
and, where there is one, the data row (1-based, header not counted; in JSON
lines, the n-th object).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from emoclassic.atomic import read_input_file
from emoclassic.errors import DataError, first_line
from emoclassic.label_names import label_name_problem

SPLIT_ALIASES = {
    "train": ("train",),
    "validation": ("validation", "valid", "val", "dev"),
    "test": ("test",),
}
SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".parquet")
LABEL_COLUMN_CANDIDATES = ("labels", "label", "emotions")
ID_COLUMNS = frozenset({"id", "ids", "comment_id", "uid", "index", "idx"})
#: Columns an augmented dataset adds (see :mod:`emoclassic.augment.publish`); never labels.
AUGMENT_COLUMNS = frozenset({"synthetic", "source_row", "source_id", "target_label"})
LABEL_LIST_FILES = ("labels.txt", "emotions.txt")
_GOEMOTIONS_RAW_COLUMNS = ["text", "labels", "id"]
_ID_LIST = re.compile(r"^\d+(,\d+)*$")
_LABEL_ID = re.compile(r"^[0-9]+$")
_NEGATIVE_LABEL_ID = re.compile(r"^-[0-9]+$")
#: How pandas renames a repeated header name (``text`` again becomes ``text.1``).
_RENAMED_DUPLICATE = re.compile(r"^(?P<base>.+)\.[0-9]+$")
#: How pandas names a column whose header cell is empty.
_UNNAMED_COLUMN = re.compile(r"^Unnamed: [0-9]+$")
_SHOWN_CHARS = 60


@dataclass(frozen=True)
class LabelSource:
    """Labels of one split before binarization.

    Exactly one of ``matrix`` (with ``columns``) or ``lists`` is set.
    """

    columns: tuple[str, ...] | None = None
    matrix: np.ndarray | None = None
    lists: list[list[int | str]] | None = None


def read_table(
    source: str | Path | BinaryIO,
    *,
    where: str,
    suffix: str | None = None,
    text_column: str = "text",
) -> pd.DataFrame:
    """Read one split file into a DataFrame, with one-line errors.

    A header-less TSV whose second column holds comma-separated label ids is
    read as the raw GoEmotions layout (text, label ids, comment id). In CSV and
    TSV files the text column is read as text (``007`` stays ``007``).

    Raises
    ------
    DataError
        For a path that is missing, a folder or otherwise unreadable; a file
        that is empty, not UTF-8, malformed or without data rows; a header that
        names a column twice; and CSV/TSV data rows with more fields than the
        header (pandas would silently turn the first column into an index).
    """
    suffix = (suffix or Path(str(source)).suffix).lower()
    if suffix not in SUFFIXES:
        raise DataError(f"{where}: unsupported file type {suffix!r} (use {', '.join(SUFFIXES)})")
    if isinstance(source, (str, Path)):
        source = io.BytesIO(read_file_bytes(Path(source), where=where))
    try:
        frame = _read(source, suffix, where=where, text_column=text_column)
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"{where}: the file is empty") from None
    except UnicodeError:
        raise DataError(f"{where}: not UTF-8 text") from None
    except Exception as exc:  # pandas/pyarrow raise many types for malformed files
        reason = first_line(exc)
        raise DataError(f"{where}: cannot be read as {suffix[1:]}: {reason}") from None
    if len(frame) == 0:
        raise DataError(f"{where}: the file has no rows")
    frame.columns = [str(column) for column in frame.columns]
    refuse_repeated_columns(frame.columns, where=where)
    return frame


def read_file_bytes(path: Path, *, where: str) -> bytes:
    """Return a regular, non-empty file's bytes, or raise a one-line :class:`DataError`.

    The file rule is :func:`emoclassic.atomic.read_input_file`: a folder, a
    FIFO, a socket or a device is refused without blocking.

    Examples
    --------
    >>> import tempfile
    >>> read_file_bytes(Path(tempfile.mkdtemp()), where="train.csv")
    Traceback (most recent call last):
    ...
    emoclassic.errors.DataError: train.csv: is a folder, not a file
    """
    payload = read_input_file(path, where=where)
    if not payload:
        raise DataError(f"{where}: the file is empty")
    return payload


def _read(buffer: BinaryIO, suffix: str, *, where: str, text_column: str) -> pd.DataFrame:
    if suffix in (".csv", ".tsv"):
        return _read_delimited(buffer, suffix, where=where, text_column=text_column)
    if suffix == ".jsonl":
        return frame_from_json_lines(buffer.read().decode("utf-8-sig"), where=where)
    if suffix == ".json":
        return _read_json(buffer.read().decode("utf-8-sig"), where=where)
    return _read_parquet(buffer, where=where)


def _read_parquet(buffer: BinaryIO, *, where: str) -> pd.DataFrame:
    import pyarrow.parquet as pq

    refuse_repeated_columns(pq.ParquetFile(buffer).schema_arrow.names, where=where)
    buffer.seek(0)
    return pd.read_parquet(buffer)


def _read_delimited(buffer: BinaryIO, suffix: str, *, where: str, text_column: str):
    options = _delimited_options(buffer, suffix, text_column)
    frame = pd.read_csv(buffer, **options)
    if not isinstance(frame.index, pd.RangeIndex):
        raise DataError(
            f"{where}: the data rows have more fields than the header "
            f"({len(frame.columns)} column names)"
        )
    if _may_hide_repeated_columns(frame.columns):
        buffer.seek(0)
        header = pd.read_csv(buffer, **{**options, "header": None, "names": None, "nrows": 1})
        names = [name for name in header.iloc[0].tolist() if isinstance(name, str) and name]
        refuse_repeated_columns(names, where=where)
    return frame


def _delimited_options(buffer: BinaryIO, suffix: str, text_column: str) -> dict:
    options = {"keep_default_na": False, "na_values": [""], "dtype": {text_column: str}}
    if suffix == ".csv":
        return options
    first = buffer.readline().decode("utf-8", errors="replace").rstrip("\r\n").split("\t")
    buffer.seek(0)
    raw = len(first) in (2, 3) and _ID_LIST.match(first[1].strip()) is not None
    options.update(sep="\t", quoting=csv.QUOTE_NONE)
    if raw:
        options.update(
            header=None,
            names=_GOEMOTIONS_RAW_COLUMNS[: len(first)],
            dtype={"text": str, "labels": str},
        )
    return options


def _may_hide_repeated_columns(columns: Iterable[object]) -> bool:
    """Whether pandas may have renamed a repeated header name (``text``, ``text.1``)."""
    names = {str(column) for column in columns}
    for name in names:
        match = _RENAMED_DUPLICATE.match(name)
        if match and match.group("base") in names:
            return True
    return False


def refuse_repeated_columns(names: Iterable[object], *, where: str) -> None:
    """Raise a :class:`DataError` when a file names one column twice.

    Examples
    --------
    >>> refuse_repeated_columns(["text", "text.1", "labels"], where="train.csv")
    >>> refuse_repeated_columns(["text", "labels", "text"], where="train.csv")
    Traceback (most recent call last):
    ...
    emoclassic.errors.DataError: train.csv: two columns are named 'text'; rename or remove one
    """
    seen: set[object] = set()
    for name in names:
        if name in seen:
            raise DataError(f"{where}: two columns are named {brief(name)}; rename or remove one")
        seen.add(name)


class RepeatedKeyError(ValueError):
    """A JSON object names a key twice (``key`` is that key)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def object_without_repeated_keys(pairs: list[tuple[str, object]]) -> dict:
    """``object_pairs_hook`` for :mod:`json` that refuses a repeated key.

    Instead of keeping the last value, as :func:`json.loads` does, it raises
    :class:`RepeatedKeyError`.

    Examples
    --------
    >>> json.loads('{"text": "a", "labels": [0]}', object_pairs_hook=object_without_repeated_keys)
    {'text': 'a', 'labels': [0]}
    >>> json.loads('{"text": "a", "text": "b"}', object_pairs_hook=object_without_repeated_keys)
    Traceback (most recent call last):
    ...
    emoclassic._tables.RepeatedKeyError: text
    """
    record = dict(pairs)
    if len(record) != len(pairs):  # rare: only then look for the key
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise RepeatedKeyError(key)
            seen.add(key)
    return record


def frame_from_json_lines(text: str, *, where: str) -> pd.DataFrame:
    r"""Parse JSON lines (one object per line; blank lines are skipped) into a DataFrame.

    Values keep their JSON types (a number stays a number, so that a text that
    is not a string can be refused later).

    Examples
    --------
    >>> frame_from_json_lines('{"text": "hi", "labels": [0]}\n\n{"text": 5}\n', where="x")
      text labels
    0   hi    [0]
    1    5    NaN
    >>> frame_from_json_lines('{"text": "hi"}\n[1, 2]\n', where="x")
    Traceback (most recent call last):
    ...
    emoclassic.errors.DataError: x: line 2 is a list, not a JSON object
    """
    records = []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line, object_pairs_hook=object_without_repeated_keys)
        except RepeatedKeyError as exc:
            raise DataError(
                f"{where}: line {number} names the key {brief(exc.key)} twice"
            ) from None
        except (ValueError, RecursionError) as exc:
            reason = first_line(exc)
            raise DataError(f"{where}: line {number} is not valid JSON ({reason})") from None
        if not isinstance(record, dict):
            raise DataError(f"{where}: line {number} is {kind(record)}, not a JSON object")
        records.append(record)
    return pd.DataFrame(records, dtype=object)


def _read_json(text: str, *, where: str) -> pd.DataFrame:
    """Read a JSON list of row objects, an object of column lists, or JSON lines."""
    try:
        value = json.loads(text, object_pairs_hook=object_without_repeated_keys)
    except RepeatedKeyError as exc:
        raise DataError(f"{where}: an object names the key {brief(exc.key)} twice") from None
    except (ValueError, RecursionError):
        return frame_from_json_lines(text, where=where)
    if isinstance(value, list):
        for number, record in enumerate(value, 1):
            if not isinstance(record, dict):
                raise DataError(f"{where}: item {number} is {kind(record)}, not a JSON object")
        return pd.DataFrame(value, dtype=object)
    if isinstance(value, dict):
        lengths = {len(column) if isinstance(column, list) else -1 for column in value.values()}
        if -1 in lengths or len(lengths) > 1:
            raise DataError(
                f"{where}: a JSON object must map each column name to a list, "
                "all of the same length"
            )
        return pd.DataFrame(value, dtype=object)
    raise DataError(f"{where}: the JSON is {kind(value)}, not a list of row objects")


def find_split_files(folder: Path) -> dict[str, Path]:
    """Map split names to the files of a folder (``dev.tsv`` -> ``validation``).

    Raises
    ------
    DataError
        When there is no train file, or two files for one split (``train.csv``
        and ``train.jsonl``, or ``dev.csv`` and ``validation.csv``).
    """
    found: dict[str, Path] = {}
    for split, aliases in SPLIT_ALIASES.items():
        candidates = [folder / f"{alias}{suffix}" for alias in aliases for suffix in SUFFIXES]
        existing = [path for path in candidates if path.exists()]
        if len(existing) > 1:
            names = ", ".join(path.name for path in existing)
            raise DataError(f"{folder}: more than one {split} file ({names}); keep one")
        if existing:
            found[split] = existing[0]
    if "train" not in found:
        raise DataError(
            f"{folder}: no train file (expected train.csv, train.tsv, train.jsonl, "
            "train.json or train.parquet)"
        )
    return found


def read_label_names_file(folder: Path) -> list[str] | None:
    """Read ``labels.txt`` or ``emotions.txt`` (one name per line) when present.

    White space around each line and blank lines are ignored; a UTF-8 byte
    order mark is allowed.

    Returns
    -------
    list of str or None
        The names in file order; ``None`` when neither file exists.

    Raises
    ------
    DataError
        For a file that is a folder, unreadable, empty, not UTF-8, or that
        holds a name with a control character or the same name twice.
    """
    for file_name in LABEL_LIST_FILES:
        path = folder / file_name
        if path.exists():
            return _label_names_from_file(path)
    return None


def _label_names_from_file(path: Path) -> list[str]:
    where = str(path)
    try:
        text = read_file_bytes(path, where=where).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{where}: not UTF-8 text") from None
    first_seen: dict[str, int] = {}
    for number, line in enumerate(text.split("\n"), 1):
        name = line.strip()
        if not name:
            continue
        problem = label_name_problem(name)
        if problem:
            raise DataError(f"{where}: the label name {brief(name)} on line {number} {problem}")
        if name in first_seen:
            raise DataError(
                f"{where}: the label name {brief(name)} is on line {first_seen[name]} "
                f"and again on line {number}"
            )
        first_seen[name] = number
    if not first_seen:
        raise DataError(f"{where}: the file has no label names")
    return list(first_seen)


def brief(value: object) -> str:
    """``repr(value)``, cut to a readable length for a one-line message.

    Examples
    --------
    >>> brief("joy")
    "'joy'"
    >>> brief("x" * 100)
    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..."
    """
    try:
        shown = repr(value)
    except RecursionError:
        shown = f"<deeply nested {type(value).__name__}>"
    return shown if len(shown) <= _SHOWN_CHARS else shown[: _SHOWN_CHARS - 3] + "..."


def kind(value: object) -> str:
    """Name the type of a value read from a file, with its article.

    NumPy scalars and arrays are named like the Python values they stand for.

    Examples
    --------
    >>> kind([1]), kind({"a": 1}), kind(3), kind(np.int64(3)), kind(True), kind(None)
    ('a list', 'a dict', 'an int', 'an int', 'a bool', 'null')
    """
    if value is None:
        return "null"
    if isinstance(value, np.ndarray):
        return "a list"
    if isinstance(value, (bytes, bytearray)):
        return "bytes"
    if isinstance(value, np.generic):
        value = value.item()
    name = type(value).__name__
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def frame_to_split_parts(
    frame: pd.DataFrame,
    *,
    where: str,
    text_column: str = "text",
    label_column: str | None = None,
) -> tuple[list[str], LabelSource, list[str] | None]:
    """Split a DataFrame into texts, raw labels and optional ids.

    Rows with a missing, blank or non-string text are rejected with a
    :class:`DataError` naming the first of them (1-based data rows); so is a
    label that is neither a clean name nor a non-negative integer id.
    """
    if text_column not in frame.columns:
        raise DataError(
            f"{where}: no text column {text_column!r} (columns: {_column_list(frame.columns)})"
        )
    texts = checked_texts(frame[text_column].tolist(), where=where)
    id_column = next((c for c in frame.columns if c.lower() in ID_COLUMNS), None)
    ids = frame[id_column].astype(str).tolist() if id_column else None
    column = label_column or next((c for c in LABEL_COLUMN_CANDIDATES if c in frame.columns), None)
    if label_column is not None and label_column not in frame.columns:
        raise DataError(f"{where}: no label column {label_column!r}")
    refuse_non_text_column(
        texts, text_column, label_column=column, id_column=id_column, where=where
    )
    if column is not None:
        cells = frame[column].tolist()
        lists = [_parse_label_cell(cell, where, row) for row, cell in enumerate(cells, 1)]
        return texts, LabelSource(lists=lists), ids
    label_columns = [
        c for c in frame.columns if c != text_column and c != id_column and c not in AUGMENT_COLUMNS
    ]
    if not label_columns:
        raise DataError(
            f"{where}: no labels: expected a 'labels' column or one 0/1 column per label"
        )
    unnamed = next((c for c in label_columns if _UNNAMED_COLUMN.match(c)), None)
    if unnamed is not None:
        raise DataError(
            f"{where}: a column has an empty name in the header (pandas calls it "
            f"{unnamed!r}); name the label or remove the column"
        )
    matrix = _zero_one_matrix(frame[label_columns], where)
    return texts, LabelSource(columns=tuple(label_columns), matrix=matrix), ids


def refuse_non_text_column(
    texts: Sequence[str],
    text_column: str,
    *,
    label_column: str | None,
    id_column: str | None,
    where: str,
) -> None:
    """Refuse a text column that holds the labels or the ids rather than texts.

    A model trained on its own labels (the text column named as the label
    column, or one of the 0/1 label columns) scores perfectly and learns
    nothing; it is refused before any fit.

    Raises
    ------
    DataError
        ``text_column`` is ``label_column`` or ``id_column``, or every text is
        ``0`` or ``1`` (a 0/1 label column).

    Examples
    --------
    >>> refuse_non_text_column(["1", "0", "1"], "joy", label_column=None, id_column=None,
    ...                        where="train.csv")
    Traceback (most recent call last):
    ...
    emoclassic.errors.DataError: train.csv: the text column 'joy' holds only 0 and 1: ...
    """
    for role, column in (("label", label_column), ("id", id_column)):
        if column is not None and column == text_column:
            raise DataError(
                f"{where}: the text column {text_column!r} is also the {role} column; "
                "name the column that holds the texts"
            )
    if all(text.strip() in ("0", "1") for text in texts):
        raise DataError(
            f"{where}: the text column {text_column!r} holds only 0 and 1: it is a label "
            "column, not texts; name the column that holds the texts"
        )


def _column_list(columns: Sequence[object], shown: int = 20) -> str:
    names = ", ".join(brief(column) for column in list(columns)[:shown])
    return names + (f", ... ({len(columns)} in all)" if len(columns) > shown else "")


def checked_texts(values: Sequence[object], *, where: str) -> list[str]:
    """Return the texts of one split as ``str``, or refuse the first bad row.

    Examples
    --------
    >>> checked_texts(["so glad", "so sad"], where="x")
    ['so glad', 'so sad']
    >>> checked_texts(["so glad", ["so", "sad"]], where="x")
    Traceback (most recent call last):
    ...
    emoclassic.errors.DataError: x: the text at data row 2 is a list, not a string
    """
    for row, value in enumerate(values, 1):
        if not isinstance(value, str) and not _is_missing(value):
            raise DataError(f"{where}: the text at data row {row} is {kind(value)}, not a string")
    blank = [row for row, value in enumerate(values, 1) if _is_missing(value) or not value.strip()]
    if blank:
        raise DataError(
            f"{where}: {len(blank)} row(s) have a missing or empty text "
            f"(first at data row {blank[0]}); fix or remove them"
        )
    texts = [str(value) for value in values]
    try:
        "".join(texts).encode("utf-8")
    except UnicodeEncodeError:
        row = next(row for row, text in enumerate(texts, 1) if not _encodable(text))
        raise DataError(
            f"{where}: the text at data row {row} is not valid Unicode (a lone surrogate)"
        ) from None
    return texts


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _zero_one_matrix(block: pd.DataFrame, where: str) -> np.ndarray:
    values = block.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(
            f"{where}: label column {brief(block.columns[col])} must hold 0 or 1, "
            f"got {brief(str(block.iat[row, col]))} at data row {row + 1}"
        )
    return values.astype(np.uint8)


def _parse_label_cell(cell: object, where: str, row: int) -> list[int | str]:
    """Read one cell of a label column: a list, a JSON list string, ``"3,7"`` or one id."""
    if isinstance(cell, np.ndarray):
        cell = cell.tolist()
    if isinstance(cell, (list, tuple)):
        return [_label_item(item, where, row) for item in cell]
    if _is_missing(cell):
        return []
    if isinstance(cell, str):
        return _labels_from_string(cell, where, row)
    if isinstance(cell, (int, float, np.integer, np.floating)) and not isinstance(
        cell, (bool, np.bool_)
    ):
        return [_label_item(cell, where, row)]
    raise DataError(
        f"{where}: the labels must be a list of label names or ids, "
        f"got {_described(cell)} at data row {row}"
    )


def _labels_from_string(cell: str, where: str, row: int) -> list[int | str]:
    text = cell.strip()
    if text.startswith("["):
        try:
            items = json.loads(text)
        except (ValueError, RecursionError):
            raise DataError(
                f"{where}: malformed label list {brief(text)} at data row {row}"
            ) from None
        return [_label_item(item, where, row) for item in items]
    parts = (part.strip() for part in text.split(","))
    return [_label_item(part, where, row) for part in parts if part]


def _described(value: object) -> str:
    return "null" if value is None else f"{kind(value)} ({brief(value)})"


def _label_item(item: object, where: str, row: int) -> int | str:
    """Check one label: a non-negative integer id, or a clean label name.

    A whole float (``2.0``, as pandas stores integer ids next to missing
    values) is the id ``2``; a bool, another float, ``null`` or a nested
    value is refused.
    """
    if isinstance(item, np.generic):
        item = item.item()
    if isinstance(item, float) and math.isfinite(item) and item.is_integer():
        item = int(item)
    if isinstance(item, int) and not isinstance(item, bool):
        if item < 0:
            raise DataError(f"{where}: label id {item} is negative at data row {row}")
        return item
    if isinstance(item, str):
        return _label_from_text(item, where, row)
    raise DataError(
        f"{where}: a label must be a label name or a non-negative integer id, "
        f"got {_described(item)} at data row {row}"
    )


def _label_from_text(text: str, where: str, row: int) -> int | str:
    if _NEGATIVE_LABEL_ID.match(text):
        raise DataError(f"{where}: label id {brief(text)} is negative at data row {row}")
    if _LABEL_ID.match(text):
        try:
            return int(text)
        except ValueError:  # more digits than Python converts
            raise DataError(
                f"{where}: label id {brief(text)} is too large at data row {row}"
            ) from None
    problem = label_name_problem(text)
    if problem:
        raise DataError(f"{where}: the label name {brief(text)} at data row {row} {problem}")
    return text


def resolve_label_names(
    sources: Mapping[str, LabelSource], given: Sequence[str] | None, *, where: str
) -> list[str]:
    """Choose the ordered label list for a dataset.

    Given names win; then 0/1 column names; then, for id lists, ``0..max``;
    for name lists, the sorted names seen in train.

    Raises
    ------
    DataError
        For a label list that is empty, names a label twice or holds a name
        with a control character or white space at either end; for label ids
        mixed with label names; and for ids with gaps (ids 0-2 and 7, say)
        when no label names are given: the labels in the gap would have no
        name and no example, which is almost always a mistake.

    Examples
    --------
    >>> resolve_label_names({"train": LabelSource(lists=[[0], [1, 2]])}, None, where="x")
    ['0', '1', '2']
    >>> resolve_label_names({"train": LabelSource(lists=[[0], [2, 7]])}, None, where="x")
    Traceback (most recent call last):
    ...
    emoclassic.errors.DataError: x: label ids 1, 3-6 occur in no row although the ids go up to 7; list every label name, one per line, in a labels.txt beside the split files
    """  # noqa: E501
    if given is not None:
        names = [str(name) for name in given]
        _check_label_list(names, where=where, what="label name")
        return names
    train = sources["train"]
    if train.columns is not None:
        for split, source in sources.items():
            if source.columns != train.columns:
                raise DataError(f"{where}: the {split} split has different label columns")
        names = list(train.columns)
        _check_label_list(names, where=where, what="label column")
        return names
    every_item = [
        item for source in sources.values() for labels in source.lists or [] for item in labels
    ]
    ids = {item for item in every_item if isinstance(item, int)}
    if ids and len(ids) != len(set(every_item)):
        raise DataError(f"{where}: the label column mixes label ids and label names")
    if ids:
        _refuse_id_gaps(ids, where=where)
        return [str(i) for i in range(max(ids) + 1)]
    names = sorted({item for labels in train.lists or [] for item in labels})
    if not names:
        raise DataError(f"{where}: no training row has a label, so there are no labels to learn")
    return names


def _check_label_list(names: list[str], *, where: str, what: str) -> None:
    if not names:
        raise DataError(f"{where}: the label list is empty")
    seen: set[str] = set()
    for name in names:
        problem = label_name_problem(name)
        if problem:
            raise DataError(f"{where}: the {what} {brief(name)} {problem}")
        if name in seen:
            raise DataError(f"{where}: the label list has a duplicate name {brief(name)}")
        seen.add(name)


def _refuse_id_gaps(ids: set[int], *, where: str, shown: int = 5) -> None:
    gaps: list[tuple[int, int]] = []
    expected = 0
    for value in sorted(ids):
        if value > expected:
            gaps.append((expected, value - 1))
        expected = value + 1
    if not gaps:
        return
    spans = [str(low) if low == high else f"{low}-{high}" for low, high in gaps[:shown]]
    listed = ", ".join(spans) + (", ..." if len(gaps) > shown else "")
    plural = "s" if len(gaps) > 1 or gaps[0][0] != gaps[0][1] else ""
    raise DataError(
        f"{where}: label id{plural} {listed} occur{'' if plural else 's'} in no row although "
        f"the ids go up to {max(ids)}; list every label name, one per line, in a labels.txt "
        "beside the split files"
    )


def binarize(source: LabelSource, label_names: Sequence[str], *, where: str) -> np.ndarray:
    """Turn raw labels into a 0/1 matrix whose columns follow ``label_names``.

    Raises :class:`DataError` for a label id out of range or an unknown name.

    Examples
    --------
    >>> binarize(LabelSource(lists=[[0, 2], ["b"]]), ["a", "b", "c"], where="x").tolist()
    [[1, 0, 1], [0, 1, 0]]
    >>> binarize(LabelSource(lists=[[5]]), ["a", "b"], where="x")
    Traceback (most recent call last):
    ...
    emoclassic.errors.DataError: x: label id 5 is out of range (0..1) at data row 1
    """
    n_labels = len(label_names)
    if source.matrix is not None:
        if list(source.columns or ()) != list(label_names):
            raise DataError(f"{where}: label columns do not match the label list")
        return source.matrix
    index = {name: j for j, name in enumerate(label_names)}
    lists = source.lists or []
    matrix = np.zeros((len(lists), n_labels), dtype=np.uint8)
    for row, labels in enumerate(lists):
        for item in labels:
            if isinstance(item, int):
                if not 0 <= item < n_labels:
                    raise DataError(
                        f"{where}: label id {item} is out of range (0..{n_labels - 1}) "
                        f"at data row {row + 1}"
                    )
                matrix[row, item] = 1
            elif item in index:
                matrix[row, index[item]] = 1
            else:
                raise DataError(f"{where}: unknown label {brief(item)} at data row {row + 1}")
    return matrix
