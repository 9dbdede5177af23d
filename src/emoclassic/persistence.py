"""Saving and loading models: a joblib (or skops) file plus a JSON sidecar.

The model file holds a small dict (format marker, label list, thresholds,
library versions, metadata and the estimator), so it describes itself; the
sidecar ``<name>.json`` repeats the metadata for people and tools. Both are
written atomically.

Loading a joblib file runs pickle, which can execute code: only load models
you trust. A ``.skops`` file (:mod:`emoclassic.safeio`) loads only an
allow-list of types and is the format to use for models from elsewhere.
"""

from __future__ import annotations

import json
import platform
import warnings
from pathlib import Path

import numpy as np

from emoclassic.atomic import atomic_path, check_output_file
from emoclassic.errors import ModelError, UsageError
from emoclassic.model import EmotionModel, SklearnEmotionModel
from emoclassic.safeio import dump_skops, is_skops_file, load_skops

__all__ = [
    "FILE_FORMATS",
    "FORMAT",
    "FORMAT_VERSION",
    "check_model_path",
    "library_versions",
    "load_model",
    "save_model",
]

FORMAT = "emoclassic-model"
FORMAT_VERSION = 1
#: On-disk formats of :func:`save_model`; ``joblib`` is the default.
FILE_FORMATS = ("joblib", "skops")


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


def check_model_path(path: str | Path, file_format: str | None = None) -> str:
    """Check where a model would be written, before any work; return the file format.

    Refuses a path that its own sidecar would overwrite (``model.json``), a
    format that contradicts the file name (``file_format="joblib"`` for
    ``x.skops``, or the reverse), and a path that is a folder or whose parent
    cannot be created or written.

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
    if file_format is not None and suffix in (".skops", ".joblib") and file_format != implied:
        raise UsageError(
            f"{path}: a {file_format} model cannot be named {suffix}; "
            f"use the {'.skops' if file_format == 'skops' else '.joblib'} suffix"
        )
    check_output_file(path)
    return file_format or implied


def save_model(
    model: SklearnEmotionModel, path: str | Path, *, file_format: str | None = None
) -> Path:
    """Write ``model`` to ``path`` (joblib or skops) and its sidecar, atomically.

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
    versions = library_versions()
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": model.kind,
        "label_names": list(model.label_names),
        "thresholds": model.thresholds.tolist(),
        "versions": versions,
        "metadata": model.metadata,
        "estimator": model.estimator,
    }
    sidecar = sidecar_path(path)
    # Both files are complete on disk before either replaces anything, so a failure
    # while writing one of them leaves neither behind.
    with atomic_path(path) as tmp, atomic_path(sidecar) as tmp_sidecar:
        if file_format == "skops":
            dump_skops(payload, tmp)
        else:
            joblib.dump(payload, tmp, compress=3)
        tmp_sidecar.write_text(
            json.dumps(sidecar_dict(model, versions), indent=2) + "\n", encoding="utf-8"
        )
    return sidecar


def sidecar_dict(model: EmotionModel, versions: dict[str, str]) -> dict:
    """Build the JSON sidecar: label list, thresholds, versions and metadata."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": model.kind,
        "label_names": list(model.label_names),
        "thresholds": [round(float(t), 6) for t in model.thresholds],
        "versions": versions,
        **model.metadata,
    }


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
        One-line message when the file is missing, corrupt, not an emoclassic
        model, has no label list, comes from an incompatible version, or (skops)
        names a type outside the allow-list.
    """
    path = Path(path)
    if path.suffix == ".json":
        path = next((p for p in map(path.with_suffix, (".joblib", ".skops")) if p.exists()), path)
    if not path.exists():
        raise ModelError(f"{path}: no such model file")
    if path.is_dir():  # a transformer model folder (save_pretrained + emoclassic.json)
        from emoclassic.transformer.saving import load_transformer_model

        return load_transformer_model(path, allow_version_mismatch=allow_version_mismatch)
    payload = load_skops(path) if is_skops_file(path) else _read_payload(path)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelError(f"{path}: not an emoclassic model file")
    version = payload.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelError(f"{path}: the model's format_version is not a positive integer")
    if version > FORMAT_VERSION:
        raise ModelError(f"{path}: written by a newer emoclassic (format {version}); upgrade")
    label_names = payload.get("label_names")
    if (
        not isinstance(label_names, list | tuple)
        or not label_names
        or not all(isinstance(name, str) and name for name in label_names)
    ):
        raise ModelError(f"{path}: the model's label list is missing or not a list of names")
    if len(set(label_names)) != len(label_names):
        raise ModelError(f"{path}: the model's label list repeats a name")
    versions = payload.get("versions")
    if not isinstance(versions, dict) or not all(isinstance(v, str) for v in versions.values()):
        raise ModelError(f"{path}: the model's versions field is not a mapping of names")
    _check_versions(path, versions, allow_version_mismatch)
    metadata = payload.get("metadata", {})
    if not isinstance(metadata, dict):
        raise ModelError(f"{path}: the model's metadata is not a mapping")
    estimator = payload.get("estimator")
    if estimator is None or not hasattr(estimator, "predict_proba"):
        raise ModelError(f"{path}: the model holds no usable estimator")
    width = _output_width(path, estimator)
    if width != len(label_names):
        raise ModelError(
            f"{path}: the estimator scores {width} labels but the model names "
            f"{len(label_names)}; the file is inconsistent"
        )
    thresholds = _thresholds(path, payload.get("thresholds"), len(label_names))
    return SklearnEmotionModel(estimator, label_names, thresholds, metadata)


def _thresholds(path: Path, values, n_labels: int) -> np.ndarray:
    try:
        thresholds = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        thresholds = None
    if thresholds is None or thresholds.shape != (n_labels,) or not np.all(np.isfinite(thresholds)):
        raise ModelError(f"{path}: the model needs {n_labels} finite thresholds, one per label")
    return thresholds


def _output_width(path: Path, estimator) -> int:
    """How many label scores the estimator returns, asked on one empty text."""
    try:
        return int(np.asarray(estimator.predict_proba([""])).shape[1])
    except Exception as exc:  # a broken estimator fails in many ways
        raise ModelError(
            f"{path}: the model's estimator cannot score a text ({type(exc).__name__})"
        ) from None


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
