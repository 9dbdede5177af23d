"""Atomic file and folder writes: write to a temporary sibling, then rename.

An interrupted write leaves the previous file (or nothing) in place, never a
half-written one. :func:`atomic_files` writes several files as one unit (a
model and its sidecar): either all of them are replaced or none is.
Temporaries are named ``.NAME.tmp-PID-*`` (and ``.NAME.old-PID*`` while a
folder is swapped or a file's previous content is kept for a roll-back): a
process killed with ``kill -9`` cannot clean up after itself, so the next
write to the same target removes the temporaries of writers that are no
longer running.

When :func:`atomic_path` or :func:`atomic_files` cannot commit (a full
disk, a read-only or locked target), the error is a one-line
:class:`~emoclassic.errors.EmoclassicError` naming the path, raised after the
roll-back and the removal of the temporaries, so no caller sees a raw
``OSError`` from the final rename.

The rules for the files a run touches live here too: an output must not be a
folder or a special file (:func:`check_output_file`), and an input must be a
regular file (:func:`check_input_file`, :func:`read_input_file`), never a
FIFO, a socket or a device, which would hang or never end.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from emoclassic.errors import DataError, EmoclassicError, UsageError

__all__ = [
    "atomic_files",
    "atomic_path",
    "atomic_write_text",
    "check_input_file",
    "check_not_an_input",
    "check_output_file",
    "check_replaceable_folder",
    "check_writable_parent",
    "read_input_file",
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

    Raises
    ------
    UsageError
        A file ``target`` that is a folder, or a folder ``target`` that
        emoclassic did not write (:func:`check_replaceable_folder`).
    EmoclassicError
        The temporary cannot be created, or the final rename fails (one line
        naming ``target``). After a failed rename the previous ``target`` is
        kept (a replaced folder is put back) and the temporary removed. An
        error raised by the caller's own writing inside the ``with`` block is
        not reworded: the temporary is removed and the error goes on as it is.
    """
    target = Path(target)
    if directory:
        check_replaceable_folder(target)
    elif target.is_dir():
        raise UsageError(f"{target}: is a folder; give a file path")
    tmp = _temporary(target, directory=directory)
    try:
        yield tmp
        _commit(tmp, target, directory=directory)
    except BaseException:
        _remove(tmp)
        raise


def _commit(tmp: Path, target: Path, *, directory: bool) -> None:
    """Rename the finished temporary over ``target``.

    Raises
    ------
    EmoclassicError
        The rename fails (one line naming ``target``); ``target`` is as it was.
    """
    try:
        if directory:
            _replace_folder(tmp, target)
        else:
            tmp.chmod(0o644)
            os.replace(tmp, target)
    except OSError as exc:
        raise EmoclassicError(
            f"{target}: cannot be written ({_reason(exc)}); no file was changed"
        ) from None


@contextlib.contextmanager
def atomic_files(*targets: str | Path) -> Iterator[list[Path]]:
    """Yield one temporary path per target; on success replace all targets, or none.

    The targets are replaced one after the other once every temporary is
    complete. The previous content of each target is kept (a hard link, or a
    copy where the file system has none) until the last one is in place: if
    a replacement fails, the targets already replaced get their previous
    content back (or are removed if they did not exist), so the files never
    end up mixed from two writes. No temporary is left behind.

    Parameters
    ----------
    *targets : str or Path
        Distinct files (a model and its sidecar, say).

    Yields
    ------
    list of Path
        The temporaries, in the order of ``targets``.

    Raises
    ------
    UsageError
        A target is a folder, or two targets are the same path.
    EmoclassicError
        A temporary cannot be created or a replacement fails; one line naming
        the path, after the roll-back.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_files(folder / "a.bin", folder / "a.json") as (tmp_a, tmp_json):
    ...     _ = tmp_a.write_bytes(b"model")
    ...     _ = tmp_json.write_text("{}")
    >>> sorted(p.name for p in folder.iterdir())
    ['a.bin', 'a.json']
    """
    paths = [Path(target) for target in targets]
    if len({os.path.abspath(path) for path in paths}) != len(paths):
        raise UsageError(f"{paths[0]}: the files of one write must be distinct")
    for path in paths:
        if path.is_dir():
            raise UsageError(f"{path}: is a folder; give a file path")
    temporaries: list[Path] = []
    try:
        for path in paths:
            temporaries.append(_temporary(path, directory=False))
        yield temporaries
        _replace_all(list(zip(temporaries, paths, strict=True)))
    finally:
        for tmp in temporaries:
            _remove(tmp)


def _temporary(target: Path, *, directory: bool) -> Path:
    """Create an empty temporary file (or folder) beside ``target``."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target)
        prefix = f".{target.name}.tmp-{os.getpid()}-"
        if directory:
            return Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
        fd, name = tempfile.mkstemp(prefix=prefix, dir=target.parent)
        os.close(fd)
        return Path(name)
    except OSError as exc:
        raise EmoclassicError(f"{target}: cannot be written ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    """Return the one-line reason of an ``OSError`` ("Permission denied")."""
    text = getattr(exc, "strerror", None) or str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _remove(path: Path) -> None:
    """Delete a temporary file or folder if it is still there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def _replace_folder(tmp: Path, target: Path) -> None:
    """Swap the finished folder ``tmp`` in; put the old ``target`` back if that fails."""
    tmp.chmod(0o755)
    if not target.exists():
        os.replace(tmp, target)
        return
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    os.replace(target, old)
    try:
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.replace(old, target)
        except OSError:
            raise EmoclassicError(
                f"{target}: cannot be written ({_reason(exc)}), and the previous folder could "
                f"not be put back: it is in {old}"
            ) from None
        raise
    shutil.rmtree(old, ignore_errors=True)


def _backup(target: Path) -> Path | None:
    """Keep ``target``'s current content under a temporary name (``None``: no target)."""
    if not os.path.lexists(target):
        return None
    backup = target.with_name(f".{target.name}.old-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        os.link(target, backup, follow_symlinks=False)
    except OSError:  # no hard links here (some network and FAT file systems): copy
        shutil.copy2(target, backup, follow_symlinks=False)
    return backup


def _replace_all(pairs: Sequence[tuple[Path, Path]]) -> None:
    """Move each temporary over its target; on any failure restore the replaced ones.

    Raises
    ------
    EmoclassicError
        One line naming the target that could not be written (and, should the
        roll-back fail too, where the previous content of a target is kept).
    """
    if not pairs:
        return
    done: list[tuple[Path, Path | None]] = []
    target = pairs[0][1]
    try:
        for tmp, target in pairs:
            tmp.chmod(0o644)
            backup = _backup(target)
            try:
                os.replace(tmp, target)
            except BaseException:
                if backup is not None:
                    _remove(backup)
                raise
            done.append((target, backup))
    except BaseException as exc:
        stuck = _roll_back(done)
        if not isinstance(exc, OSError) and stuck is None:
            raise
        message = f"{target}: cannot be written ({_reason(exc)})"
        if stuck is not None:
            restored, backup = stuck
            message += (
                f", and {restored} could not be removed"
                if backup is None
                else f", and {restored} could not be restored: its previous content is in {backup}"
            )
        raise EmoclassicError(
            message + ("" if stuck is not None else "; no file was changed")
        ) from None
    for _, backup in done:
        if backup is not None:
            with contextlib.suppress(OSError):
                backup.unlink()


def _roll_back(done: Sequence[tuple[Path, Path | None]]) -> tuple[Path, Path | None] | None:
    """Undo the replacements in ``done``; return a ``(target, backup)`` that could not be."""
    stuck = None
    for target, backup in reversed(done):
        try:
            if backup is None:
                target.unlink(missing_ok=True)
            else:
                os.replace(backup, target)
        except OSError:
            stuck = stuck or (target, backup)
    return stuck


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
    try:
        parent = next((p for p in (target.parent, *target.parent.parents) if p.exists()), Path("."))
    except OSError as exc:  # a name too long for the file system
        raise UsageError(f"{target}: cannot be written ({_reason(exc)})") from None
    if not parent.is_dir():
        raise UsageError(f"{target}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{target}: {parent} is not writable")


def names_a_folder(target: str | Path) -> bool:
    """Tell whether a path as typed names a folder: empty, or ending in a separator.

    ``pathlib.Path`` drops a trailing slash, so ask before converting.

    Examples
    --------
    >>> names_a_folder("models/"), names_a_folder(""), names_a_folder("models/lr.joblib")
    (True, True, False)
    """
    text = str(target)
    return not text or text.endswith(("/", os.sep))


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
    if names_a_folder(target):
        raise UsageError(f"{target}: names a folder; give a file path")
    try:
        is_folder = Path(target).is_dir()
        is_special = Path(target).exists() and not Path(target).is_file()
    except OSError as exc:  # a name too long for the file system
        raise UsageError(f"{target}: cannot be written ({_reason(exc)})") from None
    if is_folder:
        raise UsageError(f"{target}: is a folder; give a file path")
    if is_special:  # a FIFO or a device would be silently replaced by a regular file
        raise UsageError(f"{target}: exists and is not a regular file")
    check_writable_parent(target)
    _check_name_length(Path(target))


def check_not_foreign(target: str | Path, signature: bytes, kind: str) -> None:
    r"""Refuse to replace an existing file that does not start with ``signature``.

    An output of one kind (an HTML page, a PNG figure) may replace an earlier
    output of that kind, never another file given by mistake (a model, its
    sidecar, the data).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> model = pathlib.Path(tempfile.mkdtemp()) / "lr.joblib"
    >>> _ = model.write_bytes(b"\x80\x04 pickled model")
    >>> check_not_foreign(model, b"\x89PNG", "a PNG figure")
    Traceback (most recent call last):
    ...
    emoclassic.errors.UsageError: .../lr.joblib: exists and is not a PNG figure; refusing to ...
    """
    target = Path(target)
    if not target.is_file():
        return
    try:
        with target.open("rb") as handle:
            start = handle.read(len(signature))
    except OSError as exc:
        raise UsageError(f"{target}: cannot be read ({_reason(exc)})") from None
    if start != signature:
        raise UsageError(f"{target}: exists and is not {kind}; refusing to replace it")


#: Bytes a temporary or kept-back name adds to the target's: ``.NAME.tmp-PID-XXXXXXXX``.
_TEMPORARY_EXTRA = 24


def _check_name_length(target: Path) -> None:
    """Refuse a file name too long to leave room for its temporary sibling's name."""
    folder = next((p for p in (target.parent, *target.parent.parents) if p.exists()), Path("."))
    try:
        name_max = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):  # not known here: the common limit
        name_max = 255
    length = len(os.fsencode(target.name))
    if length + _TEMPORARY_EXTRA > name_max:
        raise UsageError(
            f"{target}: the file name is too long ({length} bytes; at most "
            f"{name_max - _TEMPORARY_EXTRA} leave room for the temporary written beside it)"
        )


def check_not_an_input(
    target: str | Path, *, files: Iterable[str | Path] = (), folders: Iterable[str | Path] = ()
) -> None:
    r"""Refuse an output path that would overwrite or mix into the input of the run.

    Call it before long work, with what the run reads. The rule:

    * the target must not be one of ``files`` (the same path, a symbolic link
      to one, or another hard link of one);
    * the target must not lie directly in one of ``folders``, where a new file
      could be read as data the next time (``train.json`` beside ``train.csv``);
      sub-folders (``DATA/models/``) are allowed;
    * a target folder must not be, or contain, an input file or folder (it
      would be replaced as a whole).

    Parameters
    ----------
    target : str or Path
        The file or folder about to be written.
    files : iterable of str or Path
        Files the run reads.
    folders : iterable of str or Path
        Folders the run reads files from.

    Raises
    ------
    UsageError
        One line naming ``target`` and the input it would hit.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> data = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (data / "train.csv").write_text("text,joy\nyay,1\n")
    >>> check_not_an_input(data / "models" / "lr.joblib", folders=[data])
    >>> check_not_an_input(data / "train.csv", files=[data / "train.csv"])
    Traceback (most recent call last):
    ...
    emoclassic.errors.UsageError: .../train.csv: is an input of this run; choose another output path
    """
    target = Path(target)
    resolved = target.resolve()
    identity = _identity(target)
    files = [Path(file) for file in files]
    for file in files:
        if resolved == file.resolve() or (identity is not None and identity == _identity(file)):
            raise UsageError(f"{target}: is an input of this run; choose another output path")
    folders = [Path(folder) for folder in folders]
    for item in [*folders, *map(Path, files)]:  # a target folder: replaced as a whole
        if item.resolve() == resolved:
            raise UsageError(f"{target}: is an input of this run; choose another output path")
        if item.resolve().is_relative_to(resolved):
            raise UsageError(f"{target}: holds the input {item}; choose another output path")
    for folder in folders:
        if resolved.parent == folder.resolve():
            raise UsageError(
                f"{target}: would be written into the input folder {folder}; "
                "choose a path outside it (a sub-folder such as models/ is fine)"
            )


def _identity(path: Path) -> tuple[int, int] | None:
    """``(device, inode)`` of the file ``path`` points to, or ``None`` if there is none."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino)


def atomic_write_text(target: str | Path, text: str) -> None:
    """Write ``text`` to ``target`` atomically (UTF-8).

    Raises
    ------
    UsageError
        ``target`` is a folder.
    EmoclassicError
        The file cannot be written (a full disk, a read-only folder): one line
        naming ``target``, which is as it was; no temporary is left behind.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> atomic_write_text(out, "café")
    >>> out.read_text(encoding="utf-8")
    'café'
    """
    with atomic_path(target) as tmp:
        try:
            tmp.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise EmoclassicError(
                f"{target}: cannot be written ({_reason(exc)}); no file was changed"
            ) from None


def check_input_file(path: str | Path, *, where: str | None = None) -> None:
    """Refuse an input that is missing, a folder, or not a regular file.

    A FIFO would block the reader until some other process writes to it, and a
    device such as ``/dev/zero`` never ends; both are refused without being
    opened. Call it before long work; :func:`read_input_file` checks again.

    Parameters
    ----------
    path : str or Path
        The file to read.
    where : str or None, default=None
        How messages name the file (default: ``path``).

    Raises
    ------
    DataError
        One line naming the file and the problem.

    Examples
    --------
    >>> check_input_file("/dev/null", where="texts.txt")
    Traceback (most recent call last):
    ...
    emoclassic.errors.DataError: texts.txt: not a regular file (a pipe, socket or device)
    """
    path = Path(path)
    where = str(path) if where is None else where
    try:
        if path.is_dir():
            raise DataError(f"{where}: is a folder, not a file")
        if not path.exists():
            raise DataError(f"{where}: no such file")
        if not path.is_file():
            raise DataError(f"{where}: not a regular file (a pipe, socket or device)")
    except OSError as exc:  # a name too long, a folder that cannot be searched
        raise DataError(f"{where}: cannot be read ({_reason(exc)})") from None


def read_input_file(path: str | Path, *, where: str | None = None) -> bytes:
    r"""Return the bytes of a regular file, refusing anything else without blocking.

    The file is opened without waiting for a writer and checked again once
    open, so a FIFO put in its place after :func:`check_input_file` is still
    refused rather than waited on.

    Parameters
    ----------
    path : str or Path
        The file to read.
    where : str or None, default=None
        How messages name the file (default: ``path``).

    Returns
    -------
    bytes
        The whole file (possibly empty).

    Raises
    ------
    DataError
        As :func:`check_input_file`, or the file cannot be opened or read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> text = pathlib.Path(tempfile.mkdtemp()) / "texts.txt"
    >>> _ = text.write_bytes(b"so happy\n")
    >>> read_input_file(text)
    b'so happy\n'
    """
    path = Path(path)
    where = str(path) if where is None else where
    check_input_file(path, where=where)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        descriptor = os.open(path, flags | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise DataError(f"{where}: cannot be read ({_reason(exc)})") from None
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise DataError(f"{where}: not a regular file (a pipe, socket or device)")
        try:
            return handle.read()
        except OSError as exc:
            raise DataError(f"{where}: cannot be read ({_reason(exc)})") from None
