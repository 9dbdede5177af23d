"""Fit a recipe: grid search on train, per-label thresholds, an EmotionModel out.

The thresholds come from the validation split, or from out-of-fold
predictions on the training split (``thresholds_from="cross-validation"``,
the default of the ``best`` recipe): tens of thousands of held-out rows
instead of a few thousand, so a rare emotion's cut-off rests on far more
positives, and the validation split stays an unbiased check.

The vectorizer is cached across grid candidates (``Pipeline(memory=...)``), so
each fold's features are computed once rather than once per candidate.

The search runs through joblib, so it can leave the machine: with
``FitSettings(backend="dask")`` the candidate fits go to a Dask cluster
(``scheduler=ADDRESS``, or a local cluster on 127.0.0.1). Any other registered
joblib backend name works too, for example ``"ray"`` after
``ray.util.joblib.register_ray()`` or ``"spark"`` after
``joblibspark.register_spark()``.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold, ParameterGrid, PredefinedSplit

from emoclassic.datasets import EmotionDataset
from emoclassic.errors import DataError, InvalidParameter, first_line
from emoclassic.fit_runtime import collapsed_fit_warnings, fit_progress, joblib_backend
from emoclassic.model import SklearnEmotionModel
from emoclassic.pipelines import Recipe, get_recipe
from emoclassic.thresholds import PerLabelThresholdClassifier

__all__ = ["SCORINGS", "THRESHOLD_SOURCES", "FitSettings", "fit_model"]

logger = logging.getLogger(__name__)

SCORINGS = ("f1_micro", "f1_macro", "f1_samples", "f1_weighted")
THRESHOLD_SOURCES = ("validation", "cross-validation")


@dataclass(frozen=True)
class FitSettings:
    """How to run the search.

    Parameters
    ----------
    scoring : str, default="f1_micro"
        Grid-search metric (the reference recipe's); ``f1_macro`` ranks
        candidates differently and favours rare labels.
    cv : int, default=3
        Folds of the grid search.
    n_jobs : int or None, default=None
        Parallel fits of the grid search (joblib).
    seed : int, default=42
        Seed of the fold split and of the estimators.
    search : bool or None, default=None
        Run the recipe's grid (``True``) or fit its default parameters once
        (``False``); ``None`` follows the recipe's ``search_by_default``.
    progress : bool or None, default=None
        Show a progress bar; ``None`` shows it only on a terminal.
    backend : str or None, default=None
        joblib backend of the grid search. ``None``: joblib's default (local
        processes). ``"dask"``: a Dask cluster (needs the ``dask`` extra).
        Another name: a backend registered with joblib beforehand.
    scheduler : str or None, default=None
        With ``backend="dask"``: the scheduler address (``tcp://host:8786``);
        ``None`` starts a local cluster on 127.0.0.1 for the search.
    thresholds_from : {"validation", "cross-validation"} or None, default=None
        Where the per-label thresholds are chosen: on the validation split, or
        on out-of-fold predictions on the training split (the pipeline is
        then fitted ``threshold_folds`` more times). ``None`` follows the
        recipe's ``thresholds_from``.
    threshold_folds : int, default=5
        Folds of the out-of-fold predictions that choose the thresholds. More
        folds train each fold model on more rows, so its scores resemble the
        final model's more closely.
    synthetic_weight : float, default=1.0
        Weight of the generated rows of an augmented training split (its
        ``synthetic`` column) in every fit, through ``sample_weight``; the
        original rows weigh 1. ``0`` drops the generated rows altogether (so
        they do not shape the vocabulary either). Whatever the weight, the
        folds of the search and of the out-of-fold thresholds keep a
        generated row on the same side as the row it rewords.
    """

    scoring: str = "f1_micro"
    cv: int = 3
    n_jobs: int | None = None
    seed: int = 42
    search: bool | None = None
    progress: bool | None = None
    backend: str | None = None
    scheduler: str | None = None
    thresholds_from: str | None = None
    threshold_folds: int = 5
    synthetic_weight: float = 1.0

    def __post_init__(self):
        if self.scoring not in SCORINGS:
            raise InvalidParameter(
                "scoring", f"must be one of {', '.join(SCORINGS)}, got {self.scoring!r}"
            )
        if self.cv < 2:
            raise InvalidParameter("cv", f"must be at least 2, got {self.cv}")
        if self.threshold_folds < 2:
            raise InvalidParameter(
                "threshold_folds", f"must be at least 2, got {self.threshold_folds}"
            )
        if self.n_jobs == 0:
            raise InvalidParameter("n_jobs", "must not be 0 (-1 uses all cores)")
        if not 0.0 <= self.synthetic_weight:
            raise InvalidParameter(
                "synthetic_weight", f"must be 0 or more, got {self.synthetic_weight}"
            )
        if self.scheduler is not None and self.backend != "dask":
            raise InvalidParameter("scheduler", "is only used by the Dask backend")
        if self.thresholds_from not in (None, *THRESHOLD_SOURCES):
            raise InvalidParameter(
                "thresholds_from",
                f"must be one of {', '.join(THRESHOLD_SOURCES)}, got {self.thresholds_from!r}",
            )

    def searches(self, recipe: Recipe) -> bool:
        """Whether ``recipe``'s grid runs: ``search``, else the recipe's default.

        Examples
        --------
        >>> FitSettings().searches(get_recipe("best")), FitSettings(search=True).searches(
        ...     get_recipe("best"))
        (False, True)
        """
        search = recipe.search_by_default if self.search is None else self.search
        return bool(search and recipe.param_grid)

    def threshold_source(self, recipe: Recipe) -> str:
        """Where the thresholds are tuned: ``thresholds_from``, else the recipe's default.

        Examples
        --------
        >>> FitSettings().threshold_source(get_recipe("best"))
        'cross-validation'
        """
        return self.thresholds_from or recipe.thresholds_from


def fit_model(
    recipe: str | Recipe,
    dataset: EmotionDataset,
    settings: FitSettings | None = None,
) -> SklearnEmotionModel:
    """Fit a recipe on ``dataset.train`` and choose its per-label thresholds.

    Parameters
    ----------
    recipe : str or Recipe
        Recipe name (``"lr"``, ``"nb"``, ...) or object.
    dataset : EmotionDataset
        The train split is fitted; the thresholds come from the validation
        split or from out-of-fold predictions on train (see
        ``FitSettings.thresholds_from``). Test is never touched.
    settings : FitSettings, optional
        Search settings.

    Returns
    -------
    SklearnEmotionModel
        Wrapping a :class:`~emoclassic.thresholds.PerLabelThresholdClassifier`.
        ``metadata`` holds the recipe, best parameters, a CV summary, the
        threshold source, timings and the data fingerprint.

    Examples
    --------
    >>> import numpy as np
    >>> from emoclassic.datasets import EmotionDataset, EmotionSplit
    >>> texts = ["happy day", "sad day", "happy joy", "sad tears"] * 6
    >>> labels = np.array([[1, 0], [0, 1], [1, 0], [0, 1]] * 6, dtype=np.uint8)
    >>> split = EmotionSplit(texts, labels)
    >>> ds = EmotionDataset(("joy", "sadness"), {"train": split, "validation": split})
    >>> model = fit_model("nb", ds, FitSettings(progress=False))
    >>> model.metadata["best_params"]["clf__estimator__alpha"]
    0.1
    >>> model.predict(["happy"]).tolist()
    [[1, 0]]
    """
    settings = settings or FitSettings()
    recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
    train, validation = dataset.train, dataset.validation
    if settings.synthetic_weight == 0:
        train = train.originals()
    weights = train.sample_weights(settings.synthetic_weight)
    search = settings.searches(recipe)
    source = settings.threshold_source(recipe)
    on_validation = source == "validation"
    for folds, param, used in (
        (settings.cv, "cv", search),
        (settings.threshold_folds, "threshold_folds", not on_validation),
    ):
        if used and len(train) < folds:
            raise InvalidParameter(
                param, f"asks for {folds} folds, but there are only {len(train)} training rows"
            )
    pipeline = recipe.make(random_state=settings.seed)
    started = time.perf_counter()
    with (
        _texts_without_features(dataset),
        _sample_weight_routing(pipeline, weights is not None, recipe.name),
    ):
        if search:
            pipeline, search_summary = _grid_search(
                pipeline, recipe, train, settings, refit=on_validation, weights=weights
            )
        else:
            search_summary = {"searched": False}
            if on_validation:
                _fit_once(pipeline, train, settings.n_jobs, weights)
        if on_validation:
            tuned = PerLabelThresholdClassifier(pipeline, cv="prefit").fit(
                validation.texts, validation.labels
            )
        else:
            tuned = _fit_with_out_of_fold_thresholds(pipeline, train, settings, weights)
    _forget_requests(tuned)
    if on_validation:
        rule = "per-label thresholds tuned on the validation split (max F1 per label)"
    else:
        rule = (
            f"per-label thresholds tuned on {settings.threshold_folds}-fold out-of-fold "
            "predictions on the training split (max F1 per label)"
        )
    fit_seconds = time.perf_counter() - started
    metadata = {
        "recipe": recipe.name,
        "recipe_summary": recipe.summary,
        "best_params": search_summary.get("best_params", {}),
        "search": search_summary,
        "fit_seconds": round(fit_seconds, 3),
        "decision_rule": rule,
        "thresholds_from": source,
        "threshold_heldout_f1": [round(float(v), 6) for v in tuned.threshold_f1_],
        "seed": settings.seed,
        "data": dataset.provenance(),
    }
    if dataset.train.has_synthetic:
        metadata["synthetic_weight"] = settings.synthetic_weight
    return SklearnEmotionModel(tuned, dataset.label_names, tuned.thresholds_, metadata)


def _set_per_label_jobs(n_jobs: int | None, *pipelines) -> bool:
    """Set the ``clf`` step's ``n_jobs`` (parallel per-emotion fits) where it has one.

    Returns whether the pipelines have that parameter. Fitted models are saved
    with ``n_jobs=None``, so this is called again with ``None`` after a fit.
    """
    if "clf__n_jobs" not in pipelines[0].get_params():
        return False
    for pipeline in pipelines:
        pipeline.set_params(clf__n_jobs=n_jobs)
    return True


def _weight_params(weights: np.ndarray | None) -> dict:
    return {} if weights is None else {"sample_weight": weights}


@contextlib.contextmanager
def _sample_weight_routing(pipeline, enabled: bool, recipe: str) -> Iterator[None]:
    """Route ``sample_weight`` to the per-label classifiers while fitting (metadata routing).

    ``fit_model`` removes the requests from the fitted classifiers afterwards
    (:func:`_forget_requests`), so a saved model is the same kind of object as
    an unweighted one.
    """
    if not enabled:
        yield
        return
    import inspect

    import sklearn

    inner = pipeline.named_steps["clf"].estimator
    if "sample_weight" not in inspect.signature(inner.fit).parameters:
        raise InvalidParameter(
            "synthetic_weight", f"must be 1 or 0: recipe {recipe!r} cannot weight rows"
        )
    with sklearn.config_context(enable_metadata_routing=True):
        inner.set_fit_request(sample_weight=True)
        yield


def _forget_requests(tuned: PerLabelThresholdClassifier) -> None:
    """Drop the ``sample_weight`` requests from the fitted per-label classifiers."""
    for pipeline in (tuned.estimator, getattr(tuned, "estimator_", None)):
        if pipeline is None:
            continue
        clf = pipeline.named_steps["clf"]
        for estimator in (clf.estimator, *getattr(clf, "estimators_", ())):
            vars(estimator).pop("_metadata_request", None)


def _folds(train, n_splits: int, seed: int):
    """Shuffled K folds; with generated rows, grouped so a row and its rewordings stay together."""
    if not train.has_synthetic or train.groups is None:
        return KFold(n_splits, shuffle=True, random_state=seed)
    test_fold = np.empty(len(train), dtype=np.int64)
    grouped = GroupKFold(n_splits, shuffle=True, random_state=seed)
    for fold, (_, rows) in enumerate(grouped.split(train.texts, groups=train.groups)):
        test_fold[rows] = fold
    return PredefinedSplit(test_fold)


@contextlib.contextmanager
def _texts_without_features(dataset: EmotionDataset) -> Iterator[None]:
    """Turn scikit-learn's "empty vocabulary" (no text gives a feature) into one line."""
    try:
        yield
    except ValueError as exc:
        if "empty vocabulary" not in str(exc):
            raise
        raise DataError(
            f"{dataset.source}: the training texts give the recipe no features "
            f"({first_line(exc)}); they are too short, or only stop words"
        ) from None


def _fit_once(pipeline, train, n_jobs: int | None, weights: np.ndarray | None = None) -> None:
    """Fit the recipe's default parameters; ``n_jobs`` parallelises its per-label fits."""
    _set_per_label_jobs(n_jobs, pipeline)
    with collapsed_fit_warnings(parallel=n_jobs not in (None, 1)):
        pipeline.fit(train.texts, train.labels, **_weight_params(weights))
    _set_per_label_jobs(None, pipeline)


def _fit_with_out_of_fold_thresholds(
    pipeline, train, settings: FitSettings, weights: np.ndarray | None = None
):
    """Choose thresholds on out-of-fold scores, then refit on all of train.

    Each fold refits the whole pipeline, vectorizer included, so no held-out
    text shapes the features it is scored with.
    """
    folds = _folds(train, settings.threshold_folds, settings.seed)
    per_label_jobs = _set_per_label_jobs(settings.n_jobs, pipeline)  # inside each fold
    tuned = PerLabelThresholdClassifier(
        pipeline, cv=folds, n_jobs=None if per_label_jobs else settings.n_jobs
    )
    logger.info(
        "thresholds: %d out-of-fold fits, then one fit on all training rows",
        settings.threshold_folds,
    )
    with (
        fit_progress(settings.threshold_folds, settings.progress, "out-of-fold fits"),
        collapsed_fit_warnings(parallel=settings.n_jobs not in (None, 1)),
    ):
        tuned.fit(train.texts, train.labels, **_weight_params(weights))
    _set_per_label_jobs(None, tuned.estimator, tuned.estimator_)
    return tuned


def _grid_search(
    pipeline,
    recipe: Recipe,
    train,
    settings: FitSettings,
    refit: bool = True,
    weights: np.ndarray | None = None,
):
    """Run the recipe's grid; return the best pipeline (fitted only if ``refit``) and a summary."""
    folds = _folds(train, settings.cv, settings.seed)
    scoring = settings.scoring
    if weights is not None:  # candidates are ranked on unweighted held-out rows
        from sklearn.metrics import get_scorer

        scoring = get_scorer(scoring).set_score_request(sample_weight=False)
    n_candidates = len(ParameterGrid(recipe.param_grid))
    total = n_candidates * settings.cv
    logger.info(
        "grid search: %d candidates x %d folds = %d fits, scoring %s",
        n_candidates,
        settings.cv,
        total,
        settings.scoring,
    )
    with tempfile.TemporaryDirectory(prefix="emoclassic-cache-") as cache:
        search = GridSearchCV(
            pipeline.set_params(memory=cache),
            recipe.param_grid,
            scoring=scoring,
            cv=folds,
            n_jobs=settings.n_jobs if settings.backend is None else settings.n_jobs or -1,
            refit=refit,
            error_score="raise",
        )
        with (
            joblib_backend(settings.backend, settings.scheduler),
            fit_progress(total, settings.progress, "grid search"),
            collapsed_fit_warnings(
                parallel=settings.backend is not None or settings.n_jobs not in (None, 1)
            ),
        ):
            search.fit(train.texts, train.labels, **_weight_params(weights))
        if refit:
            best = search.best_estimator_.set_params(memory=None)
        else:
            best = clone(pipeline).set_params(memory=None, **search.best_params_)
    results = search.cv_results_
    candidates = [
        {
            "params": {k: _plain(v) for k, v in params.items()},
            "mean_score": round(float(mean), 6),
            "std_score": round(float(std), 6),
            "rank": int(rank),
        }
        for params, mean, std, rank in zip(
            results["params"],
            results["mean_test_score"],
            results["std_test_score"],
            results["rank_test_score"],
            strict=True,
        )
    ]
    summary = {
        "searched": True,
        "scoring": settings.scoring,
        "cv": settings.cv,
        "best_params": {k: _plain(v) for k, v in search.best_params_.items()},
        "best_score": round(float(search.best_score_), 6),
        "refit_seconds": round(float(search.refit_time_), 3) if refit else None,
        "candidates": candidates,
    }
    return best, summary


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value
