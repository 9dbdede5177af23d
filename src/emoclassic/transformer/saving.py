"""Save and open transformer models: a Hugging Face folder plus the emoclassic sidecar.

The folder holds what ``save_pretrained`` writes for the model and its
tokenizer, and ``emoclassic.json``: the same sidecar as a classical model
(label names, thresholds, library versions, training settings, metrics).
The whole folder is written to a temporary sibling and renamed into place.
"""

from __future__ import annotations

import json
from pathlib import Path

from emoclassic.atomic import atomic_path
from emoclassic.errors import ModelError, require
from emoclassic.persistence import FORMAT, FORMAT_VERSION, library_versions, sidecar_dict

__all__ = [
    "SIDECAR_NAME",
    "is_transformer_folder",
    "load_transformer_model",
    "save_transformer_model",
]

SIDECAR_NAME = "emoclassic.json"


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
):
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
        One line when the sidecar or the weights are missing or corrupt.
    """
    folder = Path(folder)
    sidecar = _read_sidecar(folder)
    label_names = sidecar.get("label_names")
    thresholds = sidecar.get("thresholds")
    if not label_names or not isinstance(thresholds, list) or len(thresholds) != len(label_names):
        raise ModelError(f"{folder / SIDECAR_NAME}: no label list with one threshold per label")
    transformers = require("transformers", "transformer")
    recorded = sidecar.get("versions", {}).get("transformers", "")
    if recorded.split(".")[0] != transformers.__version__.split(".")[0] and not (
        allow_version_mismatch
    ):
        raise ModelError(
            f"{folder}: saved with transformers {recorded or '(unknown)'}, but "
            f"{transformers.__version__} is installed; refit it, or load with "
            "--allow-version-mismatch"
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
    keys = {"format", "format_version", "kind", "label_names", "thresholds", "versions"}
    metadata = {k: v for k, v in sidecar.items() if k not in keys}
    return TransformerEmotionModel(
        model,
        tokenizer,
        label_names,
        thresholds,
        metadata,
        max_length=int(sidecar.get("max_length", 128)),
        device=device,
    )


def _read_sidecar(folder: Path) -> dict:
    path = folder / SIDECAR_NAME
    if not folder.is_dir():
        raise ModelError(f"{folder}: no such model folder")
    if not path.is_file():
        raise ModelError(f"{folder}: a folder without {SIDECAR_NAME}, not an emoclassic model")
    try:
        sidecar = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ModelError(f"{path}: corrupt sidecar (not valid JSON)") from None
    if not isinstance(sidecar, dict) or sidecar.get("format") != FORMAT:
        raise ModelError(f"{path}: not an emoclassic model sidecar")
    if sidecar.get("kind") != "transformer":
        raise ModelError(f"{path}: not a transformer model (kind {sidecar.get('kind')!r})")
    if sidecar.get("format_version", 0) > FORMAT_VERSION:
        raise ModelError(
            f"{folder}: written by a newer emoclassic (format {sidecar['format_version']}); upgrade"
        )
    return sidecar
