"""Saving and loading models: a joblib (or skops) file plus a JSON sidecar.

The model file holds a small dict (format marker, label list, thresholds,
library versions, metadata and the estimator), so it describes itself; the
sidecar ``<name>.json`` repeats the metadata for people and tools and records
the name of its model file (``model_file``). The two are written as a pair:
both are replaced, or neither (:func:`emoclassic.atomic.atomic_files`).

Every field is checked on load, and by the same rules before a save
(:mod:`emoclassic.model_fields`): label names are distinct, non-empty strings
without control or format characters, line breaks or white space at either
end; thresholds are real numbers in [0, 1], one per label; versions are
strings; metadata is plain data (strings, numbers, booleans, ``None``, lists
and string-keyed mappings), and the fields emoclassic reads back have their
type (``fit_seconds`` a finite number of seconds, ``recipe`` a string, ...);
the per-label ones (``threshold_heldout_f1``, ``threshold_validation_f1``)
hold one F1 score in [0, 1] per label, like the thresholds.
A file that breaks a rule is refused with a one-line
:class:`~emoclassic.errors.ModelError`, never loaded to mislabel texts later.

:func:`load_model` opens every kind of saved model: it reads the saved
``kind`` (from the model file, or from the sidecar of a model folder) and
hands over to the loader registered for that kind (:func:`register_loader`).
The classical kind's loader is here; the transformer kind's is in
:mod:`emoclassic.transformer.saving`, imported only when a transformer folder
is opened, so loading a scikit-learn model never imports torch.

Loading a joblib file runs pickle, which can execute code: only load models
you trust. A ``.skops`` file (:mod:`emoclassic.safeio`) loads only an
allow-list of types and is the format to use for models from elsewhere.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emoclassic.atomic import atomic_files, check_not_an_input, check_output_file
from emoclassic.errors import ModelError, UsageError
from emoclassic.label_names import first_line_breaker
from emoclassic.model import EmotionModel, SklearnEmotionModel
from emoclassic.model_fields import (
    check_format_version,
    check_label_list,
    check_metadata,
    check_thresholds,
    check_versions,
    is_exactly,
    is_finite_list,
    shown,
)
from emoclassic.model_format import (
    FOLDER_SIDECAR,
    FORMAT,
    FORMAT_VERSION,
    library_versions,
    read_folder_sidecar,
    read_json,
    sidecar_dict,
)
from emoclassic.safeio import dump_skops, is_skops_file, load_skops

__all__ = [
    "FILE_FORMATS",
    "LOADERS",
    "ModelLoader",
    "check_label_names",
    "check_model_path",
    "check_sidecar_free",
    "load_model",
    "register_loader",
    "save_model",
]

#: On-disk formats of :func:`save_model`; ``joblib`` is the default.
FILE_FORMATS = ("joblib", "skops")
#: Suffixes of model files; a sidecar that names no model file may belong to either.
MODEL_SUFFIXES = (".joblib", ".skops")


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
    recorded = read_json(sidecar)
    if not isinstance(recorded, dict) or recorded.get("format") != FORMAT:
        raise UsageError(
            f"{sidecar}: exists and is not an emoclassic sidecar; saving {path.name} would "
            "overwrite it; move it or choose another model name"
        )
    if recorded.get("kind", SklearnEmotionModel.kind) != SklearnEmotionModel.kind:
        raise UsageError(
            f"{sidecar}: is the sidecar of a {shown(recorded.get('kind'))} model; saving "
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
    label_names = check_label_list(where, list(model.label_names))
    thresholds = check_thresholds(where, model.thresholds, len(label_names))
    metadata = check_metadata(where, model.metadata, len(label_names))
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


# --- loading: one loader per saved kind ---

#: ``load(path, saved, allow_version_mismatch) -> EmotionModel``: see :class:`ModelLoader`.
LoadFunction = Callable[[Path, dict, bool], EmotionModel]


@dataclass(frozen=True)
class ModelLoader:
    """How :func:`load_model` opens one kind of saved model.

    Attributes
    ----------
    kind : str
        The saved ``kind`` it opens (the model's :attr:`EmotionModel.kind`).
    load : callable
        ``load(path, saved, allow_version_mismatch) -> EmotionModel``.
        ``saved`` is what :func:`load_model` read to learn the kind: the
        payload of a model file (its format marker and format version
        checked), or the sidecar of a model folder (its format marker
        checked). It raises :class:`~emoclassic.errors.ModelError` with one
        line for anything it refuses.
    folder : bool
        Whether the kind is saved as a folder holding an ``emoclassic.json``
        sidecar (a transformer model), rather than as one model file.
    """

    kind: str
    load: LoadFunction
    folder: bool = False


#: The registered loaders by kind (see :func:`register_loader`).
LOADERS: dict[str, ModelLoader] = {}


def register_loader(kind: str, load: LoadFunction, *, folder: bool = False) -> None:
    """Make :func:`load_model` open the saved models of ``kind`` with ``load``.

    emoclassic registers ``"sklearn"`` (a model file) and ``"transformer"``
    (a model folder). A loader registered again under the same kind replaces
    the first.

    Parameters
    ----------
    kind : str
        The ``kind`` the saved model records.
    load : callable
        ``load(path, saved, allow_version_mismatch) -> EmotionModel`` (see
        :class:`ModelLoader`). Import heavy libraries inside it, not at the
        top of its module, so that registering it costs nothing.
    folder : bool, default=False
        Whether the kind is saved as a folder with an ``emoclassic.json``
        sidecar rather than as one file.

    Examples
    --------
    A kind saved as a folder whose sidecar holds everything:

    >>> import json, pathlib, tempfile
    >>> def load_fixed(folder, sidecar, allow_version_mismatch):
    ...     return EmotionModel(sidecar["label_names"], sidecar["thresholds"])
    >>> register_loader("fixed", load_fixed, folder=True)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> sidecar = {"format": "emoclassic-model", "kind": "fixed",
    ...            "label_names": ["joy"], "thresholds": [0.5]}
    >>> _ = (folder / "emoclassic.json").write_text(json.dumps(sidecar))
    >>> load_model(folder).label_names
    ('joy',)
    >>> del LOADERS["fixed"]
    """
    LOADERS[kind] = ModelLoader(kind, load, folder)


def _registered(kind: object, *, folder: bool) -> ModelLoader | None:
    """Return the loader of ``kind`` for that layout (file or folder), or ``None``."""
    loader = LOADERS.get(kind) if isinstance(kind, str) else None
    return loader if loader is not None and loader.folder == folder else None


def _kinds(*, folder: bool) -> list[str]:
    """Return the kinds registered for one layout, in registration order."""
    return [kind for kind, loader in LOADERS.items() if loader.folder == folder]


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
    if folder:  # a model folder: its kind is in its sidecar, emoclassic.json
        sidecar = read_folder_sidecar(path)
        kind = sidecar.get("kind")
        loader = _registered(kind, folder=True)
        if loader is None:
            kinds = " or ".join(_kinds(folder=True))
            raise ModelError(f"{path / FOLDER_SIDECAR}: not a {kinds} model (kind {kind!r})")
        return loader.load(path, sidecar, allow_version_mismatch)
    if not regular:  # a pipe or a device would block the reader
        raise ModelError(f"{path}: not a regular file")
    payload = load_skops(path) if is_skops_file(path) else _read_payload(path)
    if not isinstance(payload, dict) or not is_exactly(payload.get("format"), FORMAT):
        raise ModelError(f"{path}: not an emoclassic model file")
    check_format_version(path, payload.get("format_version"))
    loader = _registered(payload.get("kind", SklearnEmotionModel.kind), folder=False)
    if loader is None:
        kinds = " or ".join(map(repr, _kinds(folder=False)))
        raise ModelError(f"{path}: not a classical emoclassic model (its kind is not {kinds})")
    return loader.load(path, payload, allow_version_mismatch)


def _load_sklearn(path: Path, payload: dict, allow_version_mismatch: bool) -> SklearnEmotionModel:
    """Open a classical model from its file's payload: every field, then the estimator."""
    label_names = check_label_list(path, payload.get("label_names"))
    versions = check_versions(path, payload.get("versions"))
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
    metadata = check_metadata(path, payload.get("metadata", {}), len(label_names))
    thresholds = check_thresholds(path, payload.get("thresholds"), len(label_names))
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
    return check_label_list(where, names)


def _model_of_sidecar(sidecar: Path) -> Path:
    """Return the model file a ``.json`` sidecar belongs to (as recorded, else by its stem)."""
    recorded = read_json(sidecar) if sidecar.is_file() else None
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
    recorded = read_json(sidecar) if sidecar.is_file() else None
    if not isinstance(recorded, dict) or _recorded_model_file(recorded) != path.name:
        return
    listed_names = recorded.get("label_names")
    if isinstance(listed_names, list) and listed_names != label_names:
        raise ModelError(
            f"{path}: its label list differs from the one in its sidecar {sidecar}; "
            "one of the two files was altered"
        )
    listed = recorded.get("thresholds")
    if not is_finite_list(listed) or len(listed) != len(thresholds):
        return
    if not np.allclose(np.asarray(listed, dtype=np.float64), thresholds, rtol=0, atol=1e-6):
        raise ModelError(
            f"{path}: its thresholds differ from the ones in its sidecar {sidecar}; "
            "one of the two files was altered"
        )


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
            "refit it, or allow a version mismatch when loading it (at your own risk)"
        )


def _minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


def _load_transformer(folder: Path, sidecar: dict, allow_version_mismatch: bool) -> EmotionModel:
    """Open a transformer model folder; torch and transformers are imported only now."""
    from emoclassic.transformer.saving import open_transformer_folder

    return open_transformer_folder(folder, sidecar, allow_version_mismatch=allow_version_mismatch)


def _load_prado(folder: Path, sidecar: dict, allow_version_mismatch: bool) -> EmotionModel:
    """Open a projection-network folder; torch is imported only now."""
    from emoclassic.prado.saving import open_prado_folder

    return open_prado_folder(folder, sidecar, allow_version_mismatch=allow_version_mismatch)


register_loader(SklearnEmotionModel.kind, _load_sklearn)
register_loader("transformer", _load_transformer, folder=True)
register_loader("prado", _load_prado, folder=True)
