"""Runtime plumbing of a fit: where joblib runs, a progress bar, and quieter warnings.

Kept apart from :mod:`emoclassic.training`, which decides what to fit: these
context managers only change how the fits run and what they print.

- :func:`joblib_backend` sends the enclosed joblib calls to a backend (a Dask
  cluster, or any backend registered with joblib);
- :func:`fit_progress` shows a tqdm bar that follows the grid search's fits;
- :func:`collapsed_fit_warnings` turns per-fit solver warnings into one log
  line each.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator

from emoclassic.errors import EmoclassicError, require

__all__ = ["collapsed_fit_warnings", "dask_client", "fit_progress", "joblib_backend"]

logger = logging.getLogger("emoclassic.training")


@contextlib.contextmanager
def joblib_backend(backend: str | None, scheduler: str | None) -> Iterator[None]:
    """Run the enclosed joblib calls on ``backend`` (``"dask"``: a Dask cluster)."""
    if backend is None:
        yield
        return
    from joblib import parallel_config

    if backend != "dask":
        with parallel_config(backend=backend):
            yield
        return
    with dask_client(scheduler) as client, parallel_config(backend="dask"):
        logger.info("grid search on the Dask scheduler at %s", client.scheduler.address)
        yield


@contextlib.contextmanager
def dask_client(scheduler: str | None) -> Iterator:
    """Connect a ``distributed.Client`` to ``scheduler``, or to a local cluster (127.0.0.1)."""
    distributed = require("distributed", "dask")
    if scheduler is None:
        cluster = distributed.LocalCluster(
            host="127.0.0.1",
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        )
        with cluster, distributed.Client(cluster) as client:
            yield client
        return
    try:
        client = distributed.Client(scheduler, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise EmoclassicError(
            f"cannot reach the Dask scheduler at {scheduler} ({type(exc).__name__})"
        ) from None
    with client:
        yield client


@contextlib.contextmanager
def collapsed_fit_warnings(parallel: bool = False) -> Iterator[None]:
    """Collapse repetitive per-fit warnings into one log line each; re-raise the rest.

    Two warnings repeat once per label and fit: a solver stopping at
    ``max_iter`` (common for the l1 penalty at large C) and a label with no
    positive example in a fold (common with ``--limit``). Fits in parallel
    workers cannot be counted from here; scikit-learn passes the caller's
    warning filters to its workers, so there they are silenced instead.
    """
    from sklearn.exceptions import ConvergenceWarning

    action = "ignore" if parallel else "always"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter(action, ConvergenceWarning)
        warnings.filterwarnings(action, message=".*is present in all training examples")
        yield
    if parallel:
        logger.debug("per-fit solver warnings of parallel fits are not shown (n_jobs=1 shows them)")
    not_converged = absent = 0
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            not_converged += 1
        elif "is present in all training examples" in str(w.message):
            absent += 1
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if not_converged:
        logger.warning(
            "%d solver fit(s) stopped at max_iter before converging; "
            "their candidates are scored as they are",
            not_converged,
        )
    if absent:
        logger.warning(
            "%d fit(s) saw a label with no positive (or no negative) training example; "
            "such a label gets a constant score",
            absent,
        )


@contextlib.contextmanager
def fit_progress(total: int, enabled: bool | None, description: str) -> Iterator[None]:
    """Show a tqdm bar that follows the grid search's joblib tasks.

    joblib reports completed tasks through ``Parallel.print_progress`` in the
    calling process, for the sequential and the process backends alike. The
    bar follows the outermost ``Parallel`` call made while it is active (the
    grid search), not the nested one-vs-rest fits.

    joblib offers no progress hook for both paths (its sequential path calls
    no backend method per task), so for the duration of the block this wraps
    ``Parallel.__call__`` and ``Parallel.print_progress``, process-wide, and
    restores them on exit. scikit-learn 1.9's callback API
    (``sklearn.callback.ProgressBar``) is the way out once the minimum
    scikit-learn version has it.
    """
    from joblib import Parallel
    from tqdm.auto import tqdm

    disable = None if enabled is None else not enabled
    bar = tqdm(total=total, desc=description, unit="fit", disable=disable)
    original_call, original_progress = Parallel.__call__, Parallel.print_progress
    active: list[int] = []
    outermost: list[int] = []

    def call(self, iterable):
        if not active and not outermost:
            outermost.append(id(self))
        active.append(id(self))
        try:
            return original_call(self, iterable)
        finally:
            active.pop()

    def print_progress(self):
        original_progress(self)
        if outermost and outermost[0] == id(self):
            bar.n = min(self.n_completed_tasks, total)
            bar.refresh()

    Parallel.__call__, Parallel.print_progress = call, print_progress
    try:
        yield
    finally:
        Parallel.__call__, Parallel.print_progress = original_call, original_progress
        bar.close()
