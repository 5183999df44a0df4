"""The package keeps the shape the README's "Where things live" promises: no import
cycles, Elasticsearch reached only through store/, Airflow only through tasks.py (and
the channels' connection lookup), and pipeline.tasks cheap to import at DAG parse time."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.support import REPO

PACKAGE = REPO / "pipeline"
# The task functions, Airflow connections for channels, and Airflow's login in front of
# the plugin's app.
AIRFLOW_MODULES = {
    "pipeline/tasks.py",
    "pipeline/channels/connections.py",
    "pipeline/web/airflow_login.py",
}


def _modules() -> dict[str, ast.Module]:
    return {
        str(path.relative_to(REPO)): ast.parse(path.read_text())
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def _module_name(path: str) -> str:
    name = path.removesuffix(".py").replace("/", ".")
    return name.removesuffix(".__init__")


def _imports(tree: ast.Module) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_import_cycles() -> None:
    modules = {_module_name(path): tree for path, tree in _modules().items()}
    graph = {name: _imports(tree) & modules.keys() - {name} for name, tree in modules.items()}
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        assert name not in visiting, " -> ".join([*visiting[visiting.index(name) :], name])
        if name in done:
            return
        visiting.append(name)
        for target in sorted(graph[name]):
            visit(target)
        visiting.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


def test_only_store_calls_elasticsearch() -> None:
    """Outside store/, code passes the client on but calls none of its methods."""
    for path, tree in _modules().items():
        if path.startswith("pipeline/store/"):
            continue
        assert "elasticsearch.helpers" not in _imports(tree), path
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "es"
            ):
                raise AssertionError(f"{path}:{node.lineno} calls es.{node.attr}")


def test_only_tasks_and_connections_import_airflow() -> None:
    for path, tree in _modules().items():
        uses_airflow = any(name.split(".")[0] == "airflow" for name in _imports(tree))
        assert not uses_airflow or path in AIRFLOW_MODULES, path


def test_dag_parse_imports_nothing_heavy() -> None:
    """DAG files import pipeline.tasks at parse time: it must not pull in the clients,
    extraction or dedup (each costs a second or more per Airflow task start)."""
    heavy = ("elasticsearch", "airflow", "datasketch", "scipy", "trafilatura", "httpx")
    code = (
        "import sys, pipeline.tasks\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.strip() == "[]"


def test_every_package_says_what_it_holds() -> None:
    for init in sorted(Path(PACKAGE).rglob("__init__.py")):
        tree = ast.parse(init.read_text())
        assert ast.get_docstring(tree), init
