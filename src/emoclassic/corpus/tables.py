"""Scores -> an output table (Arrow), and Arrow tables -> Parquet, JSONL or CSV files."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from emoclassic.errors import DataError, UsageError
from emoclassic.model import emotion_lists

__all__ = ["OUTPUT_FORMATS", "output_format", "output_table", "write_table"]

#: File suffix -> output format.
OUTPUT_FORMATS = {".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}


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
        id_name: _id_array(ids),
        "emotions": pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), names),
    }
    if with_scores:
        for j, label in enumerate(label_names):
            columns[f"score_{label}"] = pa.array(scores[:, j])
    return pa.table(columns)


def _id_array(ids: np.ndarray):
    """Ids as one Arrow type: their own, or text when they mix types (JSON ids may)."""
    import pyarrow as pa

    try:
        return pa.array(ids)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if value is None else str(value) for value in ids])


def write_table(tables: Iterable, path: Path, fmt: str) -> None:
    """Write Arrow tables one after the other into one file of format ``fmt``.

    Tables without rows are left out (their id type may be unknown). CSV cannot
    hold lists: there ``emotions`` is its labels joined by ``;``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if fmt == "parquet":
        writer = last = None
        try:
            for table in tables:
                last = table
                if not table.num_rows:
                    continue
                if writer is None:
                    writer = pq.ParquetWriter(path, table.schema, compression="zstd")
                try:
                    writer.write_table(table.cast(writer.schema))
                except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                    raise DataError(
                        f"{path}: the ids change type from one batch to the next"
                    ) from None
            if writer is None and last is not None:  # every row left out: an empty file
                pq.write_table(last, path)
        finally:
            if writer is not None:
                writer.close()
        return
    with path.open("w", encoding="utf-8", newline="") as handle:
        header = True
        for table in tables:
            if not table.num_rows:
                continue
            frame = table.to_pandas()
            if fmt == "jsonl":
                frame.to_json(handle, orient="records", lines=True, force_ascii=False)
            else:
                frame["emotions"] = [";".join(labels) for labels in frame["emotions"]]
                frame.to_csv(handle, index=False, header=header, lineterminator="\n")
            header = False
