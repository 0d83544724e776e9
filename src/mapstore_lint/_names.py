"""What the names of one module refer to, from its imports: ``pub`` → ``mapstore_core.create_...``.

Relative imports are resolved against the module's package when it is known (``lint_paths``
derives it from the ``__init__.py`` files around each file). ``from mapstore_core import *``
makes every bare name a candidate mapstore name.
"""

from __future__ import annotations

import ast

__all__ = ["ImportedNames"]


class ImportedNames:
    """The import table of one module, filled statement by statement."""

    __slots__ = ("package", "star_mapstore", "table")

    def __init__(self, package: str | None) -> None:
        self.package = package
        self.table: dict[str, str] = {}
        """Local name → the dotted name it was imported as."""
        self.star_mapstore = False
        """Whether the module did ``from mapstore_core import *`` (or from a submodule)."""

    def add(self, stmt: ast.Import | ast.ImportFrom) -> None:
        """Record what an import statement binds."""
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    self.table[alias.asname] = alias.name
                else:
                    top = alias.name.split(".", 1)[0]
                    self.table[top] = top
            return
        module = "." * stmt.level + (stmt.module or "")
        if stmt.level and self.package is not None:
            parts = self.package.split(".") if self.package else []
            if stmt.level - 1 <= len(parts):
                parts = parts[: len(parts) - (stmt.level - 1)]
                module = ".".join([*parts, stmt.module] if stmt.module else parts)
        for alias in stmt.names:
            if alias.name == "*":
                if module == "mapstore_core" or module.startswith("mapstore_core."):
                    self.star_mapstore = True
                continue
            self.table[alias.asname or alias.name] = f"{module}.{alias.name}"

    def imports_mapstore(self) -> bool:
        """Whether an import recorded so far is of ``mapstore_core`` or one of its modules."""
        return self.star_mapstore or any(
            name == "mapstore_core" or name.startswith("mapstore_core.")
            for name in self.table.values()
        )

    def qualname(self, node: ast.expr) -> str | None:
        """The dotted name an expression refers to (``pkg.widgets.Chart``), if imports tell.

        An attribute chain is followed in a loop: thousands of ``.a`` are no deeper to read.
        """
        attrs: list[str] = []
        while isinstance(node, ast.Attribute):
            attrs.append(node.attr)
            node = node.value
        base = self.table.get(node.id) if isinstance(node, ast.Name) else None
        return None if base is None else ".".join([base, *reversed(attrs)])

    def mapstore_name(self, node: ast.expr) -> str | None:
        """The mapstore_core name ``node`` refers to (``create_widget_publisher``), if any."""
        qualified = self.qualname(node)
        if qualified is None:
            if self.star_mapstore and isinstance(node, ast.Name):
                return node.id
            return None
        if qualified.startswith("mapstore_core."):
            return qualified.rsplit(".", 1)[1]
        return None
