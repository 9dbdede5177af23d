"""Save and open transformer models: a Hugging Face folder plus the emoclassic sidecar.

The folder holds what ``save_pretrained`` writes for the model and its
tokenizer, and ``emoclassic.json``: the same sidecar as a classical model
(label names, thresholds, library versions, training settings, metrics).
The whole folder is written to a temporary sibling and renamed into place.
:func:`emoclassic.persistence.load_model` opens such a folder through
:func:`open_transformer_folder`, the loader it registers for the
``"transformer"`` kind; the sidecar follows the same format
(:mod:`emoclassic.model_format`) and field rules (:mod:`emoclassic.model_fields`)
as every other model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from emoclassic.atomic import atomic_path
from emoclassic.errors import ModelError, require
from emoclassic.model_fields import check_folder_sidecar
from emoclassic.model_format import (
    FOLDER_SIDECAR,
    RESERVED_FIELDS,
    library_versions,
    read_folder_sidecar,
    sidecar_dict,
)

if TYPE_CHECKING:
    from emoclassic.transformer.model import TransformerEmotionModel

#: The sidecar fields that are not metadata. ``model_file`` is not one of them: it names
#: the file of a single-file model, so in a folder's sidecar it is refused as metadata.
_NOT_METADATA = tuple(field for field in RESERVED_FIELDS if field != "model_file")

__all__ = [
    "SIDECAR_NAME",
    "is_transformer_folder",
    "load_transformer_model",
    "open_transformer_folder",
    "save_transformer_model",
]

#: The sidecar in every model folder.
SIDECAR_NAME = FOLDER_SIDECAR


def transformer_versions() -> dict[str, str]:
    """Return the classical version record plus torch and transformers."""
    import torch
    import transformers

    return library_versions() | {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }


def is_transformer_folder(path: str | Path) -> bool:
    """Whether ``path`` is a folder holding an emoclassic sidecar (no heavy imports)."""
    return Path(path).is_dir() and (Path(path) / SIDECAR_NAME).is_file()


def save_transformer_model(model, folder: str | Path) -> Path:
    """Write ``model`` (a :class:`TransformerEmotionModel`) to ``folder`` atomically.

    Parameters
    ----------
    model : TransformerEmotionModel
        The fitted model.
    folder : str or Path
        Target folder, conventionally ``models/NAME/``; an existing one is
        replaced only once the new one is complete.

    Returns
    -------
    Path
        The sidecar path, ``folder/emoclassic.json``.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ModelError(f"{folder}: exists and is not a folder")
    versions = transformer_versions()
    sidecar = sidecar_dict(model, versions) | {
        # Full precision: the thresholds are read back from here, not from a pickle.
        "thresholds": [float(t) for t in model.thresholds],
        "max_length": model.max_length,
        "weights": "save_pretrained (safetensors) with the tokenizer in this folder",
    }
    from emoclassic.transformer.model import quiet_transformers

    with atomic_path(folder, directory=True) as tmp, quiet_transformers():
        model.model.save_pretrained(tmp)
        model.tokenizer.save_pretrained(tmp)
        (tmp / SIDECAR_NAME).write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
        tmp.chmod(0o755)
    return folder / SIDECAR_NAME


def load_transformer_model(
    folder: str | Path, *, allow_version_mismatch: bool = False, device: str | None = None
) -> TransformerEmotionModel:
    """Open a folder written by :func:`save_transformer_model`.

    Parameters
    ----------
    folder : str or Path
        The model folder.
    allow_version_mismatch : bool, default=False
        Load a model saved under another major version of transformers.
    device : str, optional
        torch device; default: GPU when present, else CPU.

    Returns
    -------
    TransformerEmotionModel

    Raises
    ------
    ModelError
        One line when the sidecar or the weights are missing or corrupt, or
        a field of the sidecar breaks its rule (see :func:`open_transformer_folder`).
    """
    folder = Path(folder)
    sidecar = read_folder_sidecar(folder)
    return open_transformer_folder(
        folder, sidecar, allow_version_mismatch=allow_version_mismatch, device=device
    )


def open_transformer_folder(
    folder: Path,
    sidecar: dict,
    *,
    allow_version_mismatch: bool = False,
    device: str | None = None,
) -> TransformerEmotionModel:
    """Open a transformer model folder whose sidecar has been read.

    The loader that :func:`emoclassic.persistence.load_model` uses for the
    ``"transformer"`` kind. The sidecar's fields are checked by the rules of
    every saved model (:mod:`emoclassic.model_fields`) before torch and
    transformers are imported.

    Parameters
    ----------
    folder : Path
        The model folder.
    sidecar : dict
        Its ``emoclassic.json`` (:func:`~emoclassic.model_format.read_folder_sidecar`).
    allow_version_mismatch : bool, default=False
        Load a model saved under another major version of transformers.
    device : str, optional
        torch device; default: GPU when present, else CPU.

    Returns
    -------
    TransformerEmotionModel

    Raises
    ------
    ModelError
        One line when the sidecar is not a transformer model's, a field breaks
        its rule, the transformers version differs, or the weights are
        missing, corrupt or of another width.

    Examples
    --------
    >>> open_transformer_folder(Path("m"), {"format": "emoclassic-model", "kind": "sklearn"})
    Traceback (most recent call last):
    ...
    emoclassic.errors.ModelError: m/emoclassic.json: not a transformer model (kind 'sklearn')
    """
    where = folder / SIDECAR_NAME
    label_names, thresholds, metadata = check_folder_sidecar(
        where, sidecar, "transformer", _NOT_METADATA
    )
    transformers = require("transformers", "transformer")
    recorded = sidecar.get("versions", {}).get("transformers", "")
    if recorded.split(".")[0] != transformers.__version__.split(".")[0] and not (
        allow_version_mismatch
    ):
        raise ModelError(
            f"{folder}: saved with transformers {recorded or '(unknown)'}, but "
            f"{transformers.__version__} is installed; refit it, or allow a version mismatch "
            "when loading it (at your own risk)"
        )
    from emoclassic.transformer.model import TransformerEmotionModel, quiet_transformers

    try:
        with quiet_transformers():
            tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
            model = transformers.AutoModelForSequenceClassification.from_pretrained(
                folder, local_files_only=True
            )
    except Exception as exc:  # damaged weights or config raise many types
        raise ModelError(
            f"{folder}: cannot load the transformer weights or tokenizer (missing or corrupt: "
            f"{type(exc).__name__})"
        ) from None
    if model.config.num_labels != len(label_names):
        raise ModelError(
            f"{folder}: the network has {model.config.num_labels} outputs but the sidecar "
            f"lists {len(label_names)} labels"
        )
    return TransformerEmotionModel(
        model,
        tokenizer,
        label_names,
        thresholds,
        metadata,
        max_length=int(sidecar.get("max_length", 128)),
        device=device,
    )
