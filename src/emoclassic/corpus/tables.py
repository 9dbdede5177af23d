"""Scores -> an output table (Arrow), and Arrow tables -> Parquet, JSONL or CSV files.

Ids keep their type when every id has the same one (integers, floats, strings,
booleans...). Integers stay exact at any size: ``int64`` when they fit,
``uint64`` when they are non-negative and fit, text otherwise. Ids that mix
types, and lists or objects, are written as text: a string as it is, anything
else as its JSON text. The rule is the same within a batch and across batches
(:func:`unified_id_type`), so the output does not depend on the batch size.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from emoclassic.errors import UsageError
from emoclassic.model import emotion_lists

__all__ = [
    "CSV_LABEL_SEPARATOR",
    "OUTPUT_FORMATS",
    "check_csv_labels",
    "check_id_column",
    "conform_ids",
    "id_array",
    "id_text",
    "output_columns",
    "output_format",
    "output_table",
    "unified_id_type",
    "write_table",
]

#: File suffix -> output format.
OUTPUT_FORMATS = {".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
#: What joins a row's emotions in a CSV output (a label may not contain it).
CSV_LABEL_SEPARATOR = ";"


def output_format(path: str | Path) -> str:
    """Return the output format of ``path`` from its suffix.

    Examples
    --------
    >>> output_format("scores.parquet")
    'parquet'
    """
    fmt = OUTPUT_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(OUTPUT_FORMATS))
        raise UsageError(f"{path}: unknown output format (use one of {known})")
    return fmt


def output_columns(id_name: str, label_names: Sequence[str], *, with_scores: bool) -> list[str]:
    """Names of the output's columns, in order.

    Examples
    --------
    >>> output_columns("row", ["joy", "anger"], with_scores=True)
    ['row', 'emotions', 'score_joy', 'score_anger']
    """
    scores = [f"score_{label}" for label in label_names] if with_scores else []
    return [id_name, "emotions", *scores]


def check_id_column(
    id_column: str | None, label_names: Sequence[str], *, with_scores: bool
) -> None:
    """Refuse an id column named like an output column: the scores would overwrite the ids.

    Examples
    --------
    >>> check_id_column("emotions", ["joy"], with_scores=False)
    Traceback (most recent call last):
    ...
    emoclassic.errors.UsageError: the id column 'emotions' has the name of an output column ...
    """
    if id_column is None:
        return
    if id_column in output_columns("", label_names, with_scores=with_scores)[1:]:
        raise UsageError(
            f"the id column {id_column!r} has the name of an output column (emotions, or "
            "score_<label> with scores); rename that column in the input, or leave the ids "
            "out to name the rows by position"
        )


def check_csv_labels(path: str | Path, label_names: Sequence[str]) -> None:
    """Refuse a CSV output for a model with a label that contains the separator ``;``.

    In CSV a row's emotions are one cell, the labels joined by ``;``: a label
    ``a;b`` could not be told from the two labels ``a`` and ``b``.
    """
    for name in label_names:
        if CSV_LABEL_SEPARATOR in name:
            raise UsageError(
                f"{path}: the model's label {name!r} contains {CSV_LABEL_SEPARATOR!r}, which "
                "separates the emotions in a CSV output; write .jsonl or .parquet instead"
            )


def output_table(
    ids: np.ndarray,
    id_name: str,
    scores: np.ndarray,
    label_names: Sequence[str],
    cutoffs: np.ndarray,
    *,
    top_k: int | None = None,
    with_scores: bool = False,
):
    """One Arrow table: the id column, ``emotions`` (a list of labels) and optional scores.

    Score columns are named ``score_<label>``.

    Examples
    --------
    >>> table = output_table(np.array([3, 4]), "row", np.array([[0.9, 0.1], [0.2, 0.7]]),
    ...                      ["joy", "anger"], np.array([0.5, 0.5]), with_scores=True)
    >>> table.column_names
    ['row', 'emotions', 'score_joy', 'score_anger']
    >>> table.column("emotions").to_pylist()
    [['joy'], ['anger']]
    """
    import pyarrow as pa

    labels, offsets = emotion_lists(scores, cutoffs, top_k)
    names = pa.array(list(label_names), type=pa.string()).take(pa.array(labels))
    columns = {
        id_name: id_array(ids),
        "emotions": pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), names),
    }
    if with_scores:
        for j, label in enumerate(label_names):
            columns[f"score_{label}"] = pa.array(scores[:, j])
    return pa.table(columns)


def id_array(ids: np.ndarray):
    """Ids as one exact Arrow type (see the module's rule); ``None`` is a missing id.

    Examples
    --------
    >>> id_array(np.array([2**64 - 1, None], dtype=object)).type
    DataType(uint64)
    >>> id_array(np.array([7, "b", [1]], dtype=object)).to_pylist()
    ['7', 'b', '[1]']
    """
    import pyarrow as pa

    if ids.dtype != object:  # row numbers
        return pa.array(ids)
    kinds = {type(value) for value in ids if value is not None}
    if not kinds:
        return pa.nulls(len(ids))
    if kinds == {int}:
        return _integer_array(ids.tolist())
    if len(kinds) == 1 and not kinds & {list, dict}:
        try:
            return pa.array(ids.tolist())
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
            pass
    return _text_array(ids.tolist())


def _integer_array(values: list):
    import pyarrow as pa

    for arrow_type in (pa.int64(), pa.uint64()):
        try:
            return pa.array(values, type=arrow_type)
        except (OverflowError, pa.ArrowInvalid):
            continue
    return _text_array(values)


def _text_array(values: list):
    import pyarrow as pa

    return pa.array([None if value is None else id_text(value) for value in values], pa.string())


def id_text(value) -> str:
    """Write an id as text: a string as it is, anything else as its JSON text.

    Values JSON has no text for (a date, a decimal) are written with ``str``.

    Examples
    --------
    >>> id_text("b"), id_text(12), id_text(True), id_text({"k": [1]})
    ('b', '12', 'true', '{"k": [1]}')
    """
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, TypeError, RecursionError):
        return str(value)


def unified_id_type(types: Iterable, has_negative: Callable[[], bool]):
    """Return the one id type of a whole output, from the id types of its batches.

    Parameters
    ----------
    types : iterable of pyarrow.DataType
        The id type of each batch (``null`` for a batch without ids).
    has_negative : callable
        Called only when batches mix ``int64`` and ``uint64``: whether an
        ``int64`` id is negative (then no integer type holds them all).

    Returns
    -------
    pyarrow.DataType
        The batches' type when they agree; ``uint64`` for non-negative
        ``int64`` with ``uint64``; else ``string`` (every id as text).

    Examples
    --------
    >>> import pyarrow as pa
    >>> unified_id_type([pa.int64(), pa.null(), pa.int64()], lambda: False)
    DataType(int64)
    >>> unified_id_type([pa.int64(), pa.string()], lambda: False)
    DataType(string)
    """
    import pyarrow as pa

    found = {arrow_type for arrow_type in types if arrow_type != pa.null()}
    if len(found) <= 1:
        return found.pop() if found else pa.null()
    if found == {pa.int64(), pa.uint64()} and not has_negative():
        return pa.uint64()
    return pa.string()


def conform_ids(table, id_name: str, id_type):
    """Give ``table``'s id column the type ``id_type`` (from :func:`unified_id_type`)."""
    import pyarrow as pa

    column = table.column(id_name)
    if column.type == id_type:
        return table
    if id_type == pa.string():
        array = _text_array(column.to_pylist())
    else:  # null -> any type, or non-negative int64 -> uint64: exact
        array = column.cast(id_type)
    return table.set_column(table.schema.get_field_index(id_name), id_name, array)


def write_table(tables: Iterable, path: Path, fmt: str) -> None:
    """Write Arrow tables one after the other into one file of format ``fmt``.

    The tables must have one schema (:func:`conform_ids` makes the ids agree).
    Tables without rows are left out. CSV cannot hold lists: there ``emotions``
    is its labels joined by ``;`` (see :func:`check_csv_labels`).
    """
    if fmt == "parquet":
        _write_parquet(tables, path)
        return
    with path.open("w", encoding="utf-8", newline="") as handle:
        header = True
        for table in tables:
            if not table.num_rows:
                continue
            # Integers with missing values stay integers (not floats: 7 stays 7, not 7.0).
            frame = table.to_pandas(integer_object_nulls=True)
            if fmt == "jsonl":
                frame.to_json(handle, orient="records", lines=True, force_ascii=False)
            else:
                frame["emotions"] = [CSV_LABEL_SEPARATOR.join(row) for row in frame["emotions"]]
                frame.to_csv(handle, index=False, header=header, lineterminator="\n")
            header = False


def _write_parquet(tables: Iterable, path: Path) -> None:
    import pyarrow.parquet as pq

    writer = last = None
    try:
        for table in tables:
            last = table
            if not table.num_rows:
                continue
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="zstd")
            writer.write_table(table)
        if writer is None and last is not None:  # every row left out: an empty file
            pq.write_table(last, path)
    finally:
        if writer is not None:
            writer.close()
