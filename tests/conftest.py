"""Shared fixtures: small made-up datasets whose outcomes are known exactly."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emoclassic.datasets import EmotionDataset, EmotionSplit

JOY = ["so happy today", "what a joy", "happy happy day", "love this joy", "great happy news"]
ANGER = ["so angry now", "this is infuriating", "angry and mad", "mad at you", "furious angry rant"]
FEAR = ["so scared now", "terrified of this", "scary and afraid", "afraid of the dark", "fear it"]


def toy_rows(repeat: int = 4) -> list[tuple[str, list[str]]]:
    """Texts with their label names; every text is unique."""
    rows = []
    for r in range(repeat):
        rows += [(f"{t} {r}", ["joy"]) for t in JOY]
        rows += [(f"{t} {r}", ["anger"]) for t in ANGER]
        rows += [(f"{t} {r}", ["fear"]) for t in FEAR]
        rows.append((f"happy but scared {r}", ["joy", "fear"]))
    return rows


LABELS = ("anger", "fear", "joy")


def toy_split(repeat: int = 4) -> EmotionSplit:
    rows = toy_rows(repeat)
    matrix = np.array([[int(name in labels) for name in LABELS] for _, labels in rows], np.uint8)
    return EmotionSplit([text for text, _ in rows], matrix)


@pytest.fixture
def toy_dataset() -> EmotionDataset:
    return EmotionDataset(
        LABELS,
        {"train": toy_split(4), "validation": toy_split(2), "test": toy_split(2)},
        source="toy",
    )


def write_csv_split(path: Path, rows) -> None:
    lines = ["id,text,anger,fear,joy"]
    for i, (text, labels) in enumerate(rows):
        lines.append(f"{i},{text}," + ",".join(str(int(n in labels)) for n in LABELS))
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def csv_folder(tmp_path) -> Path:
    """SemEval-2025 Task 11 layout: id,text and one 0/1 column per label."""
    folder = tmp_path / "semeval"
    folder.mkdir()
    write_csv_split(folder / "train.csv", toy_rows(4))
    write_csv_split(folder / "dev.csv", toy_rows(2))
    write_csv_split(folder / "test.csv", toy_rows(2))
    return folder


def emoclassic_command() -> list[str]:
    """The installed console script (next to this interpreter)."""
    script = Path(sys.executable).with_name("emoclassic")
    if script.exists():
        return [str(script)]
    found = shutil.which("emoclassic")
    if found is None:
        pytest.skip("the emoclassic command is not installed")
    return [found]


def run_cli(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run(
        [*emoclassic_command(), *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def local_cluster():
    """A real two-worker Dask cluster on 127.0.0.1 (processes, one thread each)."""
    import distributed

    return distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
