"""The per-file analysis behind ``mapstore-lint``: the registration guide's rules on an AST.

Speed comes from not walking what cannot matter. Every rule starts at a registration call
(``create_widget_publisher``, ``register_producer``, ``create_job_widget_bridge``), so the
source bytes are first searched for those names: a file without them is only parsed. In a
file with them, the walk descends only into the statements whose line range holds such a
name, carrying what the rules need (enclosing class and function, loop, ``if`` branch). The
cleanup evidence for a kept producer (a ``close()``, a ``with``, being handed on) is found
the same way, from the lines that mention the name it was kept under.
"""

from __future__ import annotations

import ast
import re
import tokenize
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from io import BytesIO
from typing import Literal, NamedTuple

from mapstore_core._ids import is_non_descriptive
from mapstore_lint._rules import PARSE_ERROR, RULES, LintSeverity

__all__ = [
    "WIDGET_CHANNELS",
    "ClassFact",
    "FileResult",
    "Finding",
    "PendingWidgetCheck",
    "check_source",
    "lint_source",
    "resolve_across_files",
]

WIDGET_CHANNELS: dict[str, str] = {
    "PARAGRAPH_CONTENT": "paragraph-content",
    "TABLE_DATA": "table-data",
    "METRIC_DATA": "metric-data",
}
"""``WidgetChannels`` members and their values (a test keeps this equal to the enum)."""

_WIDGET_VALUES = {value: member for member, value in WIDGET_CHANNELS.items()}

_NOQA = re.compile(
    r"#\s*noqa(?::\s*(?P<codes>[A-Za-z0-9_-]+(?:[\s,]+[A-Za-z0-9_-]+)*))?", re.IGNORECASE
)
_CLOSE_AFTER = re.compile(rb"[\s)\]]*\.\s*(?:close|clear|disconnect)\b")
_LITERALS = (
    b"register_producer",
    b"create_widget_publisher",
    b"create_job_widget_bridge",
    b"define_channel",
)
_ALIAS_IMPORT = re.compile(
    rb"\b(?:create_widget_publisher|create_job_widget_bridge|define_channel)\s+as\s+(\w+)"
)
_FACTORY_WORDS = (b"create_widget_publisher", b"create_job_widget_bridge", b"define_channel")
_CLEANUP = frozenset({"close", "clear", "disconnect"})
_FRAME_METHODS = frozenset({"render", "render_line", "render_lines", "compose"})
_TEXTUAL_WIDGET_MODULES = (
    "textual.widget",
    "textual.widgets",
    "textual.containers",
    "textual.screen",
    "textual.scroll_view",
)
_FACTORIES = {
    "create_widget_publisher": "widget",
    "create_job_widget_bridge": "bridge",
    "define_channel": "define",
}

_Kind = Literal["widget", "raw", "bridge", "define"]
_Dest = Literal["closed", "with", "discarded", "local", "global", "attr", "escape"]
_FuncNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
_ESCAPE_PARENTS = (
    ast.Call,
    ast.keyword,
    ast.Return,
    ast.Yield,
    ast.YieldFrom,
    ast.List,
    ast.Tuple,
    ast.Set,
    ast.Dict,
    ast.Starred,
    ast.Assign,
    ast.AnnAssign,
    ast.AugAssign,
    ast.NamedExpr,
    ast.For,
    ast.AsyncFor,
    ast.comprehension,
    ast.Lambda,
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem at one place: ``path:line:column: rule message``.

    ``line`` and ``column`` are 1-based, the column counted in characters (as ruff and
    flake8 print them). ``rule`` is a rule name, or ``parse-error`` for a file that could not
    be read or parsed.
    """

    path: str
    line: int
    column: int
    rule: str
    severity: LintSeverity
    message: str
    hint: str

    def to_dict(self) -> dict[str, str | int]:
        """The finding as JSON-ready data (the ``--format json`` record)."""
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
        }


@dataclass(frozen=True, slots=True)
class ClassFact:
    """What another file needs to know about a top-level class of a checked module."""

    qualname: str
    why: str | None
    """Why it is consumer-only, if this file alone says so."""
    bases: tuple[str, ...]
    """Its bases' qualified names (``pkg.widgets.Chart``), as far as the imports tell."""


@dataclass(frozen=True, slots=True)
class PendingWidgetCheck:
    """A registration in a class whose bases come from other files: decided across files."""

    path: str
    line: int
    column: int
    label: str
    owner: str
    method: str
    qualname: str


@dataclass(slots=True)
class FileResult:
    """One file's findings, its class facts and its registrations that wait on other files."""

    findings: list[Finding]
    facts: list[ClassFact] = field(default_factory=list)
    pending: list[PendingWidgetCheck] = field(default_factory=list)


@dataclass(slots=True)
class _ClassInfo:
    name: str
    node: ast.ClassDef
    widget: str | None  # why it is consumer-only ("marked @consumer_only", "a Textual ...")
    constants: dict[str, str] | None = None


class _Ctx(NamedTuple):
    cls: _ClassInfo | None
    func: _FuncNode | None
    func_name: str | None
    self_name: str | None
    loop: ast.AST | None
    branches: tuple[tuple[int, int], ...]
    globals: frozenset[str]


@dataclass(slots=True)
class _Reg:
    call: ast.Call
    kind: _Kind
    label: str
    channel: str | None
    channel_text: str | None
    pid: str | None
    pid_expr: ast.expr | None
    store_key: str
    ctx: _Ctx
    dest: _Dest
    name: str | None = None


@dataclass(slots=True)
class _Evidence:
    cleaned: set[str] = field(default_factory=set)
    escaped: set[str] = field(default_factory=set)


def _touches(lines: Sequence[int], start: int, end: int) -> bool:
    i = bisect_left(lines, start)
    return i < len(lines) and lines[i] <= end


def _is_word_byte(byte: int) -> bool:
    return byte == 95 or 48 <= byte <= 57 or 65 <= byte <= 90 or 97 <= byte <= 122 or byte > 127


def _word_positions(source: bytes, words: Iterable[bytes]) -> list[tuple[int, int]]:
    """(start, end) of each whole-word occurrence of ``words``, in order.

    ``bytes.find`` per word is several times faster than one regex alternation.
    """
    found: list[tuple[int, int]] = []
    size = len(source)
    for word in words:
        start = source.find(word)
        while start != -1:
            end = start + len(word)
            if (start == 0 or not _is_word_byte(source[start - 1])) and (
                end == size or not _is_word_byte(source[end])
            ):
                found.append((start, end))
            start = source.find(word, end)
    found.sort()
    return found


def _lines_of(source: bytes, positions: Iterable[tuple[int, int]]) -> list[int]:
    """The 1-based line numbers of sorted positions, without repeats."""
    found: list[int] = []
    line, pos = 1, 0
    for start, _ in positions:
        line += source.count(b"\n", pos, start)
        pos = start
        if not found or found[-1] != line:
            found.append(line)
    return found


_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _children(node: ast.AST) -> list[ast.AST]:
    """The child nodes of ``node``, without expression contexts (``Load``, ``Store``).

    A per-type table of fields, filled on first sight, is about twice as fast as
    ``ast.iter_child_nodes``.
    """
    fields = _CHILD_FIELDS.get(type(node))
    if fields is None:
        fields = _CHILD_FIELDS[type(node)] = tuple(f for f in node._fields if f != "ctx")
    found: list[ast.AST] = []
    for name in fields:
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            found.append(value)
        elif isinstance(value, list):
            found.extend(item for item in value if isinstance(item, ast.AST))
    return found


def _expr_key(node: ast.expr | None) -> str:
    """A cheap identity for a store expression: equal for ``self._store`` twice, else unique."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_expr_key(node.value)}.{node.attr}"
    if node is None:
        return "<default>"
    return f"<{node.lineno}:{node.col_offset}>"


def _touching(
    stmts: Sequence[ast.stmt], lines: Sequence[int]
) -> Iterator[tuple[ast.AST, ast.AST | None]]:
    """(node, parent) for the simple statements and compound headers on ``lines``.

    Descends only into the compound statements whose line range holds one of ``lines``.
    """
    for stmt in stmts:
        end = stmt.end_lineno or stmt.lineno
        if not _touches(lines, stmt.lineno, end):
            continue
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield from _touching(stmt.body, lines)
        elif isinstance(stmt, ast.If | ast.While):
            yield stmt.test, stmt
            yield from _touching(stmt.body, lines)
            yield from _touching(stmt.orelse, lines)
        elif isinstance(stmt, ast.For | ast.AsyncFor):
            yield stmt.iter, stmt
            yield from _touching(stmt.body, lines)
            yield from _touching(stmt.orelse, lines)
        elif isinstance(stmt, ast.With | ast.AsyncWith):
            for item in stmt.items:
                yield item.context_expr, item
            yield from _touching(stmt.body, lines)
        elif isinstance(stmt, ast.Try | ast.TryStar):
            yield from _touching(stmt.body, lines)
            for handler in stmt.handlers:
                yield from _touching(handler.body, lines)
            yield from _touching(stmt.orelse, lines)
            yield from _touching(stmt.finalbody, lines)
        elif isinstance(stmt, ast.Match):
            yield stmt.subject, stmt
            for case in stmt.cases:
                yield from _touching(case.body, lines)
        else:
            yield stmt, None


def _arg(call: ast.Call, index: int, keyword: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    if len(call.args) > index and not any(
        isinstance(a, ast.Starred) for a in call.args[: index + 1]
    ):
        return call.args[index]
    return None


class _FileChecker:
    """Checks one parsed file; ``run()`` returns its findings (noqa not yet applied)."""

    def __init__(
        self,
        source: bytes,
        tree: ast.Module,
        path: str,
        lines: list[int],
        package: str | None = None,
        module: str | None = None,
    ) -> None:
        self.package = package
        self.module = module
        self.pending: list[tuple[ast.Call, str, str, str]] = []
        self.source = source
        self.tree = tree
        self.path = path
        self.lines = lines
        self.names: dict[str, str] = {}
        self.star_mapstore = False
        self.constants: dict[str, str] = {}
        self.assigned: set[str] = set()
        self.classes: dict[str, _ClassInfo] = {}
        self.regs: list[_Reg] = []
        self.defined: dict[str, str] = {}  # channel → its define_channel text
        self.out: list[tuple[ast.AST, str, str, str]] = []  # (node, rule, message, hint)

    # --- names -------------------------------------------------------------------------

    def _add_import(self, stmt: ast.Import | ast.ImportFrom) -> None:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    self.names[alias.asname] = alias.name
                else:
                    top = alias.name.split(".", 1)[0]
                    self.names[top] = top
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
            self.names[alias.asname or alias.name] = f"{module}.{alias.name}"

    def _scan_module_level(self, body: Sequence[ast.stmt]) -> None:
        """Imports, top-level classes, and names bound once to a string (module constants)."""
        for stmt in body:
            if isinstance(stmt, ast.Import | ast.ImportFrom):
                self._add_import(stmt)
            elif isinstance(stmt, ast.If | ast.Try):
                nested = list(stmt.body) + list(stmt.orelse)
                if isinstance(stmt, ast.Try):
                    for handler in stmt.handlers:
                        nested += handler.body
                self._scan_module_level(nested)
            elif isinstance(stmt, ast.ClassDef):
                self.classes[stmt.name] = self._class_info(stmt)
            elif isinstance(stmt, ast.Assign | ast.AnnAssign | ast.AugAssign):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                value = stmt.value
                for target in targets:
                    if not isinstance(target, ast.Name):
                        continue
                    if target.id in self.assigned:
                        self.constants.pop(target.id, None)  # bound twice: not a constant
                    elif isinstance(value, ast.Constant) and isinstance(value.value, str):
                        self.constants[target.id] = value.value
                    self.assigned.add(target.id)

    def _qualname(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return self.names.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self._qualname(node.value)
            return None if base is None else f"{base}.{node.attr}"
        return None

    def _mapstore_name(self, node: ast.expr) -> str | None:
        """The mapstore_core name ``node`` refers to (``create_widget_publisher``), if any."""
        qualified = self._qualname(node)
        if qualified is None:
            if self.star_mapstore and isinstance(node, ast.Name):
                return node.id
            return None
        if qualified.startswith("mapstore_core."):
            return qualified.rsplit(".", 1)[1]
        return None

    def _class_info(self, node: ast.ClassDef) -> _ClassInfo:
        why: str | None = None
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if self._mapstore_name(target) == "consumer_only":
                why = "marked @consumer_only"
        for base in node.bases:
            if why is not None:
                break
            if isinstance(base, ast.Name) and base.id in self.classes:
                inherited = self.classes[base.id].widget
                if inherited is not None:
                    why = f"a subclass of {base.id}, {inherited}"
                continue
            qualified = self._qualname(base)
            if qualified is not None and "." in qualified:
                module, name = qualified.rsplit(".", 1)
                if any(module == m or module.startswith(m + ".") for m in _TEXTUAL_WIDGET_MODULES):
                    why = f"a Textual widget (subclass of {name})"
        return _ClassInfo(node.name, node, why)

    def _class_constants(self, info: _ClassInfo) -> dict[str, str]:
        if info.constants is None:
            info.constants = {}
            for stmt in info.node.body:
                if (
                    isinstance(stmt, ast.Assign)
                    and len(stmt.targets) == 1
                    and isinstance(stmt.targets[0], ast.Name)
                    and isinstance(stmt.value, ast.Constant)
                    and isinstance(stmt.value.value, str)
                ):
                    info.constants[stmt.targets[0].id] = stmt.value.value
        return info.constants

    def _const_str(self, node: ast.expr | None, ctx: _Ctx) -> str | None:
        """A string the expression certainly evaluates to, or None (f-strings are not guessed)."""
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.Name):
            return self.constants.get(node.id)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and ctx.cls:
            owner = node.value.id
            if owner in (ctx.self_name, "self", "cls", ctx.cls.name):
                return self._class_constants(ctx.cls).get(node.attr)
        return None

    def _channel(self, node: ast.expr | None, ctx: _Ctx) -> tuple[str | None, str | None]:
        """(channel name, how it is written) for a string or a ``WidgetChannels`` member."""
        if isinstance(node, ast.Attribute) and node.attr == "value":
            node = node.value
        if isinstance(node, ast.Attribute) and node.attr in WIDGET_CHANNELS:
            if self._mapstore_name(node.value) == "WidgetChannels":
                return WIDGET_CHANNELS[node.attr], f"WidgetChannels.{node.attr}"
        value = self._const_str(node, ctx)
        return value, None if value is None else repr(value)

    # --- registrations -------------------------------------------------------------------

    def _classify(self, call: ast.Call) -> tuple[_Kind, str] | None:
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr == "register_producer":
            return "raw", "register_producer"
        name = self._mapstore_name(func)
        if name is not None and name in _FACTORIES:
            kind: _Kind = "widget"
            if name == "create_job_widget_bridge":
                kind = "bridge"
            elif name == "define_channel":
                kind = "define"
            return kind, name
        return None

    def _destination(
        self, call: ast.Call, parent: ast.AST | None, ctx: _Ctx
    ) -> tuple[_Dest, str | None]:
        if isinstance(parent, ast.Attribute):
            if parent.attr in _CLEANUP:
                return "closed", None
            return ("escape", None) if parent.attr == "producer" else ("discarded", None)
        if isinstance(parent, ast.Expr):
            return "discarded", None
        if isinstance(parent, ast.withitem):
            return "with", None
        target: ast.expr | None = None
        if isinstance(parent, ast.Assign) and len(parent.targets) == 1:
            target = parent.targets[0]
        elif isinstance(parent, ast.AnnAssign | ast.NamedExpr):
            target = parent.target
        if isinstance(target, ast.Name):
            if ctx.func is None:
                return ("attr" if ctx.cls is not None else "global"), target.id
            return ("global" if target.id in ctx.globals else "local"), target.id
        if (
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id in (ctx.self_name, "self")
            and ctx.func is not None
        ):
            return "attr", target.attr
        return "escape", None

    def _record(
        self, call: ast.Call, kind: _Kind, label: str, parent: ast.AST | None, ctx: _Ctx
    ) -> None:
        if kind == "define":
            channel, text = self._channel(_arg(call, 0, "channel"), ctx)
            if channel is not None:
                self.defined.setdefault(channel, text or repr(channel))
            return
        if kind == "bridge":
            channel_expr, pid_expr = _arg(call, 1, "channel"), None
        else:
            channel_expr, pid_expr = _arg(call, 0, "channel"), _arg(call, 1, "producer_id")
        channel, channel_text = self._channel(channel_expr, ctx)
        pid = self._const_str(pid_expr, ctx)
        if kind == "raw":
            assert isinstance(call.func, ast.Attribute)
            store_key = _expr_key(call.func.value)
        else:
            store = _arg(call, 99, "store")
            store_key = _expr_key(store)
        dest, name = self._destination(call, parent, ctx)
        reg = _Reg(
            call, kind, label, channel, channel_text, pid, pid_expr, store_key, ctx, dest, name
        )
        self.regs.append(reg)
        self._immediate_rules(reg)

    def _immediate_rules(self, reg: _Reg) -> None:
        call, ctx = reg.call, reg.ctx
        if ctx.cls is not None and ctx.cls.widget is not None:
            self.out.append(
                (
                    call,
                    "producer-in-widget",
                    f"{reg.label}() in {ctx.cls.name}.{ctx.func_name or '<class body>'}: "
                    f"{ctx.cls.name} is {ctx.cls.widget}, and widgets consume only",
                    RULES["producer-in-widget"].hint,
                )
            )
        elif (
            ctx.cls is not None
            and self.module is not None
            and ctx.cls.node.bases
            and self.classes.get(ctx.cls.name) is ctx.cls
        ):
            self.pending.append((call, reg.label, ctx.cls.name, ctx.func_name or "<class body>"))
        name = ctx.func_name
        if name is not None and (name in _FRAME_METHODS or name.startswith("watch_")):
            self.out.append(
                (
                    call,
                    "registration-churn",
                    f"{reg.label}() inside {name}(), which runs again and again: "
                    "a producer per frame or per change",
                    RULES["registration-churn"].hint,
                )
            )
        if reg.pid is not None and reg.pid_expr is not None and is_non_descriptive(reg.pid):
            source = "" if isinstance(reg.pid_expr, ast.Constant) else " (a constant)"
            self.out.append(
                (
                    reg.pid_expr,
                    "non-descriptive-id",
                    f"producer id {reg.pid!r}{source} does not say which data source it is",
                    RULES["non-descriptive-id"].hint,
                )
            )

    def _scan(self, root: ast.AST, parent: ast.AST | None, ctx: _Ctx) -> None:
        """Find the registrations in one statement or expression, knowing each one's parent."""
        stack: list[tuple[ast.AST, ast.AST | None, _Ctx]] = [(root, parent, ctx)]
        while stack:
            node, par, c = stack.pop()
            if isinstance(node, ast.Call):
                found = self._classify(node)
                if found is not None:
                    self._record(node, found[0], found[1], par, c)
            elif isinstance(node, ast.Lambda):
                c = c._replace(func=node, func_name=None, loop=None, globals=frozenset())
            elif isinstance(node, _COMPREHENSIONS):
                inner = c._replace(loop=node)
                first = node.generators[0]
                stack.append((first.iter, node, c))
                for gen in node.generators:
                    if gen is not first:
                        stack.append((gen.iter, node, inner))
                    stack.extend((cond, node, inner) for cond in gen.ifs)
                if isinstance(node, ast.DictComp):
                    stack.append((node.key, node, inner))
                    stack.append((node.value, node, inner))
                else:
                    stack.append((node.elt, node, inner))
                continue
            stack.extend((child, node, c) for child in _children(node))

    def _visit_body(self, stmts: Sequence[ast.stmt], ctx: _Ctx) -> None:
        lines = self.lines
        count = len(lines)
        for stmt in stmts:
            i = bisect_left(lines, stmt.lineno)
            if i < count and lines[i] <= (stmt.end_lineno or stmt.lineno):
                self._visit_stmt(stmt, ctx)

    def _visit_stmt(self, stmt: ast.stmt, ctx: _Ctx) -> None:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            self_name = ctx.self_name
            if ctx.cls is not None and ctx.func is None:  # a method: its first parameter
                params = stmt.args.posonlyargs + stmt.args.args
                self_name = params[0].arg if params else None
            declared = frozenset(
                name for s in stmt.body if isinstance(s, ast.Global) for name in s.names
            )
            self._visit_body(
                stmt.body,
                ctx._replace(
                    func=stmt, func_name=stmt.name, self_name=self_name, loop=None, globals=declared
                ),
            )
        elif isinstance(stmt, ast.ClassDef):
            info = self.classes.get(stmt.name)
            if info is None or info.node is not stmt:
                info = self._class_info(stmt)
            self._visit_body(
                stmt.body, _Ctx(info, None, None, None, None, ctx.branches, frozenset())
            )
        elif isinstance(stmt, _LOOPS):
            if isinstance(stmt, ast.While):
                self._scan(stmt.test, stmt, ctx._replace(loop=stmt))
            else:
                self._scan(stmt.iter, stmt, ctx)
            self._visit_body(stmt.body, ctx._replace(loop=stmt))
            self._visit_body(stmt.orelse, ctx)
        elif isinstance(stmt, ast.If):
            self._scan(stmt.test, stmt, ctx)
            key = id(stmt)
            self._visit_body(stmt.body, ctx._replace(branches=(*ctx.branches, (key, 0))))
            self._visit_body(stmt.orelse, ctx._replace(branches=(*ctx.branches, (key, 1))))
        elif isinstance(stmt, ast.With | ast.AsyncWith):
            for item in stmt.items:
                self._scan(item.context_expr, item, ctx)
            self._visit_body(stmt.body, ctx)
        elif isinstance(stmt, ast.Try | ast.TryStar):
            self._visit_body(stmt.body, ctx)
            for handler in stmt.handlers:
                self._visit_body(handler.body, ctx)
            self._visit_body(stmt.orelse, ctx)
            self._visit_body(stmt.finalbody, ctx)
        elif isinstance(stmt, ast.Match):
            self._scan(stmt.subject, stmt, ctx)
            key = id(stmt)
            for index, case in enumerate(stmt.cases):
                self._visit_body(case.body, ctx._replace(branches=(*ctx.branches, (key, index))))
        elif isinstance(stmt, ast.Import | ast.ImportFrom):
            self._add_import(stmt)
        else:
            self._scan(stmt, None, ctx)

    # --- evidence of cleanup ---------------------------------------------------------------

    def _evidence_lines(self, words: set[str]) -> tuple[list[int], list[int]]:
        """(lines where a word is closed, lines where a word appears at all), in one search."""
        if not words:
            return [], []
        source = self.source
        positions = _word_positions(source, (w.encode() for w in sorted(words)))
        closes = _lines_of(source, (p for p in positions if _CLOSE_AFTER.match(source, p[1])))
        return closes, _lines_of(source, positions)

    def _evidence(
        self,
        body: Sequence[ast.stmt],
        attrs: set[str],
        names: set[str],
        lines: tuple[list[int], list[int]],
    ) -> _Evidence:
        """Which kept names are closed (or used as a context manager) or handed on, in body.

        The lines that look like a ``close()`` are read first; when they close every name,
        the other mentions are not read at all.
        """
        evidence = _Evidence()
        wanted = {"attr:" + a for a in attrs} | {"name:" + n for n in names}
        closes, mentions = lines
        self._uses(body, closes, attrs, names, evidence)
        if not wanted <= evidence.cleaned:
            done = set(closes)
            self._uses(body, [n for n in mentions if n not in done], attrs, names, evidence)
        return evidence

    def _uses(
        self,
        body: Sequence[ast.stmt],
        lines: Sequence[int],
        attrs: set[str],
        names: set[str],
        evidence: _Evidence,
    ) -> None:
        for root, root_parent in _touching(body, lines):
            stack: list[tuple[ast.AST, ast.AST | None]] = [(root, root_parent)]
            while stack:
                node, parent = stack.pop()
                key: str | None = None
                if isinstance(node, ast.Attribute) and node.attr in attrs:
                    key = "attr:" + node.attr
                elif isinstance(node, ast.Name) and node.id in names:
                    key = "name:" + node.id
                if key is not None and isinstance(getattr(node, "ctx", None), ast.Load):
                    if isinstance(parent, ast.Attribute):
                        if parent.attr in _CLEANUP:
                            evidence.cleaned.add(key)
                    elif isinstance(parent, ast.withitem):
                        evidence.cleaned.add(key)
                    elif isinstance(parent, _ESCAPE_PARENTS) and not (
                        isinstance(parent, ast.Call) and parent.func is node
                    ):
                        evidence.escaped.add(key)
                stack.extend((child, node) for child in _children(node))

    # --- rules that need the whole file ------------------------------------------------------

    def _cleanup_rules(self) -> set[int]:
        """Report missing cleanups; return the ids of the calls whose producer is kept open."""
        attrs = {r.name for r in self.regs if r.dest == "attr" and r.name}
        globs = {r.name for r in self.regs if r.dest == "global" and r.name}
        local_by_func: dict[int, tuple[_FuncNode, set[str]]] = {}
        for r in self.regs:
            if r.dest == "local" and r.name and r.ctx.func is not None:
                local_by_func.setdefault(id(r.ctx.func), (r.ctx.func, set()))[1].add(r.name)
        all_locals = {name for _, names in local_by_func.values() for name in names}
        lines = self._evidence_lines(attrs | globs | all_locals)
        file_wide = self._evidence(self.tree.body, attrs, globs, lines)
        local_evidence: dict[int, _Evidence] = {}
        for func_id, (func, names) in local_by_func.items():
            body = func.body if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef) else []
            local_evidence[func_id] = self._evidence(body, set(), names, lines)
        kept: set[int] = set()
        for r in self.regs:
            if r.kind == "define":
                continue
            message: str | None = None
            open_after = r.dest not in ("closed", "with", "discarded")
            if r.dest == "discarded":
                message = (
                    f"the result of {r.label}() is dropped at once: nothing can close() it, "
                    "and its value stays in the store"
                )
            elif r.dest in ("attr", "global") and r.name:
                key = ("attr:" if r.dest == "attr" else "name:") + r.name
                if key not in file_wide.cleaned and key not in file_wide.escaped:
                    where = f"self.{r.name}" if r.dest == "attr" else f"the global {r.name}"
                    message = (
                        f"{where} keeps the producer from {r.label}(), and nothing in this file "
                        "ever closes it (close(), clear(), disconnect(), a with block, atexit)"
                    )
            elif r.dest == "local" and r.name and r.ctx.func is not None:
                found = local_evidence[id(r.ctx.func)]
                key = "name:" + r.name
                if key in found.cleaned:
                    open_after = False
                elif key not in found.escaped:
                    message = (
                        f"the producer {r.name!r} from {r.label}() is never closed nor handed "
                        "on (returned, stored, passed): its value stays in the store"
                    )
            if message is not None:
                self.out.append((r.call, "missing-cleanup", message, RULES["missing-cleanup"].hint))
            if open_after:
                kept.add(id(r.call))
        return kept

    def _loop_and_duplicate_rules(self, kept: set[int]) -> None:
        by_scope: dict[tuple[int, str, str], list[_Reg]] = {}
        for r in self.regs:
            if r.kind == "define":
                continue
            if r.ctx.loop is not None and r.kind != "bridge":
                if r.channel is not None and r.pid is None and id(r.call) in kept:
                    self.out.append(
                        (
                            r.call,
                            "duplicate-source",
                            f"{r.label}() in a loop keeps a producer per iteration open on "
                            f"{r.channel!r}: one source, many producers",
                            RULES["duplicate-source"].hint,
                        )
                    )
                else:
                    self.out.append(
                        (
                            r.call,
                            "registration-churn",
                            f"{r.label}() inside a loop body: a producer per iteration",
                            RULES["registration-churn"].hint,
                        )
                    )
            scope = r.ctx.cls.node if r.ctx.cls is not None else r.ctx.func
            if scope is None or r.kind == "bridge" or r.channel is None or r.pid is None:
                continue
            by_scope.setdefault((id(scope), r.channel, r.store_key), []).append(r)
        for group in by_scope.values():
            for index, later in enumerate(group):
                for earlier in group[:index]:
                    if (
                        earlier.pid == later.pid
                        or (
                            later.name is not None
                            and (earlier.dest, earlier.name) == (later.dest, later.name)
                        )
                        or _source_stem(earlier.pid) != _source_stem(later.pid)
                        or _exclusive(earlier, later)
                    ):
                        continue
                    where = (
                        f"class {later.ctx.cls.name}"
                        if later.ctx.cls is not None
                        else f"{later.ctx.func_name or 'this function'}()"
                    )
                    self.out.append(
                        (
                            later.call,
                            "duplicate-source",
                            f"a second producer of one source on {later.channel!r} in {where}: "
                            f"{later.pid!r} here and {earlier.pid!r} at line "
                            f"{earlier.call.lineno}",
                            RULES["duplicate-source"].hint,
                        )
                    )
                    break

    def _unvalidated_rule(self) -> None:
        for r in self.regs:
            if r.kind != "raw" or r.channel is None:
                continue
            if r.channel in _WIDGET_VALUES:
                written = f"WidgetChannels.{_WIDGET_VALUES[r.channel]}"
                what = "widget channel"
            elif r.channel in self.defined:
                written = self.defined[r.channel]
                what = "schema channel"
            else:
                continue
            pid = repr(r.pid) if r.pid is not None else "<the same id>"
            self.out.append(
                (
                    r.call,
                    "unvalidated-publish",
                    f"raw register_producer() on {what} {r.channel!r} skips validation; "
                    f"migrate: create_widget_publisher({written}, {pid}, store=...)",
                    "the validated publisher refuses a bad payload where it is made (README: "
                    "'Migrating from raw register_producer')",
                )
            )

    def _follow_aliases(self) -> None:
        """Add the lines that call a factory under another name (``import ... as pub``).

        Top-level imports are known already; an aliasing import anywhere else is looked for
        only when the text has one (``create_widget_publisher as``).
        """
        if not any(word + b" as " in self.source for word in _FACTORY_WORDS):
            return
        found = {m.decode() for m in _ALIAS_IMPORT.findall(self.source)}
        if not found <= self.names.keys():
            for node, _ in _touching(self.tree.body, self.lines):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    self._add_import(node)
        aliases = sorted(
            local for local in found if self._mapstore_name(ast.Name(local)) in _FACTORIES
        )
        if aliases:
            positions = _word_positions(self.source, (a.encode() for a in aliases))
            extra = _lines_of(self.source, positions)
            self.lines = sorted(set(self.lines) | set(extra))

    def class_facts(self) -> list[ClassFact]:
        """Facts about this module's top-level classes that have a reason or bases."""
        facts: list[ClassFact] = []
        for name, info in self.classes.items():
            bases: list[str] = []
            for base in info.node.bases:
                if isinstance(base, ast.Name) and base.id in self.classes:
                    bases.append(f"{self.module}.{base.id}")
                else:
                    qualified = self._qualname(base)
                    if qualified is not None and not qualified.startswith("."):
                        bases.append(qualified)
            if info.widget is not None or bases:
                facts.append(ClassFact(f"{self.module}.{name}", info.widget, tuple(bases)))
        return facts

    def run(self) -> list[tuple[ast.AST, str, str, str]]:
        """Apply every rule; returns (node, rule, message, hint) for each finding."""
        self._scan_module_level(self.tree.body)
        self._follow_aliases()
        self._visit_body(self.tree.body, _Ctx(None, None, None, None, None, (), frozenset()))
        if self.regs:
            self.regs.sort(key=lambda r: (r.call.lineno, r.call.col_offset))
            kept = self._cleanup_rules()
            self._loop_and_duplicate_rules(kept)
            self._unvalidated_rule()
        return self.out


_TRAILING_DIGITS = re.compile(r"\d+$")
_LAST_PART = re.compile(r"[-_.: ]+[^-_.: ]*$")


def _source_stem(producer_id: str | None) -> str:
    """The source an id names: without its last part or trailing number (``price-ticker``).

    ``price-ticker-a`` and ``price-ticker-b``, or ``feed1`` and ``feed2``, name one source;
    ``flaky-sensor`` and ``legacy-metrics-adapter`` name two.
    """
    text = (producer_id or "").strip().lower()
    stripped = _TRAILING_DIGITS.sub("", text)
    if stripped != text:
        return stripped.rstrip("-_.: ") or text
    return _LAST_PART.sub("", text) or text


def _exclusive(a: _Reg, b: _Reg) -> bool:
    """True when the two registrations sit in different branches of one ``if`` or ``match``."""
    branches = dict(a.ctx.branches)
    return any(key in branches and branches[key] != arm for key, arm in b.ctx.branches)


def _parse_error(path: str, line: int, column: int, message: str) -> Finding:
    return Finding(path, line, column, PARSE_ERROR, "error", message, "fix the file, then re-run")


def _source_lines(source: bytes) -> list[str]:
    try:
        encoding, _ = tokenize.detect_encoding(BytesIO(source).readline)
        return source.decode(encoding, "replace").splitlines()
    except SyntaxError:
        return source.decode("utf-8", "replace").splitlines()


def _silenced(line_text: str, rule: str) -> bool:
    match = _NOQA.search(line_text)
    if match is None:
        return False
    codes = match.group("codes")
    if codes is None:
        return True
    return rule in {code.lower() for code in re.split(r"[\s,]+", codes) if code}


def lint_source(source: bytes | str, path: str = "<string>") -> list[Finding]:
    """Check one file's source; findings sorted by line and column, ``# noqa`` applied.

    A source that does not parse gives one ``parse-error`` finding instead. Classes are
    judged from this file alone (``lint_paths`` also follows bases across the files it checks).
    """
    data = source.encode("utf-8") if isinstance(source, str) else source
    return check_source(data, path).findings


def check_source(data: bytes, path: str, module: str | None = None) -> FileResult:
    """Check one file; with its dotted ``module`` name, also collect what other files need."""
    try:
        tree = ast.parse(data, filename=path)
    except SyntaxError as error:
        line = error.lineno or 1
        return FileResult(
            [_parse_error(path, line, error.offset or 1, f"cannot parse: {error.msg}")]
        )
    except (ValueError, RecursionError, MemoryError) as error:
        return FileResult([_parse_error(path, 1, 1, f"cannot parse: {error}")])
    package = None
    if module is not None:
        is_package = path.endswith("__init__.py")
        package = module if is_package else module.rpartition(".")[0]
    lines = (
        _lines_of(data, _word_positions(data, _LITERALS))
        if any(word in data for word in _LITERALS)
        else []
    )
    checker = _FileChecker(data, tree, path, lines, package, module)
    try:
        if not lines:
            if module is None or not any(
                isinstance(stmt, ast.ClassDef) and (stmt.bases or stmt.decorator_list)
                for stmt in tree.body
            ):
                return FileResult([])
            checker._scan_module_level(tree.body)
            return FileResult([], checker.class_facts())
        raw = checker.run()
        result = FileResult([], checker.class_facts() if module is not None else [])
    except RecursionError:
        return FileResult([_parse_error(path, 1, 1, "cannot check: nested too deeply")])
    if not raw and not checker.pending:
        return result
    text = _source_lines(data)
    findings: dict[tuple[int, int, str, str], Finding] = {}
    for node, rule, message, hint in raw:
        line, column, silenced = _place(text, node, rule)
        if silenced:
            continue
        key = (line, column, rule, message)
        findings.setdefault(
            key, Finding(path, line, column, rule, RULES[rule].severity, message, hint)
        )
    result.findings = [findings[key] for key in sorted(findings)]
    for call, label, owner, method in checker.pending:
        line, column, silenced = _place(text, call, "producer-in-widget")
        if not silenced:
            result.pending.append(
                PendingWidgetCheck(path, line, column, label, owner, method, f"{module}.{owner}")
            )
    return result


def _place(text: list[str], node: ast.AST, rule: str) -> tuple[int, int, bool]:
    """(line, 1-based column in characters, silenced by noqa) of a node."""
    line = getattr(node, "lineno", 1)
    offset = getattr(node, "col_offset", 0)
    line_text = text[line - 1] if line - 1 < len(text) else ""
    column = len(line_text.encode("utf-8")[:offset].decode("utf-8", "replace")) + 1
    return line, column, _silenced(line_text, rule)


def resolve_across_files(
    facts: Iterable[ClassFact], pending: Iterable[PendingWidgetCheck]
) -> list[Finding]:
    """``producer-in-widget`` for registrations whose class is a widget through other files."""
    by_name = {fact.qualname: fact for fact in facts}
    memo: dict[str, str | None] = {}

    def reason(qualname: str) -> str | None:
        if qualname in memo:
            return memo[qualname]
        memo[qualname] = None  # a cycle of bases ends here
        fact = by_name.get(qualname)
        found = None if fact is None else fact.why
        if fact is not None and found is None:
            for base in fact.bases:
                inherited = reason(base)
                if inherited is not None:
                    module, _, name = base.rpartition(".")
                    found = f"a subclass of {name} ({module}), {inherited}"
                    break
        memo[qualname] = found
        return found

    findings: list[Finding] = []
    for item in pending:
        why = reason(item.qualname)
        if why is not None:
            findings.append(
                Finding(
                    item.path,
                    item.line,
                    item.column,
                    "producer-in-widget",
                    RULES["producer-in-widget"].severity,
                    f"{item.label}() in {item.owner}.{item.method}: {item.owner} is {why}, "
                    "and widgets consume only",
                    RULES["producer-in-widget"].hint,
                )
            )
    return findings
