"""The package's shape: its modules import one another in one direction only.

The import graph is built statically from the source of every module under
``src/emoclassic``: each ``import emoclassic...`` and ``from ... import ...``,
absolute or relative, at the top of a module or inside a function (a lazy
import still ties the two modules together; it only delays the tie). Importing
``a.b`` also runs ``a/__init__.py``, but that implicit edge is left out: every
module would otherwise depend on its package, and the package ``__init__``
files name their submodules as strings for lazy import, not as imports.
"""

from __future__ import annotations

import ast
import itertools
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import emoclassic

PACKAGE_DIR = Path(emoclassic.__file__).parent
PACKAGE = "emoclassic"

#: (importer, imported) -> where the import is, as ``path:line``.
Edges = dict[tuple[str, str], str]


def module_files(package_dir: Path = PACKAGE_DIR) -> dict[str, Path]:
    """Map every module's dotted name to its file (a package to its ``__init__.py``)."""
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = (PACKAGE, *path.relative_to(package_dir).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """Return the longest prefix of ``name`` that is a module of the package."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_edges(modules: dict[str, Path]) -> Edges:
    """Find every import of one package module by another, anywhere in its source."""
    edges: Edges = {}
    root = modules[PACKAGE].parent
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        package = module if is_package else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str | None] = []
            if isinstance(node, ast.Import):
                targets = [_known(alias.name, modules) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # from . import x, from ..a import b
                    parts = package.split(".")
                    base = parts[: len(parts) - (node.level - 1)]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                for alias in node.names:
                    submodule = f"{source}.{alias.name}"
                    targets.append(submodule if submodule in modules else _known(source, modules))
            for target in targets:
                if target is not None and target != module:
                    where = f"{path.relative_to(root).as_posix()}:{node.lineno}"
                    edges.setdefault((module, target), where)
    return edges


def import_cycles(modules: list[str], edges: Edges) -> list[list[str]]:
    """Return one import cycle ``[a, b, ..., a]`` per group of modules that import each other.

    The groups are the strongly connected components of the graph (Tarjan's
    algorithm); an empty list means the graph has no cycle.
    """
    graph: dict[str, list[str]] = {module: [] for module in modules}
    for importer, imported in sorted(edges):
        graph[importer].append(imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def connect(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in graph[module]:
            if imported not in index:
                connect(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = set()
            while module not in group:
                group.add(stack.pop())
            if len(group) > 1:
                groups.append(group)

    for module in sorted(graph):
        if module not in index:
            connect(module)
    return [_cycle_in(sorted(group), graph) for group in groups]


def _cycle_in(group: list[str], graph: dict[str, list[str]]) -> list[str]:
    """Walk from the group's first module until a module repeats: that loop is a cycle."""
    members = set(group)
    path = [group[0]]
    while True:
        step = next(imported for imported in graph[path[-1]] if imported in members)
        if step in path:
            return [*path[path.index(step) :], step]
        path.append(step)


def describe(cycle: list[str], edges: Edges) -> str:
    """Write a cycle as one line per import: ``a (a.py:12) -> b``."""
    return "\n".join(
        f"  {importer} ({edges[importer, imported]}) imports {imported}"
        for importer, imported in itertools.pairwise(cycle)
    )


def test_the_graph_sees_every_kind_of_import(tmp_path):
    package = tmp_path / PACKAGE
    (package / "sub").mkdir(parents=True)
    for name in ("__init__.py", "base.py", "sub/__init__.py", "sub/low.py"):
        (package / name).write_text("")
    (package / "top.py").write_text("from emoclassic.sub import low\n")
    (package / "sub" / "mid.py").write_text(
        "from . import low\nfrom ..base import x\n\ndef later():\n    import emoclassic.top\n"
    )
    modules = module_files(package)
    edges = import_edges(modules)
    assert set(edges) == {
        ("emoclassic.top", "emoclassic.sub.low"),
        ("emoclassic.sub.mid", "emoclassic.sub.low"),
        ("emoclassic.sub.mid", "emoclassic.base"),
        ("emoclassic.sub.mid", "emoclassic.top"),
    }
    assert import_cycles(list(modules), edges) == []
    (package / "sub" / "low.py").write_text("def late():\n    from .mid import later\n")
    edges = import_edges(module_files(package))
    [cycle] = import_cycles(list(modules), edges)
    assert cycle in (
        ["emoclassic.sub.low", "emoclassic.sub.mid", "emoclassic.sub.low"],
        ["emoclassic.sub.mid", "emoclassic.sub.low", "emoclassic.sub.mid"],
    )
    assert "sub/low.py:2" in describe(cycle, edges)


def test_no_import_cycles():
    modules = module_files()
    assert "emoclassic.persistence" in modules and "emoclassic.cli._fit" in modules
    edges = import_edges(modules)
    cycles = import_cycles(list(modules), edges)
    assert not cycles, "import cycles in src/emoclassic:\n" + "\n\n".join(
        describe(cycle, edges) for cycle in cycles
    )


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        # The generator interface knows none of its implementations, nor the factory.
        (
            "emoclassic.augment.backend",
            {
                "emoclassic.augment.factory",
                "emoclassic.augment.hf_backend",
                "emoclassic.augment.llamacpp_backend",
                "emoclassic.augment.openai_backend",
            },
        ),
        # The model format and field rules sit below every model kind's saver and loader.
        (
            "emoclassic.model_format",
            {"emoclassic.model_fields", "emoclassic.persistence", "emoclassic.transformer.saving"},
        ),
        ("emoclassic.model_fields", {"emoclassic.persistence", "emoclassic.transformer.saving"}),
        # Report-building is library work: the library never reaches into the CLI.
        ("emoclassic.reporting", {"emoclassic.cli._fit", "emoclassic.cli._fit_transformer"}),
    ],
)
def test_lower_modules_import_nothing_built_on_them(lower, higher):
    modules = module_files()
    assert lower in modules and higher <= set(modules)
    edges = import_edges(modules)
    imported = {target for (importer, target) in edges if importer == lower}
    assert not imported & higher


def test_loading_a_classical_model_imports_no_deep_learning_library(tmp_path):
    code = textwrap.dedent(
        f"""
        import sys
        import emoclassic
        from emoclassic import load_model, make_nb_pipeline, save_model
        from emoclassic.model import SklearnEmotionModel

        pipe = make_nb_pipeline().fit(["good day", "bad day"], [[1, 0], [0, 1]])
        save_model(SklearnEmotionModel(pipe, ["joy", "anger"], [0.5, 0.5]),
                   {str(tmp_path / "nb.joblib")!r})
        load_model({str(tmp_path / "nb.joblib")!r}).predict_proba(["good"])
        print(sorted(name for name in ("torch", "transformers") if name in sys.modules))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# --- the library speaks in its own parameter names; only the CLI speaks in flags ---------

#: A command-line flag inside a message: ``--cv``, ``(--threshold-folds)``, ``'--limit'``.
FLAG = re.compile(r"(?:^|[\s(`'\"])--[a-z][a-z0-9-]*")
#: Calls whose text reaches the user: raising, warning and logging.
MESSAGE_CALLS = {"warn", "debug", "info", "warning", "error", "exception", "critical"}


def _message_strings(node: ast.AST) -> list[ast.Constant]:
    return [
        item
        for item in ast.walk(node)
        if isinstance(item, ast.Constant) and isinstance(item.value, str)
    ]


def flag_messages(path: Path) -> list[str]:
    """Return ``path:line: text`` for each message outside the CLI that names a flag."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Raise) and node.exc is not None:
            parts = _message_strings(node.exc)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in MESSAGE_CALLS
        ):
            parts = [p for arg in node.args for p in _message_strings(arg)]
        else:
            continue
        found += [f"{path}:{p.lineno}: {p.value!r}" for p in parts if FLAG.search(p.value)]
    return found


def test_the_flag_check_sees_raises_warnings_and_logs(tmp_path):
    source = tmp_path / "m.py"
    source.write_text(
        textwrap.dedent(
            """
            raise UsageError(f"--cv must be at least 2, got {cv}")
            warnings.warn("use --n-jobs 1 to see them")
            log.warning("skipped (%s); see '--limit'", x)
            raise InvalidParameter("cv", "must be at least 2")
            x = "--not-a-message"
            """
        )
    )
    assert [line.split(": ", 1)[0] for line in flag_messages(source)] == [
        f"{source}:2",
        f"{source}:3",
        f"{source}:4",
    ]


def test_no_message_outside_the_cli_names_a_command_line_flag():
    cli = PACKAGE_DIR / "cli"
    offenders = [
        line
        for path in sorted(PACKAGE_DIR.rglob("*.py"))
        if not path.is_relative_to(cli)
        for line in flag_messages(path)
    ]
    assert offenders == [], "\n".join(offenders)


# --- small functions ----------------------------------------------------------------------

#: The longest a function may be, in lines of code (its docstring excluded).
MAX_FUNCTION_LINES = 80


def function_lengths(path: Path) -> dict[str, int]:
    """Map ``path:line name`` of every function to its length without the docstring."""
    lengths = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        length = node.end_lineno - node.lineno + 1
        first = node.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            if isinstance(first.value.value, str):
                length -= first.end_lineno - first.lineno + 1
        lengths[f"{path}:{node.lineno} {node.name}"] = length
    return lengths


def test_function_lengths_leave_the_docstring_out(tmp_path):
    source = tmp_path / "m.py"
    source.write_text('def f():\n    """Doc\n\n    more.\n    """\n    return 1\n')
    assert function_lengths(source) == {f"{source}:1 f": 2}


def test_no_function_is_longer_than_80_lines():
    too_long = {
        name: length
        for path in sorted(PACKAGE_DIR.rglob("*.py"))
        for name, length in function_lengths(path).items()
        if length > MAX_FUNCTION_LINES
    }
    assert too_long == {}
