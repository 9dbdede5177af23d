"""The emoclassic model format: its marker and version, and the JSON sidecar.

Every saved model, whatever its kind, describes itself the same way: a
``format`` marker, a ``format_version``, its ``kind`` (``"sklearn"``,
``"transformer"``), the label list, the thresholds, the library versions, and
its metadata. A classical model keeps that in its file and repeats it in the
sidecar ``NAME.json`` beside it (:mod:`emoclassic.persistence`); a
transformer model folder keeps it in ``emoclassic.json``
(:mod:`emoclassic.transformer.saving`). This module is the part they share,
and imports neither of them; the rule each field follows is in
:mod:`emoclassic.model_fields`.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from emoclassic.errors import ModelError

if TYPE_CHECKING:
    from emoclassic.model import EmotionModel

__all__ = [
    "FOLDER_SIDECAR",
    "FORMAT",
    "FORMAT_VERSION",
    "RESERVED_FIELDS",
    "library_versions",
    "read_folder_sidecar",
    "read_json",
    "sidecar_dict",
]

#: The ``format`` marker of every emoclassic model file and sidecar.
FORMAT = "emoclassic-model"
#: The newest ``format_version`` this emoclassic reads and the one it writes.
FORMAT_VERSION = 1
#: The sidecar of a model saved as a folder (a transformer model).
FOLDER_SIDECAR = "emoclassic.json"
#: Sidecar fields written by the saver itself, which metadata must not shadow.
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
    """Return the versions of the libraries a saved model depends on.

    Examples
    --------
    >>> sorted(library_versions())
    ['emoclassic', 'joblib', 'numpy', 'python', 'scikit-learn']
    """
    import joblib
    import sklearn

    from emoclassic._version import __version__

    return {
        "emoclassic": __version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "joblib": joblib.__version__,
        "python": platform.python_version(),
    }


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

    Examples
    --------
    >>> from emoclassic.model import EmotionModel
    >>> model = EmotionModel(["joy"], [0.25], {"recipe": "lr", "kind": "not this"})
    >>> sidecar = sidecar_dict(model, {"numpy": "2.0"}, model_file="lr.joblib")
    >>> sidecar["kind"], sidecar["model_file"], sidecar["thresholds"], sidecar["recipe"]
    ('base', 'lr.joblib', [0.25], 'lr')
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


def read_json(path: Path) -> object:
    """Return the JSON value in ``path``, or ``None`` when it cannot be read as JSON.

    Only a regular file is read: a named pipe would block.

    Examples
    --------
    >>> print(read_json(Path("no/such/file.json")))
    None
    """
    try:
        if not path.is_file():
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None


def read_folder_sidecar(folder: Path) -> dict:
    """Read the sidecar of a model folder: a JSON object with the emoclassic ``format`` marker.

    Parameters
    ----------
    folder : Path
        The model folder.

    Returns
    -------
    dict
        The sidecar; its ``kind`` says which loader opens the folder.

    Raises
    ------
    ModelError
        One line when the folder does not exist, holds no
        :data:`FOLDER_SIDECAR`, or holds one that is not valid JSON or not an
        emoclassic sidecar.

    Examples
    --------
    >>> read_folder_sidecar(Path("no/such/folder"))
    Traceback (most recent call last):
    ...
    emoclassic.errors.ModelError: no/such/folder: no such model folder
    """
    path = folder / FOLDER_SIDECAR
    if not folder.is_dir():
        raise ModelError(f"{folder}: no such model folder")
    if not path.is_file():
        raise ModelError(f"{folder}: a folder without {FOLDER_SIDECAR}, not an emoclassic model")
    try:
        sidecar = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ModelError(f"{path}: corrupt sidecar (not valid JSON)") from None
    if not isinstance(sidecar, dict) or sidecar.get("format") != FORMAT:
        raise ModelError(f"{path}: not an emoclassic model sidecar")
    return sidecar
