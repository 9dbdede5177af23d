"""Reading tabular split files and turning their label columns into a 0/1 matrix.

Private helpers of :mod:`emoclassic.datasets`. Two label layouts are
understood:

* one column holding, per row, a list of label ids or names (a Python list,
  a JSON list ``"[3, 7]"`` or a comma-separated string ``"3,7"``);
* one 0/1 column per label, as in SemEval-2025 Task 11 (``id,text,anger,...``).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from emoclassic.errors import DataError, first_line

SPLIT_ALIASES = {
    "train": ("train",),
    "validation": ("validation", "valid", "val", "dev"),
    "test": ("test",),
}
SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".parquet")
LABEL_COLUMN_CANDIDATES = ("labels", "label", "emotions")
ID_COLUMNS = frozenset({"id", "ids", "comment_id", "uid", "index", "idx"})
LABEL_LIST_FILES = ("labels.txt", "emotions.txt")
_GOEMOTIONS_RAW_COLUMNS = ["text", "labels", "id"]
_ID_LIST = re.compile(r"^\d+(,\d+)*$")


@dataclass(frozen=True)
class LabelSource:
    """Labels of one split before binarization.

    Exactly one of ``matrix`` (with ``columns``) or ``lists`` is set.
    """

    columns: tuple[str, ...] | None = None
    matrix: np.ndarray | None = None
    lists: list[list[int | str]] | None = None


def read_table(
    source: str | Path | BinaryIO, *, where: str, suffix: str | None = None
) -> pd.DataFrame:
    """Read one split file into a DataFrame, with one-line errors.

    A header-less TSV whose second column holds comma-separated label ids is
    read as the raw GoEmotions layout (text, label ids, comment id).
    """
    suffix = (suffix or Path(str(source)).suffix).lower()
    if suffix not in SUFFIXES:
        raise DataError(f"{where}: unsupported file type {suffix!r} (use {', '.join(SUFFIXES)})")
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise DataError(f"{where}: no such file")
        if path.stat().st_size == 0:
            raise DataError(f"{where}: the file is empty")
        source = io.BytesIO(path.read_bytes())
    try:
        frame = _read(source, suffix)
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"{where}: the file is empty") from None
    except Exception as exc:  # pandas/pyarrow raise many types for malformed files
        reason = first_line(exc)
        raise DataError(f"{where}: cannot be read as {suffix[1:]}: {reason}") from None
    if len(frame) == 0:
        raise DataError(f"{where}: the file has no rows")
    frame.columns = [str(column) for column in frame.columns]
    return frame


def _read(buffer: BinaryIO, suffix: str) -> pd.DataFrame:
    if suffix == ".tsv":
        first = buffer.readline().decode("utf-8", errors="replace").rstrip("\r\n").split("\t")
        buffer.seek(0)
        raw = len(first) in (2, 3) and _ID_LIST.match(first[1].strip()) is not None
        return pd.read_csv(
            buffer,
            sep="\t",
            quoting=csv.QUOTE_NONE,
            header=None if raw else "infer",
            names=_GOEMOTIONS_RAW_COLUMNS[: len(first)] if raw else None,
            dtype={"labels": str} if raw else None,
            keep_default_na=False,
            na_values=[""],
        )
    if suffix == ".csv":
        return pd.read_csv(buffer, keep_default_na=False, na_values=[""])
    if suffix == ".jsonl":
        return pd.read_json(buffer, lines=True, dtype=False)
    if suffix == ".json":
        text = buffer.read().decode("utf-8")
        try:
            return pd.DataFrame(json.loads(text))
        except json.JSONDecodeError:
            return pd.read_json(io.StringIO(text), lines=True, dtype=False)
    return pd.read_parquet(buffer)


def find_split_files(folder: Path) -> dict[str, Path]:
    """Map split names to the files of a folder (``dev.tsv`` -> ``validation``)."""
    found: dict[str, Path] = {}
    for split, aliases in SPLIT_ALIASES.items():
        for alias in aliases:
            matches = [folder / f"{alias}{suffix}" for suffix in SUFFIXES]
            existing = [path for path in matches if path.exists()]
            if existing:
                found[split] = existing[0]
                break
    if "train" not in found:
        raise DataError(
            f"{folder}: no train file (expected train.csv, train.tsv, train.jsonl, "
            "train.json or train.parquet)"
        )
    return found


def read_label_names_file(folder: Path) -> list[str] | None:
    """Read ``labels.txt`` or ``emotions.txt`` (one name per line) when present."""
    for name in LABEL_LIST_FILES:
        path = folder / name
        if path.exists():
            names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
            if names:
                return names
    return None


def frame_to_split_parts(
    frame: pd.DataFrame,
    *,
    where: str,
    text_column: str = "text",
    label_column: str | None = None,
) -> tuple[list[str], LabelSource, list[str] | None]:
    """Split a DataFrame into texts, raw labels and optional ids.

    Rows with a missing or blank text are rejected with a :class:`DataError`
    naming how many there are and the first of them (1-based data rows).
    """
    if text_column not in frame.columns:
        raise DataError(
            f"{where}: no text column {text_column!r} "
            f"(columns: {', '.join(map(str, frame.columns))})"
        )
    texts_series = frame[text_column]
    blank = texts_series.isna() | texts_series.astype(str).str.strip().eq("")
    if blank.any():
        rows = np.flatnonzero(blank.to_numpy()) + 1
        raise DataError(
            f"{where}: {len(rows)} row(s) have a missing or empty text "
            f"(first at data row {rows[0]}); fix or remove them"
        )
    texts = texts_series.astype(str).tolist()
    id_column = next((c for c in frame.columns if c.lower() in ID_COLUMNS), None)
    ids = frame[id_column].astype(str).tolist() if id_column else None
    column = label_column or next((c for c in LABEL_COLUMN_CANDIDATES if c in frame.columns), None)
    if label_column is not None and label_column not in frame.columns:
        raise DataError(f"{where}: no label column {label_column!r}")
    if column is not None:
        lists = [_parse_label_cell(cell, where, row) for row, cell in enumerate(frame[column], 1)]
        return texts, LabelSource(lists=lists), ids
    label_columns = [c for c in frame.columns if c != text_column and c != id_column]
    if not label_columns:
        raise DataError(
            f"{where}: no labels: expected a 'labels' column or one 0/1 column per label"
        )
    matrix = _zero_one_matrix(frame[label_columns], where)
    return texts, LabelSource(columns=tuple(label_columns), matrix=matrix), ids


def _zero_one_matrix(block: pd.DataFrame, where: str) -> np.ndarray:
    values = block.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(
            f"{where}: label column {block.columns[col]!r} must hold 0 or 1, "
            f"got {str(block.iat[row, col])!r} at data row {row + 1}"
        )
    return values.astype(np.uint8)


def _parse_label_cell(cell: object, where: str, row: int) -> list[int | str]:
    if isinstance(cell, (list, tuple, np.ndarray)):
        items = list(cell)
    elif cell is None or (isinstance(cell, float) and np.isnan(cell)):
        items = []
    elif isinstance(cell, (int, np.integer)):
        items = [int(cell)]
    elif isinstance(cell, float) and cell.is_integer():
        items = [int(cell)]
    else:
        text = str(cell).strip()
        if text.startswith("["):
            try:
                items = json.loads(text)
            except json.JSONDecodeError:
                raise DataError(
                    f"{where}: malformed label list {text!r} at data row {row}"
                ) from None
        else:
            items = [part.strip() for part in text.split(",") if part.strip()]
    return [_label_item(item) for item in items]


def _label_item(item: object) -> int | str:
    if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
        return int(item)
    text = str(item).strip()
    return int(text) if text.lstrip("-").isdigit() else text


def resolve_label_names(
    sources: Mapping[str, LabelSource], given: Sequence[str] | None, *, where: str
) -> list[str]:
    """Choose the ordered label list for a dataset.

    Given names win; then 0/1 column names; then, for id lists, ``0..max``;
    for name lists, the sorted names seen in train.
    """
    if given is not None:
        names = [str(name) for name in given]
        if len(set(names)) != len(names):
            raise DataError(f"{where}: the label list has duplicate names")
        return names
    train = sources["train"]
    if train.columns is not None:
        for split, source in sources.items():
            if source.columns != train.columns:
                raise DataError(f"{where}: the {split} split has different label columns")
        return list(train.columns)
    items = [item for labels in train.lists or [] for item in labels]
    if all(isinstance(item, int) for item in items):
        top = max(
            (
                item
                for s in sources.values()
                for labels in s.lists or []
                for item in labels
                if isinstance(item, int)
            ),
            default=-1,
        )
        return [str(i) for i in range(top + 1)]
    if any(isinstance(item, int) for item in items):
        raise DataError(f"{where}: the label column mixes label ids and label names")
    return sorted(set(items))


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
                raise DataError(f"{where}: unknown label {item!r} at data row {row + 1}")
    return matrix
