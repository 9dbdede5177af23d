"""Bundle the official GoEmotions split as compressed package data.

Verifies every source file against the ``SHA256SUMS`` that ships with it, then
writes gzip copies (byte-identical once decompressed, with a fixed mtime so
the output is reproducible) plus the label list, the checksums and the README with the
attribution into ``src/emoclassic/resources/goemotions/``.

Usage::

    python tools/bundle_goemotions.py ../shared/data/goemotions
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import shutil
import sys
from pathlib import Path

SPLIT_FILES = ("train.tsv", "dev.tsv", "test.tsv")
TARGET = Path(__file__).resolve().parents[1] / "src" / "emoclassic" / "resources" / "goemotions"


def read_checksums(source: Path) -> dict[str, str]:
    """Return ``{file name: sha256}`` from ``source/SHA256SUMS``."""
    lines = (source / "SHA256SUMS").read_text().splitlines()
    return {
        name.strip(): digest for digest, name in (line.split(maxsplit=1) for line in lines if line)
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "source", type=Path, help="folder holding train/dev/test.tsv and SHA256SUMS"
    )
    args = parser.parse_args(argv)
    checksums = read_checksums(args.source)
    for name in (*SPLIT_FILES, "emotions.txt"):
        digest = hashlib.sha256((args.source / name).read_bytes()).hexdigest()
        if digest != checksums.get(name):
            print(f"error: {name} does not match SHA256SUMS", file=sys.stderr)
            return 1
    TARGET.mkdir(parents=True, exist_ok=True)
    for name in SPLIT_FILES:
        payload = (args.source / name).read_bytes()
        with (
            open(TARGET / f"{name}.gz", "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz,
        ):
            gz.write(payload)
    for name in ("emotions.txt", "SHA256SUMS", "README.md"):
        shutil.copyfile(args.source / name, TARGET / name)
    print(f"bundled GoEmotions into {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
