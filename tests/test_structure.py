"""The project's packages have no import cycle, no import inside a function hides one, and no module is
over 700 lines (the graph is read from the source)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("corpus", "analysis", "bot", "cli")
MAX_LINES = 700


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported(node: ast.Import | ast.ImportFrom, here: str, is_package: bool, known: set[str]) -> set[str]:
    """The modules of the package an import names: ``from p import x`` names ``p`` (it runs first) and ``p.x``
    when that is a module; ``import p.x`` names ``p.x``."""
    if isinstance(node, ast.Import):
        names = set()
        for alias in node.names:
            name = alias.name
            while name and name not in known:
                name = name.rpartition(".")[0]
            names.add(name)
        return names - {""}
    base = node.module or ""
    if node.level:
        anchor = here.split(".") if is_package else here.split(".")[:-1]
        base = ".".join(anchor[: len(anchor) - node.level + 1] + ([base] if base else []))
    return ({base} | {f"{base}.{alias.name}" for alias in node.names}) & known


def import_graph() -> tuple[dict[str, set[str]], list[tuple[str, str, int]]]:
    """Module -> the package's modules it imports (anywhere in it), and the imports made inside functions."""
    found = modules()
    edges: dict[str, set[str]] = {name: set() for name in found}
    in_functions = []
    for name, path in found.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        nested = {
            id(node)
            for function in ast.walk(tree)
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
            for node in ast.walk(function)
        }
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in imported(node, name, path.name == "__init__.py", set(found)) - {name}:
                    edges[name].add(target)
                    if id(node) in nested:
                        in_functions.append((name, target, node.lineno))
    return edges, in_functions


def reaches(edges: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        current = todo.pop()
        if current == goal:
            return True
        if current not in seen:
            seen.add(current)
            todo.extend(edges[current])
    return False


def test_no_import_cycle():
    edges, _ = import_graph()
    cycles = sorted({tuple(sorted((a, b))) for a in edges for b in edges[a] if reaches(edges, b, a)})
    assert cycles == [], f"modules importing each other, directly or not: {cycles}"


def test_no_import_inside_a_function_hides_a_cycle():
    edges, in_functions = import_graph()
    hiding = [f"{a}:{line} imports {b}" for a, b, line in in_functions if reaches(edges, b, a)]
    assert hiding == []


def test_no_module_is_over_700_lines():
    long = {name: n for name, path in modules().items() if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_the_bot_settings_load_without_the_bot():
    """`lnob doctor` reads `bot.config`; the package used to import the whole bot (6.6 s) on the way."""
    import subprocess
    import sys

    code = "import sys, bot.config, bot.links; print(sorted(m for m in ('bot.app', 'spacy', 'analysis.evidence') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"
