"""Find the scikit-learn estimators that emoclassic defines.

:func:`all_estimators` walks the package's modules, as
:func:`sklearn.utils.discovery.all_estimators` does for scikit-learn, so the
test suite can run scikit-learn's common checks on every estimator without a
hand-kept list that drifts.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterable

from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClusterMixin,
    RegressorMixin,
    TransformerMixin,
)

__all__ = ["all_estimators"]

_TYPE_MIXINS = {
    "classifier": ClassifierMixin,
    "regressor": RegressorMixin,
    "transformer": TransformerMixin,
    "cluster": ClusterMixin,
}


def all_estimators(
    type_filter: str | Iterable[str] | None = None,
) -> list[tuple[str, type[BaseEstimator]]]:
    """Return every public scikit-learn estimator class defined in emoclassic.

    The modules are imported on this call, not before. Private modules and
    classes (a name part starting with ``_``) and abstract classes are left
    out. A module whose optional dependency is missing (an extra that is not
    installed) is skipped; any other import error is raised.

    Parameters
    ----------
    type_filter : {"classifier", "regressor", "transformer", "cluster"} or list of them, optional
        Keep only estimators of these kinds; ``None`` keeps all.

    Returns
    -------
    list of (str, type)
        ``(class name, class)`` pairs, sorted by name.

    Examples
    --------
    >>> [name for name, _ in all_estimators("classifier")]
    ['NBLogisticBlend', 'PerLabelThresholdClassifier']
    """
    kinds = _kinds(type_filter)
    found: dict[str, type[BaseEstimator]] = {}
    for module in _public_modules():
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (
                cls.__module__ == module.__name__
                and not name.startswith("_")
                and issubclass(cls, BaseEstimator)
                and not inspect.isabstract(cls)
                and (not kinds or any(issubclass(cls, _TYPE_MIXINS[k]) for k in kinds))
            ):
                found[f"{cls.__module__}.{name}"] = cls
    return sorted(((cls.__name__, cls) for cls in found.values()), key=lambda pair: pair[0])


def _kinds(type_filter: str | Iterable[str] | None) -> list[str]:
    if type_filter is None:
        return []
    kinds = [type_filter] if isinstance(type_filter, str) else list(type_filter)
    unknown = sorted(set(kinds) - set(_TYPE_MIXINS))
    if unknown:
        raise ValueError(f"type_filter must be among {sorted(_TYPE_MIXINS)}, got {unknown}")
    return kinds


def _public_modules():
    """Import and yield emoclassic's public modules (no ``_``-prefixed part)."""
    package = importlib.import_module("emoclassic")
    for info in pkgutil.walk_packages(package.__path__, prefix="emoclassic."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        try:
            yield importlib.import_module(info.name)
        except ModuleNotFoundError as exc:  # an optional extra that is not installed
            if exc.name is None or exc.name.split(".")[0] == "emoclassic":
                raise
