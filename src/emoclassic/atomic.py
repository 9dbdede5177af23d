"""Atomic file and folder writes: write to a temporary sibling, then rename.

An interrupted write leaves the previous file (or nothing) in place, never a
half-written one. Temporaries are named ``.NAME.tmp-PID-*`` (and
``.NAME.old-PID`` while a folder is swapped): a process killed with
``kill -9`` cannot clean up after itself, so the next write to the same
target removes the temporaries of writers that are no longer running.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from emoclassic.errors import EmoclassicError, UsageError

__all__ = [
    "atomic_path",
    "atomic_write_text",
    "check_output_file",
    "check_replaceable_folder",
    "check_writable_parent",
    "remove_stale_temporaries",
]


@contextlib.contextmanager
def atomic_path(target: str | Path, *, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it over ``target`` on success.

    Parameters
    ----------
    target : str or Path
        Final file or folder.
    directory : bool, default=False
        Yield an empty temporary folder instead of a file path. An existing
        ``target`` folder is replaced only once the new one is complete.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "model.bin"
    >>> with atomic_path(out) as tmp:
    ...     _ = tmp.write_bytes(b"ok")
    >>> out.read_bytes()
    b'ok'
    """
    target = Path(target)
    if directory:
        check_replaceable_folder(target)
    elif target.is_dir():
        raise UsageError(f"{target}: is a folder; give a file path")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target)
        prefix = f".{target.name}.tmp-{os.getpid()}-"
        if directory:
            tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
        else:
            fd, name = tempfile.mkstemp(prefix=prefix, dir=target.parent)
            os.close(fd)
            tmp = Path(name)
    except OSError as exc:
        raise EmoclassicError(f"{target}: cannot be written ({exc.strerror or exc})") from None
    try:
        yield tmp
        if directory and target.exists():
            tmp.chmod(0o755)
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.chmod(0o755 if directory else 0o644)
            os.replace(tmp, target)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


def remove_stale_temporaries(target: str | Path) -> list[Path]:
    """Delete the temporaries beside ``target`` left by writers that died.

    Returns
    -------
    list of Path
        What was removed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> (folder / ".data.tmp-999999999-abc").mkdir()
    >>> [p.name for p in remove_stale_temporaries(folder / "data")]
    ['.data.tmp-999999999-abc']
    """
    target = Path(target)
    removed = []
    if not target.parent.is_dir():
        return removed
    for kind in ("tmp", "old"):
        for path in target.parent.glob(f".{glob.escape(target.name)}.{kind}-*"):
            pid = path.name[len(f".{target.name}.{kind}-") :].split("-", 1)[0]
            if not pid.isdigit() or _alive(int(pid)):
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


#: Files that mark a folder as emoclassic output, which a new run may replace.
REPLACEABLE_MARKERS = ("emoclassic.json", "dataset_dict.json")


def check_replaceable_folder(target: str | Path) -> None:
    """Refuse to replace a file, or a non-empty folder that emoclassic did not write.

    :func:`atomic_path` runs this check itself; call it early to fail before
    long work rather than after it.
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target}: exists and is not a folder")
    if target.is_dir() and any(target.iterdir()):
        if not any((target / marker).exists() for marker in REPLACEABLE_MARKERS):
            raise UsageError(
                f"{target}: is a non-empty folder that emoclassic did not write; "
                "choose another output path"
            )


def check_writable_parent(target: str | Path) -> None:
    """Refuse a target whose nearest existing ancestor is not a writable folder.

    :func:`atomic_path` creates missing parent folders, so what must be
    writable is the closest one that already exists. Call it before long work.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> check_writable_parent(folder / "new" / "model.joblib")
    >>> (folder / "file").write_text("x")
    1
    >>> check_writable_parent(folder / "file" / "model.joblib")
    Traceback (most recent call last):
    ...
    emoclassic.errors.UsageError: .../file/model.joblib: .../file is not a folder
    """
    target = Path(target)
    parent = next((p for p in (target.parent, *target.parent.parents) if p.exists()), Path("."))
    if not parent.is_dir():
        raise UsageError(f"{target}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{target}: {parent} is not writable")


def check_output_file(target: str | Path) -> None:
    """Refuse a file target that is a folder, or whose parent cannot be written.

    Examples
    --------
    >>> import tempfile
    >>> check_output_file(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    emoclassic.errors.UsageError: ...: is a folder; give a file path
    """
    if Path(target).is_dir():
        raise UsageError(f"{target}: is a folder; give a file path")
    check_writable_parent(target)


def atomic_write_text(target: str | Path, text: str) -> None:
    """Write ``text`` to ``target`` atomically (UTF-8)."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
