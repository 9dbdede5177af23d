"""Exceptions that carry a message meant for the user.

The command line prints these as one line on stderr and exits non-zero; any
other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class EmoclassicError(Exception):
    """Base class for errors caused by the user's input, not by a bug."""

    exit_code = 1


class DataError(EmoclassicError):
    """A dataset could not be read or does not have the expected shape.

    Examples
    --------
    >>> raise DataError("train.csv: no 'text' column")
    Traceback (most recent call last):
    ...
    emoclassic.errors.DataError: train.csv: no 'text' column
    """


class ModelError(EmoclassicError):
    """A saved model is missing, corrupt, untrusted or from an incompatible version."""


class UsageError(EmoclassicError):
    """An argument has an invalid value (exit code 2, like argparse)."""

    exit_code = 2


class InvalidParameter(UsageError):
    """A parameter of a library function or class has an invalid value.

    The message names the parameter as the library spells it (``cv``,
    ``threshold_folds``); the command line shows the matching flag instead
    (``--cv``, ``--threshold-folds``), through one mapping in ``cli/_common``.

    Parameters
    ----------
    param : str
        The parameter's name in the library.
    problem : str
        What is wrong with its value, as the rest of a sentence that starts
        with the parameter's name.

    Examples
    --------
    >>> error = InvalidParameter("cv", "must be at least 2, got 1")
    >>> str(error)
    'cv must be at least 2, got 1'
    >>> error.param, error.problem
    ('cv', 'must be at least 2, got 1')
    """

    def __init__(self, param: str, problem: str) -> None:
        super().__init__(f"{param} {problem}")
        self.param = param
        self.problem = problem

    def __reduce__(self):
        return type(self), (self.param, self.problem)


class MissingDependencyError(EmoclassicError):
    """An optional extra is needed for this feature and is not installed."""


def first_line(exc: BaseException) -> str:
    r"""Return the first line of an exception's message, or its type name when it has none.

    Third-party libraries raise long, multi-line errors; a one-line error message
    quotes only their first line.

    Examples
    --------
    >>> first_line(ValueError("bad value\nmore detail"))
    'bad value'
    >>> first_line(KeyError())
    'KeyError'
    """
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def require(module: str, extra: str):
    """Import an optional dependency or raise a one-line install hint.

    Parameters
    ----------
    module : str
        Importable module name, for example ``"transformers"``.
    extra : str
        The emoclassic extra that provides it, for example ``"transformer"``.

    Returns
    -------
    module
        The imported module.

    Examples
    --------
    >>> require("json", "core").__name__
    'json'
    >>> require("not_a_real_module_xyz", "plots")
    Traceback (most recent call last):
    ...
    emoclassic.errors.MissingDependencyError: this feature needs 'not_a_real_module_xyz': pip install 'emoclassic[plots]'
    """  # noqa: E501
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"this feature needs {module!r}: pip install 'emoclassic[{extra}]'"
        ) from exc
