"""Full-data runs of the reference recipes (minutes): ``pytest -m slow``."""

from __future__ import annotations

import json

import pytest

from conftest import run_cli

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("recipe, floor", [("lr", 0.38), ("nb", 0.10)])
def test_reference_recipe_on_full_goemotions(tmp_path, recipe, floor):
    result = run_cli("fit", recipe, "--no-progress", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    sidecar = json.loads((tmp_path / "models" / f"{recipe}.json").read_text())
    assert sidecar["data"]["sizes"] == {"train": 43410, "validation": 5426, "test": 5427}
    assert sidecar["metrics"]["test"]["tuned"]["macro_f1"] >= floor
    predicted = run_cli("predict", f"models/{recipe}.joblib", "Thank you so much!", cwd=tmp_path)
    assert predicted.returncode == 0 and predicted.stdout.strip()
