"""Multi-label emotion datasets: texts, a 0/1 label matrix, label names and splits.

Everything that reads data returns an :class:`EmotionDataset`. The bundled
GoEmotions copy loads offline by default; the same data loads from the Hugging
Face Hub for users who are online; and any local multi-label dataset (CSV, TSV,
JSONL, Parquet or a ``datasets`` ``save_to_disk`` folder) loads through
:func:`load_dataset`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np

from emoclassic._tables import (
    SPLIT_ALIASES,
    LabelSource,
    binarize,
    brief,
    find_split_files,
    frame_to_split_parts,
    read_label_names_file,
    read_table,
    resolve_label_names,
)
from emoclassic.errors import DataError, InvalidParameter, UsageError, first_line

__all__ = [
    "GOEMOTIONS_HUB_ID",
    "EmotionDataset",
    "EmotionSplit",
    "load_dataset",
    "load_goemotions",
]

GOEMOTIONS_HUB_ID = "google-research-datasets/go_emotions"
_BUNDLED = "emoclassic.resources.goemotions"
_BUNDLED_FILES = {"train": "train.tsv", "validation": "dev.tsv", "test": "test.tsv"}


@dataclass(frozen=True)
class EmotionSplit:
    """One split of a dataset.

    Parameters
    ----------
    texts : list of str
        The texts, none empty.
    labels : ndarray of shape (n_texts, n_labels)
        0/1 label matrix (``uint8``) in the dataset's label order.
    ids : list of str or None
        Optional row identifiers (for example GoEmotions comment ids).
    synthetic : ndarray of bool or None
        Which rows were generated (an augmented dataset's ``synthetic``
        column); ``None`` when the source says nothing about it.
    groups : ndarray of int or None
        With ``synthetic``: a group id per row, shared by a generated row and
        the original row it rewords, so that cross-validation never puts the
        two on opposite sides of a fold.

    Examples
    --------
    >>> split = EmotionSplit(
    ...     ["so sad", "so glad", "sad, so sad"],
    ...     np.array([[1, 0], [0, 1], [1, 0]], dtype=np.uint8),
    ...     synthetic=np.array([False, False, True]),
    ...     groups=np.array([0, 1, 0]),
    ... )
    >>> split.sample_weights(0.5).tolist(), split.originals().texts
    ([1.0, 1.0, 0.5], ['so sad', 'so glad'])
    """

    texts: list[str]
    labels: np.ndarray
    ids: list[str] | None = None
    synthetic: np.ndarray | None = None
    groups: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def has_synthetic(self) -> bool:
        """Whether any row is generated."""
        return self.synthetic is not None and bool(self.synthetic.any())

    def head(self, n: int) -> EmotionSplit:
        """Return the first ``n`` rows."""
        return self.take(np.arange(min(n, len(self))))

    def take(self, rows: np.ndarray) -> EmotionSplit:
        """Return the rows at the given positions."""
        rows = np.asarray(rows, dtype=np.int64)
        ids = None if self.ids is None else [self.ids[i] for i in rows]
        return EmotionSplit(
            [self.texts[i] for i in rows],
            self.labels[rows],
            ids,
            None if self.synthetic is None else self.synthetic[rows],
            None if self.groups is None else self.groups[rows],
        )

    def originals(self) -> EmotionSplit:
        """Return only the rows that were not generated."""
        if self.synthetic is None:
            return self
        return self.take(np.flatnonzero(~self.synthetic))

    def sample_weights(self, synthetic_weight: float) -> np.ndarray | None:
        """Return per-row weights: 1 for original rows, ``synthetic_weight`` for generated ones.

        ``None`` when every weight would be 1 (nothing to weight).
        """
        if not self.has_synthetic or synthetic_weight == 1.0:
            return None
        return np.where(self.synthetic, float(synthetic_weight), 1.0)


@dataclass(frozen=True)
class EmotionDataset:
    """Texts with multi-hot emotion labels, split into train/validation/test.

    Parameters
    ----------
    label_names : tuple of str
        The fixed, ordered label list; column ``j`` of every label matrix is
        ``label_names[j]``.
    splits : dict of str to EmotionSplit
        Always holds ``"train"`` and ``"validation"``; ``"test"`` when the
        source has one.
    source : str
        Human-readable description of where the data came from.

    Examples
    --------
    >>> import numpy as np
    >>> split = EmotionSplit(["so happy", "so sad"], np.array([[1, 0], [0, 1]], dtype=np.uint8))
    >>> ds = EmotionDataset(("joy", "sadness"), {"train": split, "validation": split})
    >>> ds.label_counts("train").tolist()
    [1, 1]
    >>> ds.has_test
    False
    """

    label_names: tuple[str, ...]
    splits: dict[str, EmotionSplit]
    source: str = "in-memory"
    notes: tuple[str, ...] = field(default=())

    @property
    def train(self) -> EmotionSplit:
        """The training split."""
        return self.splits["train"]

    @property
    def validation(self) -> EmotionSplit:
        """The validation split (used to tune decision thresholds)."""
        return self.splits["validation"]

    @property
    def test(self) -> EmotionSplit:
        """The test split; raises :class:`DataError` when there is none."""
        if "test" not in self.splits:
            raise DataError(f"{self.source}: this dataset has no test split")
        return self.splits["test"]

    @property
    def has_test(self) -> bool:
        """Whether a test split exists."""
        return "test" in self.splits

    def split(self, name: str) -> EmotionSplit:
        """Return a split by name; ``dev`` and ``val`` mean ``validation``."""
        canonical = next((key for key, names in SPLIT_ALIASES.items() if name in names), name)
        if canonical not in self.splits:
            raise DataError(
                f"{self.source}: no split {name!r} (available: {', '.join(self.splits)})"
            )
        return self.splits[canonical]

    def label_counts(self, split: str = "train") -> np.ndarray:
        """Count the rows carrying each label in ``split``."""
        return self.split(split).labels.sum(axis=0).astype(np.int64)

    def limit_train(self, n: int) -> EmotionDataset:
        """Keep only the first ``n`` training rows (for quick runs).

        Warns
        -----
        UserWarning
            Naming the labels that had a positive example in the training split
            and have none in its first ``n`` rows (a model cannot learn them).
        """
        if n < 1:
            raise InvalidParameter("n", f"must be a positive number of rows, got {n}")
        head = self.train.head(n)
        had = self.label_counts("train") > 0
        _warn_about_unlearnable_labels(
            [name for name, present in zip(self.label_names, had, strict=True) if present],
            head.labels[:, had],
            where=self.source,
            split=f"the first {len(head):,} training row{'s' if len(head) != 1 else ''}",
        )
        return replace(self, splits=dict(self.splits, train=head))

    def fingerprint(self) -> str:
        """Short SHA-256 over label names, texts and labels of every split."""
        digest = hashlib.sha256("\x1e".join(self.label_names).encode())
        for name in sorted(self.splits):
            split = self.splits[name]
            digest.update(name.encode())
            digest.update("\x1f".join(split.texts).encode())
            digest.update(np.ascontiguousarray(split.labels, dtype=np.uint8).tobytes())
        return digest.hexdigest()[:16]

    def provenance(self) -> dict:
        """Return what a model's sidecar records about its data.

        Returns
        -------
        dict
            ``source``, ``fingerprint`` (see :meth:`fingerprint`), ``sizes`` of
            every split and the ``train_label_counts`` by label name.

        Examples
        --------
        >>> split = EmotionSplit(["yay", "oh no"], np.array([[1, 0], [0, 1]], dtype=np.uint8))
        >>> info = EmotionDataset(("joy", "fear"), {"train": split}, source="toy").provenance()
        >>> info["sizes"], info["train_label_counts"]
        ({'train': 2}, {'joy': 1, 'fear': 1})
        """
        info = {
            "source": self.source,
            "fingerprint": self.fingerprint(),
            "sizes": {name: len(split) for name, split in self.splits.items()},
            "train_label_counts": dict(
                zip(self.label_names, map(int, self.label_counts("train")), strict=True)
            ),
        }
        if self.train.has_synthetic:
            info["synthetic_train_rows"] = int(self.train.synthetic.sum())
        return info

    def summary(self) -> str:
        """One line: source, label count and split sizes."""
        sizes = ", ".join(f"{name} {len(split):,}" for name, split in self.splits.items())
        return f"{self.source}: {len(self.label_names)} labels; {sizes}"


def load_goemotions(source: str = "bundled") -> EmotionDataset:
    """Load the official GoEmotions split (Demszky et al. 2020, CC BY 4.0).

    Parameters
    ----------
    source : {"bundled", "hub"}, default="bundled"
        ``"bundled"`` reads the copy shipped inside the package (offline,
        verified against its SHA-256 sums). ``"hub"`` downloads the
        ``simplified`` configuration of ``google-research-datasets/go_emotions``
        with :func:`datasets.load_dataset`, which needs internet access.

    Returns
    -------
    EmotionDataset
        Train 43,410, validation 5,426 and test 5,427 rows; 28 labels.

    Examples
    --------
    >>> ds = load_goemotions()
    >>> len(ds.train), len(ds.validation), len(ds.test)
    (43410, 5426, 5427)
    >>> ds.label_names[:3], ds.label_names[-1]
    (('admiration', 'amusement', 'anger'), 'neutral')
    """
    if source == "bundled":
        return _load_bundled_goemotions()
    if source == "hub":
        return load_dataset(f"hub:{GOEMOTIONS_HUB_ID}:simplified")
    raise UsageError(f"unknown GoEmotions source {source!r}; use 'bundled' or 'hub'")


def _load_bundled_goemotions() -> EmotionDataset:
    package = resources.files(_BUNDLED)
    checksums = dict(
        reversed(line.split(maxsplit=1))
        for line in package.joinpath("SHA256SUMS").read_text().splitlines()
        if line
    )
    names_bytes = package.joinpath("emotions.txt").read_bytes()
    _verify(names_bytes, checksums["emotions.txt"], "emotions.txt")
    label_names = tuple(names_bytes.decode().split())
    splits = {}
    for split_name, file_name in _BUNDLED_FILES.items():
        payload = gzip.decompress(package.joinpath(f"{file_name}.gz").read_bytes())
        _verify(payload, checksums[file_name], file_name)
        frame = read_table(io.BytesIO(payload), suffix=".tsv", where=f"goemotions/{file_name}")
        parts = frame_to_split_parts(frame, where=f"goemotions/{file_name}")
        splits[split_name] = parts
    return _assemble(splits, label_names=label_names, source="GoEmotions (bundled)")


def _verify(payload: bytes, expected: str, name: str) -> None:
    if hashlib.sha256(payload).hexdigest() != expected:
        raise DataError(f"bundled GoEmotions file {name} is corrupt (SHA-256 mismatch)")


def load_dataset(
    data: str | Path | None = None,
    *,
    text_column: str = "text",
    label_column: str | None = None,
    label_names: Sequence[str] | None = None,
    validation_fraction: float = 0.1,
    seed: int = 42,
) -> EmotionDataset:
    r"""Load a multi-label dataset from the bundled copy, the Hub or local files.

    Parameters
    ----------
    data : str, Path or None
        ``None`` or ``"goemotions"``: the bundled GoEmotions copy.
        ``"hub:OWNER/NAME[:CONFIG]"``: a Hugging Face Hub dataset (online only).
        A folder written by :meth:`datasets.DatasetDict.save_to_disk`; a folder
        of split files (``train``, ``validation``/``dev``/``val``, ``test`` with
        suffix ``.csv``, ``.tsv``, ``.jsonl``, ``.json`` or ``.parquet``); or a
        single such file, used as the training split.
    text_column : str, default="text"
        Column holding the texts.
    label_column : str or None
        Column holding a list of label ids or names per row. When ``None``,
        a column named ``labels``, ``label`` or ``emotions`` is used if
        present; otherwise every remaining 0/1 column is one label (the
        SemEval-2025 Task 11 layout ``id,text,anger,fear,...``).
    label_names : sequence of str or None
        The ordered label list. Defaults to the ``ClassLabel`` names of a
        ``datasets`` folder, a ``labels.txt``/``emotions.txt`` file beside the
        split files, the 0/1 column names, or the sorted label names seen in
        train.
    validation_fraction : float, default=0.1
        Share of train held out as validation when the source has none. The
        hold-out is seeded and stratified on each row's rarest label.
    seed : int, default=42
        Seed of that hold-out.

    Returns
    -------
    EmotionDataset

    Raises
    ------
    DataError
        With a one-line message naming the file (and the data row, 1-based,
        where there is one) for a split file or ``labels.txt`` that is missing,
        a folder, unreadable, empty, not UTF-8 or malformed; a header naming a
        column twice; a missing text column; a text that is missing, blank or
        not a string (rows are rejected, never silently dropped); a label that
        is neither a label name nor a non-negative integer id (``null``,
        ``true``, ``1.5``, a list or an object); a label name with a control
        character or white space at either end; a label id out of range or an
        unknown label name; and label ids with gaps when no label names are
        given (see the data formats page of the documentation).

    Warns
    -----
    UserWarning
        Naming the labels that have no positive example in the training split
        (a model cannot learn them).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "train.csv").write_text(
    ...     "id,text,anger,joy\n1,grr,1,0\n2,yay,0,1\n3,meh,0,0\n4,yes!,0,1\n"
    ... )
    >>> ds = load_dataset(folder, validation_fraction=0.25)
    >>> ds.label_names, len(ds.train), len(ds.validation)
    (('anger', 'joy'), 3, 1)
    """
    if data is None or str(data) == "goemotions":
        return load_goemotions()
    if isinstance(data, str) and data.startswith("hub:"):
        return _load_hub(
            data[4:], text_column, label_column, label_names, validation_fraction, seed
        )
    path = Path(data)
    if not _exists(path):
        raise DataError(f"{path}: no such file or directory")
    if path.is_dir() and (
        (path / "dataset_dict.json").exists() or (path / "dataset_info.json").exists()
    ):
        from emoclassic._hf import dataset_dict_from_disk

        try:
            frames, hf_names = dataset_dict_from_disk(path)
        except DataError as exc:  # keep the one-line promise for a library's long message
            raise DataError(first_line(exc)) from None
        names = label_names or hf_names
        where = str(path)
        split_where = {split: f"{where}[{split}]" for split in frames}
    elif path.is_dir():
        files = find_split_files(path)
        split_where = {split: str(file) for split, file in files.items()}
        frames = {
            split: read_table(file, where=str(file), text_column=text_column)
            for split, file in files.items()
        }
        names = label_names or read_label_names_file(path)
        where = str(path)
    else:
        frames = {"train": read_table(path, where=str(path), text_column=text_column)}
        split_where = {"train": str(path)}
        names = label_names
        where = str(path)
    parts = {
        split: frame_to_split_parts(
            frame, text_column=text_column, label_column=label_column, where=split_where[split]
        )
        for split, frame in frames.items()
    }
    return _assemble(
        parts,
        label_names=names,
        source=where,
        validation_fraction=validation_fraction,
        seed=seed,
        synthetic=synthetic_markers(frames["train"], where=split_where["train"]),
        split_where=split_where,
    )


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError as exc:  # a name too long, a folder that cannot be searched
        raise DataError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from None


def synthetic_markers(frame, *, where: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Read an augmented table's ``synthetic`` and ``source_row`` columns.

    Returns
    -------
    (synthetic, groups) or None
        ``None`` when the table has no ``synthetic`` column. ``groups`` is the
        row's own position for an original row and its ``source_row`` for a
        generated one.

    Raises
    ------
    DataError
        A ``synthetic`` column that is not boolean, or a generated row whose
        ``source_row`` is missing or does not point at an original row.
    """
    if "synthetic" not in frame.columns:
        return None
    flags = frame["synthetic"].tolist()
    bad = next((row for row, flag in enumerate(flags, 1) if not _is_flag(flag)), None)
    if bad is not None:
        raise DataError(
            f"{where}: the 'synthetic' column must hold true or false, "
            f"got {brief(flags[bad - 1])} at data row {bad}"
        )
    synthetic = np.array([bool(flag) for flag in flags], dtype=bool)
    groups = np.arange(len(frame), dtype=np.int64)
    if synthetic.any():
        if "source_row" not in frame.columns:
            raise DataError(f"{where}: generated rows need a 'source_row' column")
        sources = np.array([_row_number(value) for value in frame["source_row"].tolist()])
        picked = sources[synthetic]
        valid = ~np.isnan(picked) & (picked >= 0) & (picked < len(frame))
        if valid.all():
            valid = ~synthetic[picked.astype(np.int64)]
        if not valid.all():
            row = int(np.flatnonzero(synthetic)[np.argmin(valid)]) + 1
            raise DataError(
                f"{where}: generated data row {row} has a source_row that is not an original row"
            )
        groups[synthetic] = picked.astype(np.int64)
    return synthetic, groups


def _is_flag(value: object) -> bool:
    """Whether a ``synthetic`` cell is true or false (a bool, or 0/1 as a number)."""
    if isinstance(value, np.generic):
        value = value.item()
    return isinstance(value, (bool, int, float)) and value in (0, 1)


def _row_number(value: object) -> float:
    """Return a ``source_row`` cell as a float; NaN for anything but a whole number."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return float("nan")
    number = float(value)
    return number if number.is_integer() else float("nan")


def _load_hub(
    spec: str,
    text_column: str,
    label_column: str | None,
    label_names: Sequence[str] | None,
    validation_fraction: float,
    seed: int,
) -> EmotionDataset:
    from emoclassic._hf import dataset_dict_from_hub

    frames, hf_names = dataset_dict_from_hub(spec)
    parts = {
        split: frame_to_split_parts(
            frame, text_column=text_column, label_column=label_column, where=f"{spec}[{split}]"
        )
        for split, frame in frames.items()
    }
    return _assemble(
        parts,
        label_names=label_names or hf_names,
        source=f"hub:{spec}",
        validation_fraction=validation_fraction,
        seed=seed,
    )


def _assemble(
    parts: dict[str, tuple[list[str], LabelSource, list[str] | None]],
    *,
    label_names: Sequence[str] | None,
    source: str,
    validation_fraction: float = 0.1,
    seed: int = 42,
    synthetic: tuple[np.ndarray, np.ndarray] | None = None,
    split_where: dict[str, str] | None = None,
) -> EmotionDataset:
    if "train" not in parts:
        raise DataError(f"{source}: no train split (found: {', '.join(parts) or 'none'})")
    names = resolve_label_names(
        {split: labels for split, (_, labels, _) in parts.items()}, label_names, where=source
    )
    where = {split: f"{source}[{split}]" for split in parts} | (split_where or {})
    splits = {
        split: EmotionSplit(texts, binarize(labels, names, where=where[split]), ids)
        for split, (texts, labels, ids) in parts.items()
    }
    if synthetic is not None:
        splits["train"] = replace(splits["train"], synthetic=synthetic[0], groups=synthetic[1])
    notes: tuple[str, ...] = ()
    if "validation" not in splits:
        if len(splits["train"]) < 2:
            raise DataError(
                f"{where['train']}: need at least 2 training rows to hold out a validation split"
            )
        train, validation = hold_out(splits["train"], validation_fraction, seed)
        splits["train"], splits["validation"] = train, validation
        notes = (
            f"no validation split: held out {len(validation):,} training rows "
            f"(fraction {validation_fraction}, seed {seed})",
        )
    ordered = {name: splits[name] for name in ("train", "validation", "test") if name in splits}
    _warn_about_unlearnable_labels(names, ordered["train"].labels, where=where["train"])
    return EmotionDataset(tuple(names), ordered, source=source, notes=notes)


def _warn_about_unlearnable_labels(
    label_names: Sequence[str],
    train_labels: np.ndarray,
    *,
    where: str,
    split: str = "the training split",
    shown: int = 10,
) -> None:
    """Warn once, naming every label without a positive example in the training split.

    Such a label (a column of zeros, or a name in ``labels.txt`` that no row
    carries) cannot be learned: a model gives it a constant score. This is a
    warning, not an error: a label may be rare on purpose, or the training
    split may have been cut short. ``split`` names the rows looked at.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     labels = np.array([[1, 0, 0], [1, 0, 0]], dtype=np.uint8)
    ...     _warn_about_unlearnable_labels(["joy", "fear", "grief"], labels, where="train.csv")
    >>> print(caught[0].message)
    train.csv: 2 label(s) have no positive example in the training split: 'fear', 'grief'; a model cannot learn them
    """  # noqa: E501
    counts = np.asarray(train_labels).sum(axis=0)
    missing = [name for name, count in zip(label_names, counts, strict=True) if count == 0]
    if not missing:
        return
    listed = ", ".join(brief(name) for name in missing[:shown])
    if len(missing) > shown:
        listed += f" and {len(missing) - shown} more"
    warnings.warn(
        f"{where}: {len(missing)} label(s) have no positive example in {split}: "
        f"{listed}; a model cannot learn them",
        UserWarning,
        stacklevel=4,
    )


def hold_out(split: EmotionSplit, fraction: float, seed: int) -> tuple[EmotionSplit, EmotionSplit]:
    """Cut a seeded validation set from ``split``, stratified as far as possible.

    Each row is stratified on its rarest label (rows without labels form their
    own group); groups too small to split are pooled.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.array([[1, 0]] * 8 + [[0, 1]] * 4, dtype=np.uint8)
    >>> split = EmotionSplit([f"t{i}" for i in range(12)], labels)
    >>> train, val = hold_out(split, 0.25, seed=0)
    >>> len(train), len(val), val.labels.sum(axis=0).tolist()
    (9, 3, [2, 1])
    """
    from sklearn.model_selection import train_test_split

    if not 0.0 < fraction < 1.0:
        raise UsageError(f"validation fraction must be between 0 and 1, got {fraction}")
    n = len(split)
    if n < 2:
        raise DataError("need at least 2 training rows to hold out a validation split")
    counts = split.labels.sum(axis=0)
    # Rarest label of each row; -1 for rows with no label at all.
    masked = np.where(split.labels > 0, counts[None, :], np.iinfo(np.int64).max)
    strata = np.where(split.labels.any(axis=1), masked.argmin(axis=1), -1)
    values, group_sizes = np.unique(strata, return_counts=True)
    small = values[group_sizes < 2]
    strata = np.where(np.isin(strata, small), -2, strata)
    rows = np.arange(n)
    try:
        train_rows, val_rows = train_test_split(
            rows, test_size=fraction, random_state=seed, stratify=strata
        )
    except ValueError:
        train_rows, val_rows = train_test_split(rows, test_size=fraction, random_state=seed)
    return split.take(np.sort(train_rows)), split.take(np.sort(val_rows))
