"""Grid search on a real Dask cluster (processes on 127.0.0.1) gives the local result."""

from __future__ import annotations

import json

import pytest

from conftest import local_cluster, run_cli
from emoclassic.datasets import load_goemotions
from emoclassic.training import FitSettings, fit_model

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # per-fit sklearn noise


@pytest.fixture(scope="module")
def small_goemotions():
    return load_goemotions().limit_train(300)


@pytest.fixture(scope="module")
def local_fit(small_goemotions):
    return fit_model("lr", small_goemotions, FitSettings(cv=2, progress=False))


def test_dask_cluster_search_matches_local(small_goemotions, local_fit):
    with (
        local_cluster() as cluster,
        distributed.Client(cluster) as client,
        distributed.get_task_stream(client) as tasks,
    ):
        settings = FitSettings(
            cv=2, progress=False, backend="dask", scheduler=cluster.scheduler_address
        )
        remote = fit_model("lr", small_goemotions, settings)
        workers = set(cluster.scheduler_info["workers"])
    assert len(workers) == 2
    assert tasks.data, "no task ran on the cluster"
    assert {task["worker"] for task in tasks.data} <= workers
    assert remote.metadata["best_params"] == local_fit.metadata["best_params"]
    assert remote.metadata["search"]["candidates"] == local_fit.metadata["search"]["candidates"]
    texts = ["thank you so much", "this is awful"]
    assert remote.predict_proba(texts).tolist() == local_fit.predict_proba(texts).tolist()


def test_cli_backend_dask_with_a_local_cluster(tmp_path, local_fit):
    result = run_cli(
        "fit", "lr", "--limit", "300", "--cv", "2", "--no-progress", "--backend", "dask",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    sidecar = json.loads((tmp_path / "models" / "lr.json").read_text())
    assert sidecar["best_params"] == local_fit.metadata["best_params"]


def test_cli_scheduler_errors_are_one_line(tmp_path):
    result = run_cli("fit", "lr", "--limit", "50", "--scheduler", "tcp://127.0.0.1:9", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "emoclassic: error: --scheduler is only used by the Dask backend"
    )
    result = run_cli(
        "fit", "lr", "--limit", "50", "--no-progress", "--backend", "dask",
        "--scheduler", "tcp://127.0.0.1:9", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("emoclassic: error: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    )
    assert not (tmp_path / "models").exists()
