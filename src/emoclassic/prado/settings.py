"""Every parameter of a projection-network fit, its default and its rule.

:class:`PradoSettings` is the one place the defaults live: the command line
(``emoclassic fit prado``) reads them from here. Importing this module does
not import torch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from emoclassic.errors import InvalidParameter
from emoclassic.prado.projection import PROJECTION_VERSION, check_char_ngram_range
from emoclassic.transformer.losses import (
    DEFAULT_FOCAL_ALPHA,
    DEFAULT_FOCAL_GAMMA,
    LOSSES,
    MAX_POS_WEIGHT,
)

__all__ = ["ARCHITECTURE_FIELDS", "ENCODERS", "WEIGHTS_DTYPES", "PradoSettings"]

#: The encoders after the projection: PRADO's projected convolution, or a QRNN.
ENCODERS = ("prado", "qrnn")
#: How the weights are kept once trained (and saved).
WEIGHTS_DTYPES = ("float32", "float16")
#: The settings that shape the network; a saved model records them to rebuild it.
ARCHITECTURE_FIELDS = (
    "encoder",
    "feature_size",
    "char_ngram_range",
    "word_ngram_range",
    "max_tokens",
    "hidden_size",
    "channels",
    "dropout",
)

_AT_LEAST_ONE = ("feature_size", "max_tokens", "hidden_size", "channels", "epochs", "batch_size")
_AT_LEAST_ONE += ("patience", "eval_batch_size")


@dataclass(frozen=True)
class PradoSettings:
    """Parameters of a projection network and of its training.

    Parameters
    ----------
    encoder : {"prado", "qrnn"}, default="prado"
        ``"prado"``: one projected convolution per word n-gram width, each
        pooled by attention (PRADO). ``"qrnn"``: a bidirectional
        quasi-recurrent layer, pooled by attention (pQRNN).
    feature_size : int, default=512
        Ternary hash values per token (the projection's width).
    char_ngram_range : (int, int) or None, default=(2, 4)
        Character n-grams hashed into each token's projection besides the
        token itself; ``None``: the token alone.
    word_ngram_range : (int, int), default=(1, 3)
        ``"prado"``: a convolution over each window width from low to high
        tokens. ``"qrnn"``: the gates see windows of ``high`` tokens.
    max_tokens : int, default=64
        Tokens kept per text.
    hidden_size : int, default=128
        Width of the dense layer on each token's projection.
    channels : int, default=96
        Output features per window width (``"prado"``) or per direction (``"qrnn"``).
    dropout : float in [0, 1), default=0.2
        Dropout on the token layer and before the output layer.
    epochs : int, default=6
        Maximum passes over the training split.
    batch_size : int, default=64
        Training texts per step.
    lr : float, default=2e-3
        Peak AdamW learning rate (linear warm-up over the first epoch's
        first tenth, then cosine decay to 0).
    weight_decay : float, default=1e-4
        AdamW weight decay.
    loss : {"bce", "pos_weight", "focal"}, default="bce"
        See :mod:`emoclassic.transformer.losses`.
    focal_gamma, focal_alpha : float, default=2.0 and 0.25
        Focal-loss parameters (``focal_alpha=None``: no alpha weighting).
    max_pos_weight : float, default=30.0
        Upper bound of the ``pos_weight`` loss's weights.
    patience : int, default=3
        Early stopping: epochs without a better validation macro ROC-AUC.
    seed : int, default=42
        Seeds initialisation, dropout and shuffling.
    weights_dtype : {"float32", "float16"}, default="float16"
        Precision the trained weights are rounded to and saved in; float16
        halves the file. The fitted model scores with the rounded weights, so
        a saved and loaded model scores exactly as the fitted one.
    eval_batch_size : int, default=512
        Texts per forward pass when scoring.
    device : str, optional
        torch device; default: the GPU when present, else the CPU.
    threads : int or None, default=1
        torch CPU threads during the fit (restored afterwards); ``None``:
        torch's own choice. The network is small: a second thread gains little
        on a quiet machine and costs many times over on a busy one.
    progress : bool or None, default=None
        Progress bars; ``None`` shows them only on a terminal.

    Examples
    --------
    >>> PradoSettings(encoder="qrnn").architecture()["encoder"]
    'qrnn'
    >>> PradoSettings(feature_size=0)
    Traceback (most recent call last):
    ...
    emoclassic.errors.InvalidParameter: feature_size must be at least 1, got 0
    """

    encoder: str = "prado"
    feature_size: int = 512
    char_ngram_range: tuple[int, int] | None = (2, 4)
    word_ngram_range: tuple[int, int] = (1, 3)
    max_tokens: int = 64
    hidden_size: int = 128
    channels: int = 96
    dropout: float = 0.2
    epochs: int = 6
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    loss: str = "bce"
    focal_gamma: float = DEFAULT_FOCAL_GAMMA
    focal_alpha: float | None = DEFAULT_FOCAL_ALPHA
    max_pos_weight: float = MAX_POS_WEIGHT
    patience: int = 3
    seed: int = 42
    weights_dtype: str = "float16"
    eval_batch_size: int = 512
    device: str | None = None
    threads: int | None = 1
    progress: bool | None = None

    def __post_init__(self):
        _choice("encoder", self.encoder, ENCODERS)
        _choice("loss", self.loss, LOSSES)
        _choice("weights_dtype", self.weights_dtype, WEIGHTS_DTYPES)
        for name in _AT_LEAST_ONE:
            _whole(name, getattr(self, name), 1)
        _whole("seed", self.seed, 0)
        if self.threads is not None:
            _whole("threads", self.threads, 1)
        object.__setattr__(self, "char_ngram_range", check_char_ngram_range(self.char_ngram_range))
        object.__setattr__(self, "word_ngram_range", _word_ngram_range(self.word_ngram_range))
        _number("dropout", self.dropout, lambda v: 0 <= v < 1, "in [0, 1)")
        _number("lr", self.lr, lambda v: v > 0, "above 0")
        _number("weight_decay", self.weight_decay, lambda v: v >= 0, "0 or more")
        _number("focal_gamma", self.focal_gamma, lambda v: v >= 0, "0 or more")
        _number("max_pos_weight", self.max_pos_weight, lambda v: v >= 1, "at least 1")
        if self.focal_alpha is not None:
            _number("focal_alpha", self.focal_alpha, lambda v: 0 <= v <= 1, "between 0 and 1")

    def architecture(self) -> dict:
        """Return the settings that shape the network, as plain data for the sidecar.

        Examples
        --------
        >>> arch = PradoSettings().architecture()
        >>> arch["char_ngram_range"], arch["projection_version"]
        ([2, 4], 1)
        """
        values = {name: getattr(self, name) for name in ARCHITECTURE_FIELDS}
        for name in ("char_ngram_range", "word_ngram_range"):
            values[name] = None if values[name] is None else list(values[name])
        return values | {"projection_version": PROJECTION_VERSION}

    def as_dict(self) -> dict:
        """Return every setting as plain data (tuples as lists), for the sidecar."""
        values = asdict(self)
        for name in ("char_ngram_range", "word_ngram_range"):
            values[name] = None if values[name] is None else list(values[name])
        return values

    @classmethod
    def defaults(cls) -> dict:
        """Return every setting's default, by name (what the command line shows).

        Examples
        --------
        >>> PradoSettings.defaults()["encoder"]
        'prado'
        """
        return {field.name: field.default for field in fields(cls)}


def _choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InvalidParameter(name, f"must be one of {', '.join(choices)}, got {value!r}")


def _whole(name: str, value: object, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidParameter(name, f"must be a whole number, got {value!r}")
    if value < minimum:
        raise InvalidParameter(name, f"must be at least {minimum}, got {value}")


def _number(name: str, value: object, accept, requirement: str) -> None:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or not accept(value)
    ):
        raise InvalidParameter(name, f"must be a number {requirement}, got {value!r}")


def _word_ngram_range(value: object) -> tuple[int, int]:
    pair = tuple(value) if isinstance(value, list | tuple) else ()
    if (
        len(pair) != 2
        or not all(isinstance(n, int) and not isinstance(n, bool) for n in pair)
        or not 1 <= pair[0] <= pair[1] <= 8
    ):
        raise InvalidParameter(
            "word_ngram_range", f"must be (low, high) with 1 <= low <= high <= 8, got {value!r}"
        )
    return (int(pair[0]), int(pair[1]))
