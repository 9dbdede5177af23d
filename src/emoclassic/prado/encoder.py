"""The projection network: a dense layer on token projections, an encoder, an output layer.

The network takes a ``table`` of token projections ``(n_tokens + 1,
feature_size)`` (:class:`~emoclassic.prado.projection.ProjectedTexts`, row 0
padding) and ``ids`` ``(batch, tokens)``, each text's rows of the table,
right-padded with 0. Every text has at least one real token.

- The *projected embedding*: ``relu(W x + b)`` of each distinct token of the
  batch (computed once per token, not per position), zeroed on padding, then
  dropout.
- ``"prado"`` (:class:`ProjectedAttention`): for each window width ``n`` a
  convolution over the ``n`` tokens ending at each position
  (:class:`WindowLinear`) gives ``2 * channels`` values per position. Half
  are values, half are attention logits: each channel's output is the
  softmax-over-positions-weighted sum of its values (PRADO's projected
  attention), padding excluded.
- ``"qrnn"`` (:class:`QRNN`): a bidirectional quasi-recurrent layer
  (Bradbury et al. 2016): width-``n`` convolutions give a candidate ``z`` and
  a forget gate ``f`` per position, and ``h_t = f_t h_{t-1} + (1 - f_t) z_t``
  runs in each direction. Attention pooling, as above, turns the states into
  one vector.
- Dropout and a linear layer give one logit per label.

torch is imported when this module is; only the fit and the model loader
import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emoclassic.errors import require

if TYPE_CHECKING:
    from emoclassic.prado.settings import PradoSettings

torch = require("torch", "transformer")
nn = torch.nn

__all__ = [
    "QRNN",
    "ProjectedAttention",
    "ProjectionNetwork",
    "WindowLinear",
    "attention_pool",
    "make_network",
]


def attention_pool(values, logits, mask):
    """Per channel, the softmax(logits)-weighted sum of values over the real positions.

    Parameters
    ----------
    values, logits : torch.Tensor of shape (batch, tokens, channels)
    mask : torch.Tensor of bool of shape (batch, tokens)

    Returns
    -------
    torch.Tensor of shape (batch, channels)

    Examples
    --------
    >>> values = torch.tensor([[[1.0], [3.0], [100.0]]])
    >>> logits = torch.zeros(1, 3, 1)
    >>> attention_pool(values, logits, torch.tensor([[True, True, False]])).tolist()
    [[2.0]]
    """
    logits = logits.masked_fill(~mask.unsqueeze(-1), float("-inf"))
    return (torch.softmax(logits, dim=1) * values).sum(dim=1)


class WindowLinear(nn.Module):
    """Linear maps of each token and the ones before it: 1-D convolutions as one matrix product.

    For each width ``n``, position ``t`` gets ``b + W_0 x[t] + W_1 x[t-1] + ...
    + W_{n-1} x[t-n+1]`` (positions before the text count as zeros): a
    convolution over the last ``n`` tokens. Every ``W_k`` of every width
    comes out of one matrix product, then shifted slices are added, which is
    faster on a CPU than a convolution per width with few channels.

    Parameters
    ----------
    in_size, out_size : int
        Features per token in, and out per width.
    widths : sequence of int
        Window widths.

    Examples
    --------
    >>> windows = WindowLinear(1, 1, (2,))
    >>> with torch.no_grad():
    ...     _ = windows.linear.weight.copy_(torch.tensor([[1.0], [10.0]]))
    >>> [w.squeeze(-1).tolist() for w in windows(torch.tensor([[[1.0], [2.0], [3.0]]]))]
    [[[1.0, 12.0, 23.0]]]
    """

    def __init__(self, in_size: int, out_size: int, widths):
        super().__init__()
        self.widths = tuple(widths)
        self.out_size = out_size
        self.linear = nn.Linear(in_size, out_size * sum(self.widths), bias=False)
        self.bias = nn.Parameter(torch.zeros(len(self.widths), out_size))

    def forward(self, x):
        """Return one ``(batch, tokens, out_size)`` tensor per width."""
        parts = self.linear(x).split(self.out_size, dim=-1)
        outputs, first = [], 0
        for i, width in enumerate(self.widths):
            total = parts[first] + self.bias[i]
            for k in range(1, min(width, x.shape[1])):
                total[:, k:] += parts[first + k][:, :-k]
            outputs.append(total)
            first += width
        return outputs


class ProjectedAttention(nn.Module):
    """PRADO's encoder: a window map per width, each pooled by attention.

    Parameters
    ----------
    hidden_size : int
        Features per token in.
    channels : int
        Features out per window width.
    widths : sequence of int
        Window widths (word n-gram lengths).

    Examples
    --------
    >>> encoder = ProjectedAttention(8, 4, (1, 2))
    >>> encoder(torch.zeros(3, 5, 8), torch.ones(3, 5, dtype=torch.bool)).shape
    torch.Size([3, 8])
    """

    def __init__(self, hidden_size: int, channels: int, widths):
        super().__init__()
        self.channels = channels
        self.windows = WindowLinear(hidden_size, 2 * channels, widths)
        self.output_size = channels * len(self.windows.widths)

    def forward(self, x, mask):
        """Return the ``(batch, output_size)`` text features."""
        pooled = []
        for window in self.windows(x):
            values, logits = window.split(self.channels, dim=-1)
            pooled.append(attention_pool(values, logits, mask))
        return torch.cat(pooled, dim=-1)


class QRNN(nn.Module):
    """A bidirectional quasi-recurrent layer with attention pooling (pQRNN's encoder).

    Parameters
    ----------
    hidden_size : int
        Features per token in.
    channels : int
        State size per direction.
    width : int
        Tokens each gate's window sees.

    Examples
    --------
    >>> encoder = QRNN(8, 4, 2)
    >>> encoder(torch.zeros(3, 5, 8), torch.ones(3, 5, dtype=torch.bool)).shape
    torch.Size([3, 8])
    """

    def __init__(self, hidden_size: int, channels: int, width: int):
        super().__init__()
        self.channels = channels
        self.gates = nn.ModuleList(WindowLinear(hidden_size, 2 * channels, (width,)) for _ in "fb")
        self.attention = nn.Linear(2 * channels, 2 * channels)
        self.output_size = 2 * channels

    def _direction(self, gates, x, mask):
        """Run ``h_t = f_t h_{t-1} + (1 - f_t) z_t`` over positions; padding keeps ``h``."""
        [window] = gates(x)
        z, f = window.split(self.channels, dim=-1)
        keep = mask.unsqueeze(-1)
        forget = torch.where(keep, torch.sigmoid(f), torch.ones_like(f))
        update = torch.where(keep, (1 - forget) * torch.tanh(z), torch.zeros_like(z))
        state = torch.zeros_like(update[:, 0])
        states = []
        for t in range(x.shape[1]):
            state = forget[:, t] * state + update[:, t]
            states.append(state)
        return torch.stack(states, dim=1)

    def forward(self, x, mask):
        """Return the ``(batch, 2 * channels)`` text features."""
        lengths = mask.sum(dim=1)
        forward = self._direction(self.gates[0], x, mask)
        # Backwards: reverse each text's real tokens in place (padding stays at the end).
        positions = torch.arange(x.shape[1], device=x.device).unsqueeze(0)
        reverse = torch.where(mask, lengths.unsqueeze(1) - 1 - positions, positions)
        index = reverse.unsqueeze(-1)
        backward = self._direction(
            self.gates[1], x.gather(1, index.expand(-1, -1, x.shape[-1])), mask
        ).gather(1, index.expand(-1, -1, self.channels))
        states = torch.cat([forward, backward], dim=-1)
        return attention_pool(states, self.attention(states), mask)


class ProjectionNetwork(nn.Module):
    """Token projections in, one logit per label out.

    Parameters
    ----------
    n_labels : int
        Outputs.
    encoder : {"prado", "qrnn"}
        The encoder after the projected embedding.
    feature_size, hidden_size, channels, word_ngram_range, dropout
        See :class:`~emoclassic.prado.settings.PradoSettings`.

    Examples
    --------
    >>> network = ProjectionNetwork(3, "prado", feature_size=16, hidden_size=8, channels=4,
    ...                             word_ngram_range=(1, 2), dropout=0.0)
    >>> network(torch.zeros(4, 16), torch.tensor([[1, 2, 3], [3, 0, 0]])).shape
    torch.Size([2, 3])
    """

    def __init__(
        self,
        n_labels: int,
        encoder: str,
        *,
        feature_size: int,
        hidden_size: int,
        channels: int,
        word_ngram_range,
        dropout: float,
    ):
        super().__init__()
        low, high = word_ngram_range
        self.embed = nn.Linear(feature_size, hidden_size)
        if encoder == "qrnn":
            self.encoder = QRNN(hidden_size, channels, high)
        else:
            self.encoder = ProjectedAttention(hidden_size, channels, range(low, high + 1))
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(self.encoder.output_size, n_labels)

    def forward(self, table, ids):
        """Return the ``(batch, n_labels)`` logits of the texts whose token rows are ``ids``."""
        mask = ids > 0
        rows, positions = torch.unique(ids, return_inverse=True)
        hidden = torch.relu(self.embed(table[rows]))[positions] * mask.unsqueeze(-1)
        features = self.encoder(self.dropout(hidden), mask)
        return self.output(self.dropout(features))


def make_network(settings: PradoSettings, n_labels: int) -> ProjectionNetwork:
    """Build the untrained :class:`ProjectionNetwork` that ``settings`` describe.

    Parameters
    ----------
    settings : PradoSettings
        Its architecture fields are used.
    n_labels : int
        Outputs.

    Returns
    -------
    ProjectionNetwork

    Examples
    --------
    >>> from emoclassic.prado.settings import PradoSettings
    >>> network = make_network(PradoSettings(feature_size=16, hidden_size=8, channels=4), 3)
    >>> network.output.out_features
    3
    """
    return ProjectionNetwork(
        n_labels,
        settings.encoder,
        feature_size=settings.feature_size,
        hidden_size=settings.hidden_size,
        channels=settings.channels,
        word_ngram_range=settings.word_ngram_range,
        dropout=settings.dropout,
    )
