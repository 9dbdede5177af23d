"""Saving and loading models: a joblib (or skops) file plus a JSON sidecar.

The model file holds a small dict (format marker, label list, thresholds,
library versions, metadata and the estimator), so it describes itself; the
sidecar ``<name>.json`` repeats the metadata for people and tools and records
the name of its model file (``model_file``). The two are written as a pair:
both are replaced, or neither (:func:`emoclassic.atomic.atomic_files`).

Every field is checked on load, and by the same rules before a save: label
names are distinct, non-empty strings without control or format characters,
line breaks or white space at either end; thresholds are real numbers in
[0, 1], one per label; versions are strings; metadata is plain data
(strings, numbers, booleans, ``None``, lists and string-keyed mappings), and
the fields emoclassic reads back have their type (``fit_seconds`` a finite
number of seconds, ``recipe`` a string, ...); the per-label ones
(``threshold_heldout_f1``, ``threshold_validation_f1``) hold one F1 score in
[0, 1] per label, like the thresholds.
A file that breaks a rule is refused with a one-line
:class:`~emoclassic.errors.ModelError`, never loaded to mislabel texts later.

Loading a joblib file runs pickle, which can execute code: only load models
you trust. A ``.skops`` file (:mod:`emoclassic.safeio`) loads only an
allow-list of types and is the format to use for models from elsewhere.
"""

from __future__ import annotations

import json
import math
import platform
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from emoclassic.atomic import atomic_files, check_not_an_input, check_output_file
from emoclassic.errors import ModelError, UsageError
from emoclassic.label_names import first_line_breaker, label_name_problem
from emoclassic.model import EmotionModel, SklearnEmotionModel
from emoclassic.safeio import dump_skops, is_skops_file, load_skops

__all__ = [
    "FILE_FORMATS",
    "FORMAT",
    "FORMAT_VERSION",
    "check_label_names",
    "check_model_path",
    "check_sidecar_free",
    "library_versions",
    "load_model",
    "save_model",
]

FORMAT = "emoclassic-model"
FORMAT_VERSION = 1
#: On-disk formats of :func:`save_model`; ``joblib`` is the default.
FILE_FORMATS = ("joblib", "skops")
#: Suffixes of model files; a sidecar that names no model file may belong to either.
MODEL_SUFFIXES = (".joblib", ".skops")
#: Sidecar fields written by :func:`save_model` itself, which metadata must not shadow.
RESERVED_FIELDS = (
    "format",
    "format_version",
    "kind",
    "label_names",
    "thresholds",
    "versions",
    "model_file",
)


def library_versions() -> dict[str, str]:
    """Versions of the libraries a saved model depends on."""
    import joblib
    import sklearn

    from emoclassic import __version__

    return {
        "emoclassic": __version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "joblib": joblib.__version__,
        "python": platform.python_version(),
    }


def sidecar_path(path: str | Path) -> Path:
    """``models/lr.joblib`` -> ``models/lr.json``."""
    return Path(path).with_suffix(".json")


def check_model_path(
    path: str | Path,
    file_format: str | None = None,
    *,
    input_files: Iterable[str | Path] = (),
    input_folders: Iterable[str | Path] = (),
) -> str:
    """Check where a model would be written, before any work; return the file format.

    Refuses a path that its own sidecar would overwrite (``model.json``), a
    format that contradicts the file name (``file_format="joblib"`` for
    ``x.skops``, or the reverse), a model or sidecar path that is a folder or
    whose parent cannot be created or written, a name too long to leave room
    for the temporary written beside it, a sidecar path that holds the
    sidecar of another existing model (see :func:`check_sidecar_free`), and a
    model or sidecar path that is an input of the run or lies directly in an
    input folder (see :func:`emoclassic.atomic.check_not_an_input`).

    Parameters
    ----------
    path : str or Path
        The model file.
    file_format : {"joblib", "skops"}, optional
        The format asked for; default from the suffix.
    input_files, input_folders : iterable of str or Path
        What the run reads (the training data), which the model and its
        sidecar must not overwrite.

    Returns
    -------
    str
        ``"joblib"`` or ``"skops"``.

    Raises
    ------
    UsageError
        One line naming the path.

    Examples
    --------
    >>> check_model_path("models/lr.skops")
    'skops'
    >>> check_model_path("models/lr.json")
    Traceback (most recent call last):
    ...
    emoclassic.errors.UsageError: models/lr.json: a model file must not end in .json (its sidecar would overwrite it); use .joblib or .skops
    """  # noqa: E501
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        raise UsageError(
            f"{path}: a model file must not end in .json (its sidecar would overwrite it); "
            "use .joblib or .skops"
        )
    if file_format is not None and file_format not in FILE_FORMATS:
        raise UsageError(f"unknown model file format {file_format!r}; choose joblib or skops")
    implied = "skops" if suffix == ".skops" else "joblib"
    if file_format is not None and suffix in MODEL_SUFFIXES and file_format != implied:
        raise UsageError(
            f"{path}: a {file_format} model cannot be named {suffix}; "
            f"use the {'.skops' if file_format == 'skops' else '.joblib'} suffix"
        )
    input_files, input_folders = list(input_files), list(input_folders)
    for target in (path, sidecar_path(path)):
        check_not_an_input(target, files=input_files, folders=input_folders)
    check_output_file(path)
    try:
        check_sidecar_free(path)
    except OSError as exc:  # a sidecar that cannot even be looked at
        reason = exc.strerror or type(exc).__name__
        raise UsageError(f"{sidecar_path(path)}: cannot be written ({reason})") from None
    return file_format or implied


def check_sidecar_free(path: str | Path) -> None:
    """Refuse to save a model at ``path`` when its sidecar path belongs to something else.

    The sidecar of ``path`` is ``<stem>.json``. It may be written when it does
    not exist, or when it is an emoclassic sidecar of a classical model that
    records ``path``'s name as its ``model_file`` or whose recorded model file
    no longer exists. Refused: a folder, a file that is not an emoclassic
    sidecar (someone's own ``<stem>.json``), the sidecar of a transformer
    model, the sidecar of another existing model file (``lr.joblib`` while
    saving ``lr.skops``), and an older sidecar that records no model file
    while another model file with the same stem (``.joblib`` or ``.skops``)
    exists, since it may belong to that one.

    Raises
    ------
    UsageError
        One line naming the sidecar and the model it belongs to.
    """
    path = Path(path)
    sidecar = sidecar_path(path)
    if not sidecar.exists():
        return
    if sidecar.is_dir():
        raise UsageError(
            f"{sidecar}: is a folder, where the sidecar of {path.name} would go; "
            "choose another model name"
        )
    if not sidecar.is_file():
        raise UsageError(
            f"{sidecar}: exists and is not a regular file, where the sidecar of {path.name} "
            "would go; choose another model name"
        )
    recorded = _read_json(sidecar)
    if not isinstance(recorded, dict) or recorded.get("format") != FORMAT:
        raise UsageError(
            f"{sidecar}: exists and is not an emoclassic sidecar; saving {path.name} would "
            "overwrite it; move it or choose another model name"
        )
    if recorded.get("kind", SklearnEmotionModel.kind) != SklearnEmotionModel.kind:
        raise UsageError(
            f"{sidecar}: is the sidecar of a {_shown(recorded.get('kind'))} model; saving "
            f"{path.name} would overwrite it; choose another model name"
        )
    owner = _recorded_model_file(recorded)
    if owner is not None:
        if owner != path.name and (sidecar.parent / owner).exists():
            raise UsageError(
                f"{sidecar}: is the sidecar of {sidecar.parent / owner}; saving {path.name} "
                "would overwrite it; choose another model name"
            )
        return
    others = [
        other
        for other in map(path.with_suffix, MODEL_SUFFIXES)
        if other.name != path.name and other.exists()
    ]
    if others:
        raise UsageError(
            f"{sidecar}: may be the sidecar of {others[0]} (it records no model file); saving "
            f"{path.name} would overwrite it; remove the one that is stale or choose another "
            "model name"
        )


def _read_json(path: Path):
    """Return the JSON value in ``path``, or ``None`` when it cannot be read as JSON.

    Only a regular file is read: a named pipe would block.
    """
    try:
        if not path.is_file():
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None


def _recorded_model_file(sidecar: dict) -> str | None:
    """Return the sidecar's ``model_file`` when it is a plain file name in the same folder."""
    name = sidecar.get("model_file")
    if (
        not isinstance(name, str)
        or name in ("", ".", "..")
        or Path(name).name != name
        or "\\" in name
        or first_line_breaker(name) is not None
    ):
        return None
    return name


def save_model(
    model: SklearnEmotionModel, path: str | Path, *, file_format: str | None = None
) -> Path:
    """Write ``model`` to ``path`` (joblib or skops) and its sidecar, as a pair.

    Both files are written to temporaries first, then replaced one after the
    other; should the second replacement fail, the first file gets its
    previous content back. A failure leaves the previous pair (or nothing)
    and no temporary behind.

    Parameters
    ----------
    model : SklearnEmotionModel
        The fitted model.
    path : str or Path
        Target file, conventionally ``models/NAME.joblib`` (or ``.skops``).
    file_format : {"joblib", "skops"}, optional
        Default: ``skops`` for a ``.skops`` path, else ``joblib``. skops files
        load without pickle (see :mod:`emoclassic.safeio`).

    Returns
    -------
    Path
        The sidecar path.

    Raises
    ------
    UsageError
        The path is refused by :func:`check_model_path`.
    ModelError
        The model's label names, thresholds or metadata break the rules that
        :func:`load_model` checks (so it could not be opened again).
    EmoclassicError
        A file cannot be written (one line; nothing was changed).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from emoclassic.pipelines import make_nb_pipeline
    >>> pipe = make_nb_pipeline().fit(["good day", "bad day"], [[1, 0], [0, 1]])
    >>> model = SklearnEmotionModel(pipe, ["joy", "anger"], [0.5, 0.5])
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "nb.joblib"
    >>> save_model(model, target).name
    'nb.json'
    >>> load_model(target).label_names
    ('joy', 'anger')
    """
    import joblib

    path = Path(path)
    file_format = check_model_path(path, file_format)
    where = f"{path}: cannot save the model"
    label_names = _label_names(where, list(model.label_names))
    thresholds = _thresholds(where, model.thresholds, len(label_names))
    metadata = _metadata(where, model.metadata, len(label_names))
    versions = library_versions()
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": model.kind,
        "label_names": label_names,
        "thresholds": thresholds.tolist(),
        "versions": versions,
        "metadata": metadata,
        "estimator": model.estimator,
    }
    sidecar = sidecar_path(path)
    described = sidecar_dict(model, versions, model_file=path.name)
    with atomic_files(path, sidecar) as (tmp, tmp_sidecar):
        try:
            if file_format == "skops":
                dump_skops(payload, tmp)
            else:
                joblib.dump(payload, tmp, compress=3)
            tmp_sidecar.write_text(
                json.dumps(described, indent=2, default=_plain) + "\n", encoding="utf-8"
            )
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise ModelError(f"{path}: cannot be written ({reason.splitlines()[0]})") from None
    return sidecar


def _plain(value):
    """``json.dumps`` fallback: a numpy scalar (``np.int64`` from a metric) as a number."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def sidecar_dict(
    model: EmotionModel, versions: dict[str, str], *, model_file: str | None = None
) -> dict:
    """Build the JSON sidecar: label list, thresholds, versions and metadata.

    Parameters
    ----------
    model : EmotionModel
        The model described.
    versions : dict of str
        :func:`library_versions` (plus any more).
    model_file : str, optional
        The name of the model file the sidecar belongs to, recorded as
        ``model_file`` (a transformer folder's sidecar has none).

    Returns
    -------
    dict
        The fixed fields first, then the metadata; a metadata field never
        replaces a fixed one.
    """
    fixed = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": model.kind,
        **({} if model_file is None else {"model_file": model_file}),
        "label_names": list(model.label_names),
        "thresholds": [round(float(t), 6) for t in model.thresholds],
        "versions": versions,
    }
    return {**fixed, **model.metadata, **fixed}


def load_model(path: str | Path, *, allow_version_mismatch: bool = False) -> EmotionModel:
    """Open a saved model.

    Parameters
    ----------
    path : str or Path
        A ``.joblib`` or ``.skops`` model file (or its ``.json`` sidecar), or a
        transformer model folder (see :mod:`emoclassic.transformer.saving`).
        skops files are checked against an allow-list of types first.
    allow_version_mismatch : bool, default=False
        Load a model saved under another scikit-learn minor version (transformers
        major version, for a transformer folder) anyway.
        Predictions may then differ or fail.

    Returns
    -------
    EmotionModel
        With ``predict_proba``, ``predict`` and ``predict_emotions``.

    Raises
    ------
    ModelError
        One-line message when the file is missing, not a regular file, corrupt,
        not an emoclassic model, comes from an incompatible version, (skops)
        names a type outside the allow-list, or when a field breaks its rule:
        the label list (distinct, non-empty names without control characters),
        the thresholds (one real number in [0, 1] per label), the versions
        (strings), the metadata (plain data; known fields of their type, the
        per-label F1 scores one number in [0, 1] per label), the
        estimator (scores in [0, 1], one per label). Also when the model's own
        sidecar (one whose ``model_file`` names it) records other labels or
        thresholds: one of the two files was altered.
    """
    path = Path(path)
    try:
        if path.suffix == ".json":
            path = _model_of_sidecar(path)
        found, folder, regular = path.exists(), path.is_dir(), path.is_file()
    except OSError as exc:  # a name too long, a folder that cannot be searched
        raise ModelError(
            f"{path}: cannot be opened ({exc.strerror or type(exc).__name__})"
        ) from None
    if not found:
        raise ModelError(f"{path}: no such model file")
    if folder:  # a transformer model folder (save_pretrained + emoclassic.json)
        return _load_transformer(path, allow_version_mismatch)
    if not regular:  # a pipe or a device would block the reader
        raise ModelError(f"{path}: not a regular file")
    payload = load_skops(path) if is_skops_file(path) else _read_payload(path)
    if not isinstance(payload, dict) or not _is_exactly(payload.get("format"), FORMAT):
        raise ModelError(f"{path}: not an emoclassic model file")
    _check_format_version(path, payload.get("format_version"))
    if not _is_exactly(payload.get("kind", SklearnEmotionModel.kind), SklearnEmotionModel.kind):
        raise ModelError(f"{path}: not a classical emoclassic model (its kind is not 'sklearn')")
    label_names = _label_names(path, payload.get("label_names"))
    versions = _versions(path, payload.get("versions"))
    _check_versions(path, versions, allow_version_mismatch)
    estimator = payload.get("estimator")
    if estimator is None or not hasattr(estimator, "predict_proba"):
        raise ModelError(f"{path}: the model holds no usable estimator")
    width = _output_width(path, estimator)
    if width != len(label_names):
        raise ModelError(
            f"{path}: the estimator scores {width} labels but the model names "
            f"{len(label_names)}; the file is inconsistent"
        )
    metadata = _metadata(path, payload.get("metadata", {}), len(label_names))
    thresholds = _thresholds(path, payload.get("thresholds"), len(label_names))
    _check_sidecar_agrees(path, label_names, thresholds)
    model = SklearnEmotionModel(estimator, label_names, thresholds, metadata)
    _check_finite_weights(path, model)
    return model


def _check_finite_weights(path: Path, model: SklearnEmotionModel) -> None:
    """Refuse a linear model with a NaN weight: it would score some texts NaN.

    Infinite weights are legitimate: a label constant in training has infinite log-odds.
    """
    try:
        linear = model.linear
    except Exception:  # an estimator the fast path cannot fold is scored by scikit-learn
        return
    if linear is None:
        return
    if np.isnan(linear.coef).any() or np.isnan(linear.intercept).any():
        raise ModelError(f"{path}: the model has NaN weights; the file is damaged")


def check_label_names(names, where: str | Path = "the label list") -> list[str]:
    r"""Check a model's label names: distinct, non-empty strings without control characters.

    The rule is the data loader's (:func:`~emoclassic.label_names.label_name_problem`):
    no white space at either end, no control or format character, no line break. Call it on a dataset's labels before a
    fit, so a model that could not be saved and loaded again is never trained.

    Parameters
    ----------
    names : sequence of str
        The label names, in score-column order.
    where : str or Path
        What to name in the error message.

    Returns
    -------
    list of str

    Raises
    ------
    ModelError
        One line naming the first offending label.

    Examples
    --------
    >>> check_label_names(("joy", "anger"))
    ['joy', 'anger']
    >>> check_label_names(["joy", "bad\nname"], "data")
    Traceback (most recent call last):
    ...
    emoclassic.errors.ModelError: data: the model's label list is missing or not a list of names (label 1, 'bad\nname', has a control character (U+000A))
    """  # noqa: E501
    return _label_names(where, names)


# --- field rules, shared by load_model, save_model and check_label_names ---


def _is_exactly(value, expected: str) -> bool:
    """``value == expected`` for a string ``value``; ``False`` for anything else."""
    return isinstance(value, str) and value == expected


def _is_integer(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _is_real(value) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def _is_finite(value) -> bool:
    """Tell whether ``value`` is a real number that is not NaN or infinite (and fits in a float)."""
    if not _is_real(value):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _shown(value, limit: int = 40) -> str:
    r"""Describe ``value`` in a few words for a one-line error message.

    Strings, numbers, booleans and ``None`` are shown (cut to ``limit``
    characters, control characters escaped); anything else by its type.

    Examples
    --------
    >>> _shown("fe\nar"), _shown(True), _shown(7), _shown(float("nan")), _shown({})
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


def _label_names(where, values) -> list[str]:
    prefix = f"{where}: the model's label list is missing or not a list of names"
    if not isinstance(values, list | tuple) or not values:
        raise ModelError(prefix)
    for index, name in enumerate(values):
        if not isinstance(name, str):
            raise ModelError(f"{prefix} (label {index} is {_shown(name)}, not a string)")
        if not name.strip():
            raise ModelError(f"{prefix} (label {index} is empty)")
        problem = label_name_problem(name)
        if problem is not None:
            raise ModelError(f"{prefix} (label {index}, {_shown(name)}, {problem})")
    if len(set(values)) != len(values):
        repeated = next(name for index, name in enumerate(values) if name in values[:index])
        raise ModelError(f"{where}: the model's label list repeats a name ({_shown(repeated)})")
    return [str(name) for name in values]


def _thresholds(where, values, n_labels: int) -> np.ndarray:
    prefix = f"{where}: the model needs {n_labels} finite thresholds between 0 and 1, one per label"
    return _one_per_label(prefix, "threshold", values, n_labels)


def _one_per_label(prefix: str, item: str, values, n_labels: int) -> np.ndarray:
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
        raise ModelError(f"{prefix} (it has {_shown(values)})")
    if len(values) != n_labels:
        raise ModelError(f"{prefix} (it has {len(values)})")
    for index, value in enumerate(values):
        if not _is_real(value):
            raise ModelError(f"{prefix} ({item} {index} is {_shown(value)}, not a number)")
        if not _is_finite(value) or not 0 <= value <= 1:
            raise ModelError(f"{prefix} ({item} {index} is {_shown(value)})")
    return np.asarray([float(value) for value in values], dtype=np.float64)


def _versions(where, values) -> dict[str, str]:
    if not isinstance(values, dict) or not all(
        isinstance(key, str) and isinstance(value, str) and first_line_breaker(key + value) is None
        for key, value in values.items()
    ):
        raise ModelError(f"{where}: the model's versions field is not a mapping of names")
    return values


def _check_format_version(where, version) -> None:
    if not _is_integer(version) or version < 1:
        raise ModelError(f"{where}: the model's format_version is not a positive integer")
    if version > FORMAT_VERSION:
        raise ModelError(f"{where}: written by a newer emoclassic (format {version}); upgrade")


def _non_negative(value) -> bool:
    return _is_finite(value) and value >= 0


def _finite_list(value) -> bool:
    return isinstance(value, list | tuple) and all(_is_finite(item) for item in value)


#: Metadata fields that emoclassic reads back or prints, and the rule of each.
METADATA_RULES: dict[str, tuple[Callable[[object], bool], str]] = {
    "recipe": (lambda v: isinstance(v, str), "a string"),
    "recipe_summary": (lambda v: isinstance(v, str), "a string"),
    "decision_rule": (lambda v: isinstance(v, str), "a string"),
    "thresholds_from": (lambda v: isinstance(v, str), "a string"),
    "base_model": (lambda v: isinstance(v, str), "a string"),
    "precision": (lambda v: isinstance(v, str), "a string"),
    "fit_seconds": (_non_negative, "a finite number of seconds"),
    "synthetic_weight": (_non_negative, "a finite number of 0 or more"),
    "seed": (lambda v: _is_integer(v) and v >= 0, "a non-negative integer"),
    "best_epoch": (lambda v: v is None or (_is_integer(v) and v >= 0), "an epoch number"),
    "max_length": (lambda v: _is_integer(v) and v >= 1, "a positive integer"),
    "search": (lambda v: isinstance(v, dict), "a mapping"),
    "best_params": (lambda v: isinstance(v, dict), "a mapping"),
    "data": (lambda v: isinstance(v, dict), "a mapping"),
    "metrics": (lambda v: isinstance(v, dict), "a mapping"),
    "training": (lambda v: isinstance(v, dict), "a mapping"),
    "threshold_heldout_f1": (_finite_list, "a list of finite numbers"),
    "threshold_validation_f1": (_finite_list, "a list of finite numbers"),
}

#: Metadata fields that hold one value in [0, 1] per label, in label order (and what one is).
PER_LABEL_METADATA: dict[str, str] = {
    "threshold_heldout_f1": "F1 score",
    "threshold_validation_f1": "F1 score",
}

#: How deep metadata may nest (lists and mappings); fits write three levels.
_MAX_DEPTH = 32


def _metadata(where, metadata, n_labels: int) -> dict:
    """Check the metadata: plain data; known fields of their type (per-label: one per label)."""
    if not isinstance(metadata, dict):
        raise ModelError(f"{where}: the model's metadata is not a mapping")
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise ModelError(f"{where}: the model's metadata has a key that is not a string")
        if key in RESERVED_FIELDS:
            raise ModelError(f"{where}: the model's metadata repeats the field {key!r}")
        problem = _plain_data_problem(value, _MAX_DEPTH)
        if problem is not None:
            raise ModelError(f"{where}: the model's metadata field {_shown(key)} {problem}")
        rule = METADATA_RULES.get(key)
        if rule is not None and not rule[0](value):
            raise ModelError(
                f"{where}: the model's metadata field {key!r} is not {rule[1]} "
                f"(it is {_shown(value)})"
            )
        if key in PER_LABEL_METADATA:
            item = PER_LABEL_METADATA[key]
            prefix = (
                f"{where}: the model's metadata field {key!r} needs {n_labels} {item}s "
                "between 0 and 1, one per label"
            )
            _one_per_label(prefix, item, value, n_labels)
    return metadata


def _plain_data_problem(value, depth: int) -> str | None:
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
        return f"holds {_shown(value)}, which is not plain data"
    return next(
        (p for p in (_plain_data_problem(item, depth - 1) for item in items) if p is not None),
        None,
    )


# --- loading ---


def _model_of_sidecar(sidecar: Path) -> Path:
    """Return the model file a ``.json`` sidecar belongs to (as recorded, else by its stem)."""
    recorded = _read_json(sidecar) if sidecar.is_file() else None
    owner = _recorded_model_file(recorded) if isinstance(recorded, dict) else None
    if owner is not None and (sidecar.parent / owner).is_file():
        return sidecar.parent / owner
    candidates = map(sidecar.with_suffix, MODEL_SUFFIXES)
    return next((p for p in candidates if p.exists()), sidecar)


def _check_sidecar_agrees(path: Path, label_names: list[str], thresholds: np.ndarray) -> None:
    """Refuse a model whose own sidecar records other labels or thresholds.

    Only a sidecar that names ``path`` as its ``model_file`` is compared (an
    older one may describe a sibling model); one that cannot be read is
    ignored, since the model file describes itself. The sidecar's thresholds
    are rounded to 6 decimals.
    """
    sidecar = sidecar_path(path)
    recorded = _read_json(sidecar) if sidecar.is_file() else None
    if not isinstance(recorded, dict) or _recorded_model_file(recorded) != path.name:
        return
    listed_names = recorded.get("label_names")
    if isinstance(listed_names, list) and listed_names != label_names:
        raise ModelError(
            f"{path}: its label list differs from the one in its sidecar {sidecar}; "
            "one of the two files was altered"
        )
    listed = recorded.get("thresholds")
    if not _finite_list(listed) or len(listed) != len(thresholds):
        return
    if not np.allclose(np.asarray(listed, dtype=np.float64), thresholds, rtol=0, atol=1e-6):
        raise ModelError(
            f"{path}: its thresholds differ from the ones in its sidecar {sidecar}; "
            "one of the two files was altered"
        )


def _load_transformer(folder: Path, allow_version_mismatch: bool) -> EmotionModel:
    """Check the folder's sidecar by the same rules, then open the transformer model."""
    from emoclassic.transformer.saving import SIDECAR_NAME, load_transformer_model

    sidecar = _read_json(folder / SIDECAR_NAME)
    where = folder / SIDECAR_NAME
    if (
        isinstance(sidecar, dict)
        and _is_exactly(sidecar.get("format"), FORMAT)
        and _is_exactly(sidecar.get("kind"), "transformer")
    ):  # anything else: the transformer loader words its own refusal
        if "format_version" in sidecar:
            _check_format_version(where, sidecar["format_version"])
        label_names = _label_names(where, sidecar.get("label_names"))
        _thresholds(where, sidecar.get("thresholds"), len(label_names))
        _versions(where, sidecar.get("versions", {}))
        others = {k: v for k, v in sidecar.items() if k not in RESERVED_FIELDS}
        _metadata(where, others, len(label_names))
    model = load_transformer_model(folder, allow_version_mismatch=allow_version_mismatch)
    model.metadata = _metadata(where, model.metadata, len(model.label_names))
    return model


def _output_width(path: Path, estimator) -> int:
    """How many label scores the estimator returns, asked on one empty text (each in [0, 1])."""
    try:
        scores = np.asarray(estimator.predict_proba([""]), dtype=np.float64)
    except Exception as exc:  # a broken estimator fails in many ways
        raise ModelError(
            f"{path}: the model's estimator cannot score a text ({type(exc).__name__})"
        ) from None
    if scores.ndim != 2 or scores.shape[0] != 1:
        raise ModelError(f"{path}: the model's estimator does not return one row of scores")
    if not np.all(np.isfinite(scores)) or np.any(scores < 0) or np.any(scores > 1):
        raise ModelError(f"{path}: the model's estimator returns scores outside [0, 1]")
    return int(scores.shape[1])


def _read_payload(path: Path):
    import joblib
    from sklearn.exceptions import InconsistentVersionWarning

    try:
        with warnings.catch_warnings():
            # Version differences are checked explicitly from the payload.
            warnings.simplefilter("ignore", InconsistentVersionWarning)
            return joblib.load(path)
    except Exception as exc:  # unpickling a damaged file raises many types
        raise ModelError(
            f"{path}: cannot be read as an emoclassic model (corrupt or truncated: "
            f"{type(exc).__name__})"
        ) from None


def _check_versions(path: Path, saved: dict[str, str], allow_mismatch: bool) -> None:
    import sklearn

    recorded = saved.get("scikit-learn")
    if recorded is None:
        raise ModelError(f"{path}: the model does not record its scikit-learn version")
    if _minor(recorded) != _minor(sklearn.__version__) and not allow_mismatch:
        raise ModelError(
            f"{path}: saved with scikit-learn {recorded}, but {sklearn.__version__} is installed; "
            "refit it, or load with --allow-version-mismatch"
        )


def _minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])
