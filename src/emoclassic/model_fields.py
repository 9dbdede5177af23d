"""The rule each field of a saved model follows, checked on save and on load.

Label names are distinct, non-empty strings without control or format
characters, line breaks or white space at either end; thresholds are real
numbers in [0, 1], one per label; versions are strings; metadata is plain data
(strings, numbers, booleans, ``None``, lists and string-keyed mappings), and
the fields emoclassic reads back have their type (:data:`METADATA_RULES`); the
per-label ones (:data:`PER_LABEL_METADATA`) hold one number in [0, 1] per
label. Every check raises a one-line :class:`~emoclassic.errors.ModelError`
naming the file and the first offending value. Every model kind applies the
same rules (:mod:`emoclassic.persistence`, :mod:`emoclassic.transformer.saving`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from emoclassic.errors import ModelError
from emoclassic.label_names import first_line_breaker, label_name_problem
from emoclassic.model_format import FORMAT_VERSION, RESERVED_FIELDS

__all__ = [
    "METADATA_RULES",
    "PER_LABEL_METADATA",
    "check_format_version",
    "check_label_list",
    "check_metadata",
    "check_per_label",
    "check_thresholds",
    "check_versions",
    "is_exactly",
    "is_finite_list",
    "shown",
]


def is_exactly(value: object, expected: str) -> bool:
    """Tell whether ``value`` is the string ``expected`` (``False`` for anything not a string).

    Examples
    --------
    >>> is_exactly("sklearn", "sklearn"), is_exactly(["sklearn"], "sklearn")
    (True, False)
    """
    return isinstance(value, str) and value == expected


def _is_integer(value: object) -> bool:
    """Tell whether ``value`` is an integer (Python or numpy), not a boolean."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _is_real(value: object) -> bool:
    """Tell whether ``value`` is a real number (Python or numpy), not a boolean."""
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def _is_finite(value: object) -> bool:
    """Tell whether ``value`` is a real number that is not NaN or infinite (and fits in a float)."""
    if not _is_real(value):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def shown(value: object, limit: int = 40) -> str:
    r"""Describe ``value`` in a few words for a one-line error message.

    Strings, numbers, booleans and ``None`` are shown (cut to ``limit``
    characters, control characters escaped); anything else by its type.

    Examples
    --------
    >>> shown("fe\nar"), shown(True), shown(7), shown(float("nan")), shown({})
    ("'fe\\nar'", 'True', '7', 'nan', 'a dict')
    """
    if value is None or isinstance(value, bool | np.bool_):
        text = repr(None if value is None else bool(value))
    elif isinstance(value, str):
        text = repr(str(value))
    elif _is_integer(value):
        text = str(int(value)) if abs(int(value)) < 10**limit else "a huge integer"
    elif _is_real(value):
        text = repr(float(value))
    else:
        name = type(value).__name__
        text = f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_label_list(where: str | Path, values: object) -> list[str]:
    r"""Check a label list: distinct, non-empty names that a model file can keep.

    The rule for one name is the data loader's
    (:func:`~emoclassic.label_names.label_name_problem`).

    Parameters
    ----------
    where : str or Path
        What to name in the error message (the file).
    values : object
        The field as stored.

    Returns
    -------
    list of str

    Raises
    ------
    ModelError
        One line naming the first offending label.

    Examples
    --------
    >>> check_label_list("lr.joblib", ("joy", "anger"))
    ['joy', 'anger']
    >>> check_label_list("lr.joblib", ["joy", "joy"])
    Traceback (most recent call last):
    ...
    emoclassic.errors.ModelError: lr.joblib: the model's label list repeats a name ('joy')
    """
    prefix = f"{where}: the model's label list is missing or not a list of names"
    if not isinstance(values, list | tuple) or not values:
        raise ModelError(prefix)
    for index, name in enumerate(values):
        if not isinstance(name, str):
            raise ModelError(f"{prefix} (label {index} is {shown(name)}, not a string)")
        if not name.strip():
            raise ModelError(f"{prefix} (label {index} is empty)")
        problem = label_name_problem(name)
        if problem is not None:
            raise ModelError(f"{prefix} (label {index}, {shown(name)}, {problem})")
    if len(set(values)) != len(values):
        repeated = next(name for index, name in enumerate(values) if name in values[:index])
        raise ModelError(f"{where}: the model's label list repeats a name ({shown(repeated)})")
    return [str(name) for name in values]


def check_thresholds(where: str | Path, values: object, n_labels: int) -> np.ndarray:
    """Check the thresholds: one finite number in [0, 1] per label (see :func:`check_per_label`).

    Examples
    --------
    >>> check_thresholds("lr.joblib", [0.25, 1], 2).tolist()
    [0.25, 1.0]
    >>> check_thresholds("lr.joblib", [0.5], 2)
    Traceback (most recent call last):
    ...
    emoclassic.errors.ModelError: lr.joblib: the model needs 2 finite thresholds between 0 and 1, one per label (it has 1)
    """  # noqa: E501
    prefix = f"{where}: the model needs {n_labels} finite thresholds between 0 and 1, one per label"
    return check_per_label(prefix, "threshold", values, n_labels)


def check_per_label(prefix: str, item: str, values: object, n_labels: int) -> np.ndarray:
    """Check that ``values`` holds one finite number in [0, 1] per label, in label order.

    Parameters
    ----------
    prefix : str
        The start of every error message: what is checked, and where.
    item : str
        What one value is called in a message (``"threshold"``).
    values : object
        The field as stored.
    n_labels : int
        How many labels the model names.

    Returns
    -------
    numpy.ndarray
        The values as float64, shape ``(n_labels,)``.

    Raises
    ------
    ModelError
        ``prefix`` and, in parentheses, what is wrong: the count, or the first bad value.
    """
    if isinstance(values, np.ndarray):
        if values.ndim != 1 or values.dtype.kind not in "iuf":
            raise ModelError(f"{prefix} (it has an array of {values.dtype} {values.shape})")
        values = values.tolist()
    if not isinstance(values, list | tuple):
        raise ModelError(f"{prefix} (it has {shown(values)})")
    if len(values) != n_labels:
        raise ModelError(f"{prefix} (it has {len(values)})")
    for index, value in enumerate(values):
        if not _is_real(value):
            raise ModelError(f"{prefix} ({item} {index} is {shown(value)}, not a number)")
        if not _is_finite(value) or not 0 <= value <= 1:
            raise ModelError(f"{prefix} ({item} {index} is {shown(value)})")
    return np.asarray([float(value) for value in values], dtype=np.float64)


def check_versions(where: str | Path, values: object) -> dict[str, str]:
    """Check the versions record: a mapping of library names to version strings, one line each.

    Examples
    --------
    >>> check_versions("lr.joblib", {"scikit-learn": "1.8.0"})
    {'scikit-learn': '1.8.0'}
    """
    if not isinstance(values, dict) or not all(
        isinstance(key, str) and isinstance(value, str) and first_line_breaker(key + value) is None
        for key, value in values.items()
    ):
        raise ModelError(f"{where}: the model's versions field is not a mapping of names")
    return values


def check_format_version(where: str | Path, version: object) -> None:
    """Refuse a format version that is not a positive integer, or newer than this emoclassic's.

    Examples
    --------
    >>> check_format_version("lr.joblib", FORMAT_VERSION + 1)
    Traceback (most recent call last):
    ...
    emoclassic.errors.ModelError: lr.joblib: written by a newer emoclassic (format 2); upgrade
    """
    if not _is_integer(version) or version < 1:
        raise ModelError(f"{where}: the model's format_version is not a positive integer")
    if version > FORMAT_VERSION:
        raise ModelError(f"{where}: written by a newer emoclassic (format {version}); upgrade")


def _is_non_negative(value: object) -> bool:
    return _is_finite(value) and value >= 0


def is_finite_list(value: object) -> bool:
    """Tell whether ``value`` is a list (or tuple) of finite real numbers.

    Examples
    --------
    >>> is_finite_list([0.5, 1]), is_finite_list([float("nan")]), is_finite_list("0.5")
    (True, False, False)
    """
    return isinstance(value, list | tuple) and all(_is_finite(item) for item in value)


#: Metadata fields that emoclassic reads back or prints, and the rule of each.
METADATA_RULES: dict[str, tuple[Callable[[object], bool], str]] = {
    "recipe": (lambda v: isinstance(v, str), "a string"),
    "recipe_summary": (lambda v: isinstance(v, str), "a string"),
    "decision_rule": (lambda v: isinstance(v, str), "a string"),
    "thresholds_from": (lambda v: isinstance(v, str), "a string"),
    "base_model": (lambda v: isinstance(v, str), "a string"),
    "precision": (lambda v: isinstance(v, str), "a string"),
    "fit_seconds": (_is_non_negative, "a finite number of seconds"),
    "synthetic_weight": (_is_non_negative, "a finite number of 0 or more"),
    "seed": (lambda v: _is_integer(v) and v >= 0, "a non-negative integer"),
    "best_epoch": (lambda v: v is None or (_is_integer(v) and v >= 0), "an epoch number"),
    "max_length": (lambda v: _is_integer(v) and v >= 1, "a positive integer"),
    "search": (lambda v: isinstance(v, dict), "a mapping"),
    "best_params": (lambda v: isinstance(v, dict), "a mapping"),
    "data": (lambda v: isinstance(v, dict), "a mapping"),
    "metrics": (lambda v: isinstance(v, dict), "a mapping"),
    "training": (lambda v: isinstance(v, dict), "a mapping"),
    "threshold_heldout_f1": (is_finite_list, "a list of finite numbers"),
    "threshold_validation_f1": (is_finite_list, "a list of finite numbers"),
}

#: Metadata fields that hold one value in [0, 1] per label, in label order (and what one is).
PER_LABEL_METADATA: dict[str, str] = {
    "threshold_heldout_f1": "F1 score",
    "threshold_validation_f1": "F1 score",
}

#: How deep metadata may nest (lists and mappings); fits write three levels.
_MAX_DEPTH = 32


def check_metadata(where: str | Path, metadata: object, n_labels: int) -> dict:
    """Check the metadata: plain data; known fields of their type (per-label: one per label).

    Parameters
    ----------
    where : str or Path
        What to name in the error message (the file).
    metadata : object
        The field as stored: a mapping of field names to plain data.
    n_labels : int
        How many labels the model names (for :data:`PER_LABEL_METADATA`).

    Returns
    -------
    dict
        ``metadata`` itself.

    Raises
    ------
    ModelError
        One line naming the first offending field: not plain data, a field of
        :data:`~emoclassic.model_format.RESERVED_FIELDS`, or a field of
        :data:`METADATA_RULES` that breaks its rule.

    Examples
    --------
    >>> check_metadata("lr.joblib", {"recipe": "lr", "notes": [1, "two"]}, 2)
    {'recipe': 'lr', 'notes': [1, 'two']}
    >>> check_metadata("lr.joblib", {"seed": -1}, 2)
    Traceback (most recent call last):
    ...
    emoclassic.errors.ModelError: lr.joblib: the model's metadata field 'seed' is not a non-negative integer (it is -1)
    """  # noqa: E501
    if not isinstance(metadata, dict):
        raise ModelError(f"{where}: the model's metadata is not a mapping")
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise ModelError(f"{where}: the model's metadata has a key that is not a string")
        if key in RESERVED_FIELDS:
            raise ModelError(f"{where}: the model's metadata repeats the field {key!r}")
        problem = _plain_data_problem(value, _MAX_DEPTH)
        if problem is not None:
            raise ModelError(f"{where}: the model's metadata field {shown(key)} {problem}")
        rule = METADATA_RULES.get(key)
        if rule is not None and not rule[0](value):
            raise ModelError(
                f"{where}: the model's metadata field {key!r} is not {rule[1]} "
                f"(it is {shown(value)})"
            )
        if key in PER_LABEL_METADATA:
            item = PER_LABEL_METADATA[key]
            prefix = (
                f"{where}: the model's metadata field {key!r} needs {n_labels} {item}s "
                "between 0 and 1, one per label"
            )
            check_per_label(prefix, item, value, n_labels)
    return metadata


def check_folder_sidecar(
    where: str | Path, sidecar: dict, kind: str, not_metadata: tuple[str, ...]
) -> tuple[list[str], np.ndarray, dict]:
    """Check the sidecar of a model folder; return its labels, thresholds and metadata.

    The checks every folder kind (``transformer``, ``prado``) runs before it
    imports torch: the kind, the format version, the label list, one
    threshold per label, the versions, and the metadata: every field but
    ``not_metadata``.

    Parameters
    ----------
    where : str or Path
        What to name in the error message (the sidecar file).
    sidecar : dict
        The sidecar as read.
    kind : str
        The kind the loader opens.
    not_metadata : tuple of str
        The fields the saver writes itself, left out of the metadata.

    Returns
    -------
    (label_names, thresholds, metadata) : tuple of list, ndarray and dict

    Raises
    ------
    ModelError
        One line: another kind, or a field that breaks its rule.

    Examples
    --------
    >>> sidecar = {"kind": "prado", "label_names": ["joy"], "thresholds": [0.5],
    ...            "versions": {}, "recipe": "prado"}
    >>> check_folder_sidecar("m/emoclassic.json", sidecar, "prado", RESERVED_FIELDS)
    (['joy'], array([0.5]), {'recipe': 'prado'})
    >>> check_folder_sidecar("m/emoclassic.json", {"kind": "sklearn"}, "prado", ())
    Traceback (most recent call last):
    ...
    emoclassic.errors.ModelError: m/emoclassic.json: not a prado model (kind 'sklearn')
    """
    if sidecar.get("kind") != kind:
        raise ModelError(f"{where}: not a {kind} model (kind {shown(sidecar.get('kind'))})")
    if "format_version" in sidecar:
        check_format_version(where, sidecar["format_version"])
    label_names = check_label_list(where, sidecar.get("label_names"))
    thresholds = check_thresholds(where, sidecar.get("thresholds"), len(label_names))
    check_versions(where, sidecar.get("versions", {}))
    metadata = {k: v for k, v in sidecar.items() if k not in not_metadata}
    return label_names, thresholds, check_metadata(where, metadata, len(label_names))


def _plain_data_problem(value: object, depth: int) -> str | None:
    """Why ``value`` is not plain JSON-like data, or ``None`` when it is."""
    if value is None or isinstance(value, str | bool | np.bool_) or _is_real(value):
        return None
    if depth <= 0:
        return f"nests deeper than {_MAX_DEPTH} levels"
    if isinstance(value, list | tuple):
        items = value
    elif isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            return "holds a mapping with a key that is not a string"
        items = value.values()
    else:
        return f"holds {shown(value)}, which is not plain data"
    return next(
        (p for p in (_plain_data_problem(item, depth - 1) for item in items) if p is not None),
        None,
    )
