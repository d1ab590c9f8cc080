"""The packages import one way (cli > rgz > catalogs > claran, see docs/ARCHITECTURE.md) and no two modules
import each other, directly or round a longer loop. Imports are read from the source with ``ast``: module-level
and function-level ones alike (a lazy import is still a dependency), ``TYPE_CHECKING`` blocks excluded."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("claran", "catalogs", "rgz", "cli")  # low to high: each may import only those before it
RANK = {p: i for i, p in enumerate(PACKAGES)}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The project modules ``path`` imports (``from pkg import mod`` counts as ``pkg.mod`` when that is a module)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and _type_checking_only(node, parents):
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in modules else mod for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in modules:  # `import rgz.simulate.sky` -> rgz.simulate.sky; `os.path` -> none
                t = t.rpartition(".")[0]
            if t and t != name:
                out.add(t)
    return out


def import_graph() -> dict[str, set[str]]:
    files = [f for p in PACKAGES for f in (ROOT / p).rglob("*.py")]
    modules = {module_name(f) for f in files}
    return {module_name(f): imports_of(f, modules) for f in files}


def wrong_way(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{a} imports {b}" for a, deps in graph.items() for b in deps
                  if RANK[b.split(".")[0]] > RANK[a.split(".")[0]])


def test_layers_import_downwards_only():
    graph = import_graph()
    assert len(graph) > 60 and any(m.startswith("cli.") for m in graph)  # the walk found the project
    wrong = wrong_way(graph)
    assert not wrong, "wrong-way imports (allowed: " + " > ".join(reversed(PACKAGES)) + "):\n" + "\n".join(wrong)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _parent_packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """A package's ``__init__`` importing its own submodules is how Python packages re-export; that edge is not
    a dependency of the submodules on each other, so it is left out of the cycle check."""
    return {a: {b for b in deps if not b.startswith(a + ".")} for a, deps in graph.items()}


def test_no_import_cycles():
    cycles = _cycles(_parent_packages(import_graph()))
    assert not cycles, "import cycles between modules:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_checks_can_fail(tmp_path):
    """The walker sees relative, function-level and ``from pkg import module`` imports, and finds a cycle."""
    pkg = tmp_path / "rgz"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from . import b\n    import cli.main\n")
    (pkg / "b.py").write_text("from rgz.a import f\n")
    global ROOT
    old, ROOT = ROOT, tmp_path
    try:
        mods = {"rgz", "rgz.a", "rgz.b", "cli.main"}
        assert imports_of(pkg / "a.py", mods) == {"rgz.b", "cli.main"}
        assert imports_of(pkg / "b.py", mods) == {"rgz.a"}
        assert _cycles({"rgz.a": {"rgz.b", "cli.main"}, "rgz.b": {"rgz.a"}, "cli.main": set()}) == [["rgz.a", "rgz.b"]]
        assert wrong_way({"rgz.a": {"rgz.b", "cli.main"}, "catalogs.x": {"claran.y", "rgz.b"}}) == [
            "catalogs.x imports rgz.b", "rgz.a imports cli.main"]
    finally:
        ROOT = old


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_is_named_in_architecture_doc(package):
    """docs/ARCHITECTURE.md names every module by its path (a package's ``__init__`` by the folder)."""
    doc = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    files = sorted((ROOT / package).rglob("*.py"))
    names = [str(f.relative_to(ROOT).parent) + "/" if f.name == "__init__.py" else str(f.relative_to(ROOT))
             for f in files]
    missing = [n for n in names if n not in doc and n != package + "/"]
    assert not missing, f"modules not named in docs/ARCHITECTURE.md: {', '.join(missing)}"
