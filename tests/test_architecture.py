"""The house rules of the code layout, checked: no import cycle anywhere in the project, and an
import inside a function only with a comment saying why (the dependency rule between apps is
import-linter's, in `make lint`)."""

import ast
import pathlib

import grimp
import pytest
from django.apps import apps

from tests.ours import our_apps

ROOT = pathlib.Path(__file__).resolve().parent.parent
OURS = ["config", *our_apps()]


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules that import each other, directly or not (Tarjan's strongly connected
    components, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        found.append(sorted(group))
    return found


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_of_ours_imports_itself_round_a_circle():
    graph = grimp.build_graph(*OURS, include_external_packages=False)
    edges = {module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules}
    assert _cycles(edges) == []


def _function_imports_without_reason(path: pathlib.Path) -> list[str]:
    source = path.read_text()
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if not isinstance(inner, ast.Import | ast.ImportFrom):
                continue
            line = inner.lineno - 1
            if "#" in lines[line]:
                continue
            # A comment above the run of imports (and blank lines) this one belongs to.
            above = line - 1
            while above >= 0 and (not lines[above].strip() or lines[above].lstrip().startswith(("from ", "import "))):
                above -= 1
            if above < 0 or not lines[above].lstrip().startswith("#"):
                found.append(f"{path.relative_to(ROOT)}:{inner.lineno}")
    return found


def test_an_import_inside_a_function_says_why():
    offenders = []
    for package in OURS:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                offenders += _function_imports_without_reason(path)
    assert offenders == []


def test_the_checker_catches_an_unexplained_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "def f():\n    import os\n\n    return os\n\n\ndef g():\n    # why\n    import os\n\n    return os\n"
    )
    assert [hit.rsplit(":", 1)[1] for hit in _function_imports_without_reason_at(module)] == ["2"]


def _function_imports_without_reason_at(path: pathlib.Path) -> list[str]:
    global ROOT
    saved, ROOT = ROOT, path.parent
    try:
        return _function_imports_without_reason(path)
    finally:
        ROOT = saved


@pytest.mark.parametrize("label", OURS[1:])
def test_each_app_says_what_it_owns_and_what_it_may_import(label):
    doc = type(apps.get_app_config(label)).__doc__ or ""
    assert "import" in doc.lower() and len(doc) > 80, f"{label}'s AppConfig docstring: what it owns, what it may import"
