"""The package's layers: which part may import which (DESIGN.md, README "Architecture").

Read from the source with ``ast`` (every import, including those inside functions and under
``TYPE_CHECKING``), so a new arrow pointing the wrong way fails here, not in review.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "planetbench"

KERNEL = {"errors", "registry", "config"}
#: Part → parts it may import (besides itself). A part is a subpackage or a root module.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "registry": {"errors"},
    "config": {"errors"},
    "stats": {"errors"},
    "capability": {"errors", "stats"},
    "store": KERNEL | {"stats"},
    "metrics": KERNEL,
    "tasks": KERNEL,
    "heads": KERNEL,
    "encoders": KERNEL | {"tasks"},
    "protocols": KERNEL | {"encoders", "heads", "tasks", "metrics", "stats"},
    "report": KERNEL | {"store", "stats", "capability", "metrics"},
    "embedding": KERNEL | {"protocols", "encoders", "tasks", "metrics", "store", "stats",
                           "report"},
    "runs": KERNEL | {"protocols", "encoders", "heads", "tasks", "metrics", "store", "stats"},
    "challenge": KERNEL | {"embedding", "protocols", "tasks", "metrics", "store", "stats",
                           "report"},
    "demo": KERNEL | {"embedding", "runs", "protocols", "encoders", "heads", "tasks", "metrics",
                      "store", "stats", "capability", "report", "testing"},
    "testing": KERNEL | {"encoders", "heads", "tasks", "metrics"},
    "testing_mars": KERNEL | {"tasks"},
    "cli": KERNEL | {"demo", "challenge", "runs", "embedding", "protocols", "encoders", "heads",
                     "tasks", "metrics", "store", "stats", "capability", "report", "testing"},
    "__init__": {"errors", "store"},
    "__main__": {"cli"},
}
#: Parts that must import without torch (pure NumPy/SciPy/pandas).
TORCH_FREE = ("stats", "capability", "store", "report", "config", "errors", "registry")
#: The public API's lazy names resolve to these modules (``planetbench.__getattr__``).
LAZY_TARGETS = {"embedding", "report", "demo"}


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).with_suffix("")
        yield ".".join(("planetbench", *rel.parts)), path


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(module: str, path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            yield node.lineno, name
            for alias in node.names:  # `from planetbench import stats` imports a part
                yield node.lineno, f"{name}.{alias.name}"


def _edges() -> list[tuple[str, int, str, str]]:
    """(module, line, imported module, imported part) for every planetbench-internal import."""
    known = {m for m, _ in _modules()} | {"planetbench"}
    out = []
    for module, path in _modules():
        for line, name in _imports(module, path):
            if not name.startswith("planetbench."):
                continue
            while name not in known and "." in name:
                name = name.rsplit(".", 1)[0]
            if name == "planetbench":
                continue
            out.append((module, line, name, _part(name)))
    return out


def test_every_part_is_declared() -> None:
    parts = {_part(m) for m, _ in _modules()}
    assert parts <= set(ALLOWED), f"declare the layer of {sorted(parts - set(ALLOWED))} here"


def test_imports_point_down_the_layers() -> None:
    wrong = [
        f"{module}:{line} imports {target} ({_part(module)} may not import {part})"
        for module, line, target, part in _edges()
        if part != _part(module) and part not in ALLOWED[_part(module)]
    ]
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles_between_modules() -> None:
    graph: dict[str, set[str]] = {}
    for module, _, target, _ in _edges():
        if target != module and not target.startswith(module + "."):  # a package → its modules
            graph.setdefault(module, set()).add(target)
    # Tarjan's strongly connected components.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in list(graph):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_the_public_api_points_only_at_allowed_parts() -> None:
    import planetbench

    targets = {module.split(".")[1] for module in planetbench._LAZY.values()}
    assert targets <= LAZY_TARGETS


@pytest.mark.parametrize("part", TORCH_FREE)
def test_pure_parts_import_without_torch(part: str) -> None:
    import subprocess
    import sys

    modules = [m for m, _ in _modules() if _part(m) == part]
    code = (
        "import sys, importlib\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch' or name.startswith('torch.'):\n"
        "            raise ImportError('torch is blocked in this test')\n"
        "sys.meta_path.insert(0, Block())\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
