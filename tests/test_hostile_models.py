"""Hostile model files: whatever a file holds, it is refused in one line or loaded right.

Each example starts from a real saved model (joblib and skops) and damages it:
one payload field (or one metadata field) replaced by an arbitrary value or
dropped, or the file's bytes truncated or replaced. The contract checked:
:func:`~emoclassic.persistence.load_model` either raises a one-line
:class:`~emoclassic.errors.ModelError` naming the file, or returns a model
that scores texts under exactly the original label names, in order, with
thresholds in [0, 1], and whose metadata the commands can print. No other
exception, ever.

The default budget keeps this file quick; ``pytest -m fuzz`` runs the same
properties on 1,000 examples each.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import joblib
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import LABELS, toy_split
from emoclassic.compare import format_comparison
from emoclassic.errors import ModelError
from emoclassic.model_fields import PER_LABEL_METADATA
from emoclassic.persistence import load_model, save_model

TEXTS = ["so happy today", "angry and scared of the dark"]
FORMATS = ["joblib", "skops"]
FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    """One small fitted model, saved once per format: ``{format: (file, payload as stored)}``."""
    from emoclassic.datasets import EmotionDataset
    from emoclassic.training import FitSettings, fit_model

    dataset = EmotionDataset(LABELS, {"train": toy_split(4), "validation": toy_split(2)})
    model = fit_model("lr", dataset, FitSettings(progress=False, search=False, n_jobs=1))
    found = {}
    for file_format in FORMATS:
        if file_format == "skops" and not _has_skops():
            continue
        # One folder each: the two files would share the sidecar lr.json.
        path = tmp_path_factory.mktemp(f"hostile-{file_format}") / f"lr.{file_format}"
        save_model(model, path)
        found[file_format] = (path, _read(path, file_format))
    return found


def _has_skops() -> bool:
    try:
        import skops.io  # noqa: F401
    except ImportError:
        return False
    return True


def _read(path: Path, file_format: str) -> dict:
    if file_format == "skops":
        import skops.io as sio

        from emoclassic.safeio import TRUSTED_TYPES

        return sio.load(path, trusted=list(TRUSTED_TYPES))
    return joblib.load(path)


def _write(payload: dict, path: Path, file_format: str) -> bool:
    """Store ``payload``; ``False`` when the format cannot hold such a value at all."""
    try:
        if file_format == "skops":
            from emoclassic.safeio import dump_skops

            dump_skops(payload, path)
        else:
            joblib.dump(payload, path)
    except Exception:  # a value skops cannot store: nothing to load
        event("not storable")
        return False
    return True


def _base(saved, file_format: str) -> tuple[Path, dict]:
    if file_format not in saved:
        pytest.skip("skops is not installed")
    return saved[file_format]


# ---- strategies ----------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-2, max_value=2),
    st.text(),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=4),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=6),
    # The shapes a label list and a threshold list have (3 labels), to get past the first checks.
    st.lists(st.text(), min_size=3, max_size=3),
    st.lists(st.sampled_from([*LABELS, "joy ", "fe\nar", "", "neutral"]), min_size=3, max_size=3),
    st.lists(st.floats(min_value=-1, max_value=2) | st.booleans(), min_size=3, max_size=3),
    st.lists(st.floats(allow_nan=True), min_size=3, max_size=3),
    st.dictionaries(st.text(max_size=8), scalars, max_size=4),
    st.dictionaries(st.integers(), scalars, max_size=2),
)
#: Payload fields, and metadata fields that commands read back.
FIELDS = [
    ("format",),
    ("format_version",),
    ("kind",),
    ("label_names",),
    ("thresholds",),
    ("versions",),
    ("versions", "scikit-learn"),
    ("metadata",),
    ("metadata", "fit_seconds"),
    ("metadata", "recipe"),
    ("metadata", "search"),
    ("metadata", "seed"),
    ("metadata", "data"),
    ("metadata", "threshold_heldout_f1"),
    ("estimator",),
]
fields = st.sampled_from(FIELDS)


# ---- the contract ---------------------------------------------------------------------------


def _check_contract(path: Path) -> str:
    """Load ``path``: a one-line ModelError, or a model true to the original labels.

    Returns what happened, for Hypothesis' statistics (``--hypothesis-show-statistics``).
    """
    try:
        model = load_model(path)
    except ModelError as exc:
        message = str(exc)
        assert message.startswith(f"{path}"), message
        assert message.isprintable(), message  # one line: no line break or control character
        return f"refused: {message[len(str(path)) + 2 :][:40]}"
    assert model.label_names == LABELS
    thresholds = model.thresholds
    assert thresholds.dtype == np.float64 and thresholds.shape == (len(LABELS),)
    assert np.all(np.isfinite(thresholds)) and np.all((thresholds >= 0) & (thresholds <= 1))
    ranked = model.predict_emotions(TEXTS, threshold=0.0)
    assert [[label for label, _ in sorted(pairs)] for pairs in ranked] == [sorted(LABELS)] * 2
    assert model.predict(TEXTS).shape == (len(TEXTS), len(LABELS))
    _check_metadata_is_printable(model.metadata)
    return "loaded"


def _check_metadata_is_printable(metadata: dict) -> None:
    """What ``compare`` and the JSON outputs do with a loaded model's metadata."""
    row = {
        "model": "m",
        "tuned": {"macro_f1": 0.5, "micro_f1": 0.5},
        "at_0.2": {"macro_f1": 0.5, "micro_f1": 0.5},
        "macro_roc_auc": 0.5,
        "size_bytes": None,
        "texts_per_s": 1.0,
        "latency_p50_ms": 1.0,
        "fit_seconds": metadata.get("fit_seconds"),
    }
    format_comparison([row])
    json.dumps(metadata, default=str)
    seconds = metadata.get("fit_seconds")
    assert seconds is None or (math.isfinite(float(seconds)) and not isinstance(seconds, bool))
    for key in PER_LABEL_METADATA.keys() & metadata.keys():  # one F1 score per label
        assert len(metadata[key]) == len(LABELS)
        assert all(0 <= score <= 1 for score in metadata[key])


def _replaced(payload: dict, keys: tuple[str, ...], value, drop: bool) -> dict | None:
    """A copy of ``payload`` with one field replaced or dropped (``None``: no such field)."""
    changed = dict(payload)
    target = changed
    for key in keys[:-1]:
        if not isinstance(target.get(key), dict):
            return None
        target[key] = dict(target[key])
        target = target[key]
    if drop:
        target.pop(keys[-1], None)
    else:
        target[keys[-1]] = value
    return changed


def _mutate_field(saved, file_format, keys, value, drop) -> None:
    path, payload = _base(saved, file_format)
    changed = _replaced(payload, keys, value, drop)
    if changed is None:
        return
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / path.name
        if _write(changed, target, file_format):
            # The sidecar the model was saved with stays beside it, as after a real tampering.
            (Path(folder) / "lr.json").write_bytes(path.with_suffix(".json").read_bytes())
            event(_check_contract(target))


def _mutate_bytes(saved, file_format, cut: int, junk: bytes, keep_head: bool) -> None:
    path, _ = _base(saved, file_format)
    data = path.read_bytes()
    damaged = data[: cut % len(data)] + junk if keep_head else junk
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / path.name
        target.write_bytes(damaged)
        event(_check_contract(target))


# ---- the properties, at the default budget and under -m fuzz --------------------------------


@pytest.mark.parametrize("file_format", FORMATS)
@FAST
@given(keys=fields, value=values, drop=st.booleans())
def test_a_replaced_or_dropped_field_is_refused_or_harmless(saved, file_format, keys, value, drop):
    _mutate_field(saved, file_format, keys, value, drop)


@pytest.mark.parametrize("file_format", FORMATS)
@FAST
@given(cut=st.integers(min_value=0), junk=st.binary(max_size=64), keep_head=st.booleans())
def test_damaged_bytes_are_refused_in_one_line(saved, file_format, cut, junk, keep_head):
    _mutate_bytes(saved, file_format, cut, junk, keep_head)


@pytest.mark.fuzz
@pytest.mark.parametrize("file_format", FORMATS)
@FUZZ
@given(keys=fields, value=values, drop=st.booleans())
def test_fuzz_a_replaced_or_dropped_field(saved, file_format, keys, value, drop):
    _mutate_field(saved, file_format, keys, value, drop)


@pytest.mark.fuzz
@pytest.mark.parametrize("file_format", FORMATS)
@FUZZ
@given(cut=st.integers(min_value=0), junk=st.binary(max_size=64), keep_head=st.booleans())
def test_fuzz_damaged_bytes(saved, file_format, cut, junk, keep_head):
    _mutate_bytes(saved, file_format, cut, junk, keep_head)


@pytest.mark.parametrize("file_format", FORMATS)
@pytest.mark.parametrize(
    ("scores", "problem"),
    [
        ([0.5, 0.5], "it has 2"),
        ([0.5] * 4, "it has 4"),
        ([], "it has 0"),
        ([0.5, 1.5, 0.5], "F1 score 1 is 1.5"),
        ([0.5, 0.5, -0.1], "F1 score 2 is -0.1"),
    ],
)
def test_per_label_f1_scores_of_the_wrong_length_are_refused(saved, file_format, scores, problem):
    """``threshold_heldout_f1`` is checked like the thresholds: one F1 in [0, 1] per label."""
    path, payload = _base(saved, file_format)
    assert len(payload["metadata"]["threshold_heldout_f1"]) == len(LABELS)  # as fit writes it
    changed = _replaced(payload, ("metadata", "threshold_heldout_f1"), scores, drop=False)
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / path.name
        assert _write(changed, target, file_format)
        with pytest.raises(ModelError) as caught:
            load_model(target)
    assert str(caught.value) == (
        f"{target}: the model's metadata field 'threshold_heldout_f1' needs 3 F1 scores "
        f"between 0 and 1, one per label ({problem})"
    )


def test_the_unchanged_files_load(saved):
    """The starting point of every example satisfies the contract as it is."""
    for path, _ in saved.values():
        assert _check_contract(path) == "loaded"
