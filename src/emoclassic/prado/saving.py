"""Save and open projection networks: safetensors weights plus the emoclassic sidecar.

A model is a folder of two files:

- ``model.safetensors``: the network's weights, and nothing else (no code,
  no pickle). Each tensor is stored in float16 when that loses nothing (the
  fit rounds the weights to float16 by default), else in float32.
- ``emoclassic.json``: the sidecar of every emoclassic model
  (:mod:`emoclassic.model_format`): ``kind`` ``"prado"``, the label list, the
  thresholds (full precision), the library versions, and the metadata, whose
  ``architecture`` rebuilds the network and names the projection scheme.

The folder is written to a temporary sibling and renamed into place.
:func:`emoclassic.persistence.load_model` opens it through
:func:`open_prado_folder`, the loader it registers for the ``"prado"`` kind;
every field of the sidecar is checked by the rules of every saved model
(:mod:`emoclassic.model_fields`), and the tensors' names and shapes against
the network the architecture describes, before any weight is used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from emoclassic.atomic import atomic_path
from emoclassic.errors import EmoclassicError, ModelError, require
from emoclassic.model_fields import (
    check_folder_sidecar,
    shown,
)
from emoclassic.model_format import (
    FOLDER_SIDECAR,
    RESERVED_FIELDS,
    library_versions,
    read_folder_sidecar,
    sidecar_dict,
)
from emoclassic.prado.projection import PROJECTION_VERSION
from emoclassic.prado.settings import ARCHITECTURE_FIELDS, PradoSettings

if TYPE_CHECKING:
    from emoclassic.prado.model import PradoEmotionModel

__all__ = ["WEIGHTS_FILE", "load_prado_model", "open_prado_folder", "save_prado_model"]

#: The weights file in every projection-network folder.
WEIGHTS_FILE = "model.safetensors"
#: Sidecar fields the saver writes beside the metadata (not metadata themselves).
_SAVER_FIELDS = ("weights",)


def prado_versions() -> dict[str, str]:
    """Return the classical version record plus torch and safetensors."""
    import safetensors
    import torch

    return library_versions() | {"torch": torch.__version__, "safetensors": safetensors.__version__}


def save_prado_model(model: PradoEmotionModel, folder: str | Path) -> Path:
    """Write ``model`` to ``folder`` atomically: weights and sidecar.

    Parameters
    ----------
    model : PradoEmotionModel
        The fitted model.
    folder : str or Path
        Target folder, conventionally ``models/prado/``; an existing model
        folder is replaced only once the new one is complete.

    Returns
    -------
    Path
        The sidecar path, ``folder/emoclassic.json``.

    Raises
    ------
    UsageError
        ``folder`` is a file, or a non-empty folder that emoclassic did not write.
    """
    from safetensors.torch import save_file

    folder = Path(folder)
    tensors = {name: _compact(tensor) for name, tensor in model.network.state_dict().items()}
    sidecar = sidecar_dict(model, prado_versions()) | {
        # Full precision: the thresholds are read back from here.
        "thresholds": [float(t) for t in model.thresholds],
        "weights": WEIGHTS_FILE,
    }
    with atomic_path(folder, directory=True) as tmp:
        try:
            save_file(tensors, tmp / WEIGHTS_FILE, metadata={"kind": "prado"})
            (tmp / WEIGHTS_FILE).chmod(0o644)  # safetensors creates it private
            (tmp / FOLDER_SIDECAR).write_text(
                json.dumps(sidecar, indent=2) + "\n", encoding="utf-8"
            )
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise EmoclassicError(f"{folder}: cannot be written ({reason})") from None
        tmp.chmod(0o755)
    return folder / FOLDER_SIDECAR


def _compact(tensor):
    """Return the tensor on the CPU, in float16 when that keeps every value exactly."""
    import torch

    tensor = tensor.detach().to("cpu").contiguous()
    half = tensor.to(torch.float16)
    return half if torch.equal(half.to(tensor.dtype), tensor) else tensor


def load_prado_model(folder: str | Path, *, device: str | None = None) -> PradoEmotionModel:
    """Open a folder written by :func:`save_prado_model`.

    Parameters
    ----------
    folder : str or Path
        The model folder.
    device : str, optional
        torch device; default: the GPU when present, else the CPU.

    Returns
    -------
    PradoEmotionModel

    Raises
    ------
    ModelError
        One line (see :func:`open_prado_folder`).
    """
    folder = Path(folder)
    return open_prado_folder(folder, read_folder_sidecar(folder), device=device)


def open_prado_folder(
    folder: Path,
    sidecar: dict,
    *,
    allow_version_mismatch: bool = False,
    device: str | None = None,
) -> PradoEmotionModel:
    """Open a projection-network folder whose sidecar has been read.

    The loader :func:`emoclassic.persistence.load_model` uses for the
    ``"prado"`` kind. The weights are plain tensors and the projection is
    versioned by emoclassic itself (:data:`~emoclassic.prado.projection.PROJECTION_VERSION`),
    so no library version is compared.

    Parameters
    ----------
    folder : Path
        The model folder.
    sidecar : dict
        Its ``emoclassic.json`` (:func:`~emoclassic.model_format.read_folder_sidecar`).
    allow_version_mismatch : bool, default=False
        Accepted for the loader interface; a projection network depends on
        no library version (another projection version is always refused).
    device : str, optional
        torch device; default: the GPU when present, else the CPU.

    Returns
    -------
    PradoEmotionModel

    Raises
    ------
    ModelError
        One line when the sidecar is not a projection network's, a field
        breaks its rule, the architecture is invalid or from another
        projection version, or the weights are missing, corrupt, non-finite
        or of other names or shapes than the architecture's.

    Examples
    --------
    >>> open_prado_folder(Path("m"), {"format": "emoclassic-model", "kind": "sklearn"})
    Traceback (most recent call last):
    ...
    emoclassic.errors.ModelError: m/emoclassic.json: not a prado model (kind 'sklearn')
    """
    where = folder / FOLDER_SIDECAR
    label_names, thresholds, metadata = check_folder_sidecar(
        where, sidecar, "prado", (*RESERVED_FIELDS, *_SAVER_FIELDS)
    )
    settings = _architecture(where, metadata.get("architecture"))
    network = _network(folder, settings, len(label_names))
    from emoclassic.prado.model import PradoEmotionModel
    from emoclassic.prado.projection import TokenProjector

    projector = TokenProjector(
        settings.feature_size, settings.char_ngram_range, settings.max_tokens
    )
    return PradoEmotionModel(network, projector, label_names, thresholds, metadata, device=device)


def _architecture(where: Path, architecture: object) -> PradoSettings:
    """Check the sidecar's ``architecture`` and return it as settings."""
    if not isinstance(architecture, dict):
        raise ModelError(f"{where}: the model's architecture field is missing or not a mapping")
    version = architecture.get("projection_version")
    if version != PROJECTION_VERSION:
        raise ModelError(
            f"{where}: projection version {shown(version)}, but this emoclassic projects "
            f"tokens with version {PROJECTION_VERSION}; refit the model"
        )
    missing = [name for name in ARCHITECTURE_FIELDS if name not in architecture]
    if missing:
        raise ModelError(f"{where}: the model's architecture has no {missing[0]!r}")
    try:
        return PradoSettings(**{name: architecture[name] for name in ARCHITECTURE_FIELDS})
    except EmoclassicError as exc:  # InvalidParameter names the bad field
        raise ModelError(f"{where}: the model's architecture is invalid ({exc})") from None


def _network(folder: Path, settings: PradoSettings, n_labels: int):
    """Build the network of ``settings`` and load its weights, checked first."""
    torch = require("torch", "transformer")
    safetensors_torch = require("safetensors.torch", "transformer")
    from emoclassic.prado.encoder import make_network

    path = folder / WEIGHTS_FILE
    if not path.is_file():
        raise ModelError(f"{folder}: no {WEIGHTS_FILE} (the weights are missing)")
    try:
        tensors = safetensors_torch.load_file(path)
    except Exception as exc:  # a damaged header or body raises several types
        raise ModelError(f"{path}: cannot be read as safetensors ({type(exc).__name__})") from None
    with torch.device("meta"):  # shapes only: nothing is allocated
        expected = {
            k: tuple(v.shape) for k, v in make_network(settings, n_labels).state_dict().items()
        }
    found = {name: tuple(tensor.shape) for name, tensor in tensors.items()}
    if found != expected:
        differ = sorted(
            name for name in expected.keys() | found.keys() if expected.get(name) != found.get(name)
        )
        raise ModelError(
            f"{path}: the weights do not fit the architecture in the sidecar "
            f"({differ[0]!r} is {shown(str(found.get(differ[0])))}, expected "
            f"{shown(str(expected.get(differ[0])))})"
        )
    if not all(t.is_floating_point() and bool(torch.isfinite(t).all()) for t in tensors.values()):
        raise ModelError(
            f"{path}: the weights hold non-finite or non-float values; the file is damaged"
        )
    network = make_network(settings, n_labels)
    network.load_state_dict({name: tensor.float() for name, tensor in tensors.items()})
    return network.eval()
