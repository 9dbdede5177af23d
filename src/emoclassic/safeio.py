"""Safe model files: the skops format, loaded against an explicit allow-list of types.

A joblib (pickle) file can run arbitrary code while it loads. A ``.skops``
file (:mod:`skops.io`) is a zip of a JSON schema plus numpy arrays; loading
it builds only the types the loader is told to trust. skops itself trusts
the scikit-learn, numpy and scipy types it knows; emoclassic adds
:data:`TRUSTED_TYPES` (its own estimator classes) and refuses a file that
names any other type, with one line listing them.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from emoclassic.errors import ModelError, require

__all__ = ["TRUSTED_TYPES", "dump_skops", "is_skops_file", "load_skops"]

#: Types beyond skops' defaults that an emoclassic model file may contain.
TRUSTED_TYPES: tuple[str, ...] = (
    "emoclassic.features.SortedCSR",
    "emoclassic.hashed_tfidf.HashedTfidfVectorizer",
    "emoclassic.nblr.NBLogisticBlend",
    "emoclassic.thresholds.PerLabelThresholdClassifier",
    # One-vs-rest keeps this for a label that is constant in the training data.
    "sklearn.multiclass._ConstantPredictor",
    # The fold splitter of out-of-fold thresholds (``cv`` of the threshold classifier).
    "sklearn.model_selection._split.KFold",
    "sklearn.model_selection._split.PredefinedSplit",
)


def is_skops_file(path: str | Path) -> bool:
    """Whether ``path`` is a skops file: ``.skops`` suffix or a zip archive.

    Examples
    --------
    >>> is_skops_file("models/lr.skops"), is_skops_file("no/such/lr.joblib")
    (True, False)
    """
    path = Path(path)
    return path.suffix == ".skops" or (path.is_file() and zipfile.is_zipfile(path))


def dump_skops(payload: dict, path: str | Path) -> None:
    """Write ``payload`` (the model dict of :func:`~emoclassic.persistence.save_model`)."""
    sio = require("skops.io", "skops")
    # The arrays are stored as .npy members; deflate them (9x smaller for lr).
    sio.dump(payload, path, compression=zipfile.ZIP_DEFLATED, compresslevel=9)


def load_skops(path: str | Path, trusted: tuple[str, ...] = TRUSTED_TYPES):
    """Read a skops file, building only default-trusted and ``trusted`` types.

    Parameters
    ----------
    path : str or Path
        The ``.skops`` file.
    trusted : tuple of str, default=TRUSTED_TYPES
        Fully qualified type names allowed on top of skops' defaults.

    Returns
    -------
    object
        The stored payload.

    Raises
    ------
    ModelError
        The file names a type outside the allow-list (listing them), or it is
        not a readable skops file.
    """
    sio = require("skops.io", "skops")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # a damaged zip or schema raises many types
        raise ModelError(
            f"{path}: cannot be read as a skops model (corrupt or truncated: {type(exc).__name__})"
        ) from None
    refused = sorted(set(untrusted) - set(trusted))
    if refused:
        raise ModelError(
            f"{path}: refusing to load untrusted types: {', '.join(refused)} "
            "(the file was not written by emoclassic, or was altered)"
        )
    try:
        return sio.load(path, trusted=list(untrusted))
    except Exception as exc:
        raise ModelError(
            f"{path}: cannot be read as a skops model "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
        ) from None
