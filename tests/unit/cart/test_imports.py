"""The cart's modules import each other without a cycle (a function-local import counts: it
only hides the cycle until the function runs), and its layers point one way: the domain is
pure, the stores are SQL over the domain. The graph is read from the source with `ast`."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CART = ROOT / "services" / "cart"
PACKAGE = "services.cart"


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(package_dir: Path = CART, root: Path = ROOT) -> dict[str, Path]:
    return {module_name(p, root): p for p in sorted(package_dir.rglob("*.py"))}


def imported(path: Path, known: set[str]) -> set[str]:
    """The package's modules `path` imports anywhere in it (top level or inside functions),
    with the packages their import runs on the way."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # `a.b.c` runs a, a.b and a.b.c
                prefix = ".".join(parts[:i])
                if prefix in known and prefix != PACKAGE:
                    found.add(prefix)
    return found


def import_graph(package_dir: Path = CART, root: Path = ROOT) -> dict[str, set[str]]:
    mods = modules(package_dir, root)
    known = set(mods)
    return {name: imported(path, known) - {name} for name, path in mods.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cart_modules_import_each_other_without_a_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 30  # the walk found the package
    assert cycles(graph) == []


def test_a_cycle_hidden_in_a_function_is_found(tmp_path: Path) -> None:
    package = tmp_path / "services" / "cart"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "fulfilment.py").write_text("from services.cart import delivery\n")
    (package / "delivery.py").write_text(
        "def upload() -> None:\n    from services.cart.fulfilment import settle\n"
    )
    graph = import_graph(package, tmp_path)
    assert cycles(graph) == [["services.cart.delivery", "services.cart.fulfilment"]]


def top_level_imports(path: Path) -> set[str]:
    """The distributions a module imports anywhere in it (`asyncpg`, `shared`, ...)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_the_domain_is_pure_and_the_stores_are_sql_over_the_domain() -> None:
    io = {"asyncpg", "nats", "httpx", "litestar", "jinja2"}
    graph = import_graph()
    for name, path in modules().items():
        ours = graph[name]
        if name.startswith(f"{PACKAGE}.domain"):
            assert not top_level_imports(path) & io, f"{name} does I/O"
            outside = {m for m in ours if not m.startswith(f"{PACKAGE}.domain")}
            assert not outside, f"{name} imports {outside}"
        if name.endswith("store"):
            outside = {m for m in ours if not m.startswith(f"{PACKAGE}.domain")}
            assert not outside, f"the store {name} imports {outside}"
