"""One file's facts: every registration, as a plain record, with what the file says around it.

The rules (``_rules``) never see the AST: this module walks it once and writes down, for each
registration call (``create_widget_publisher``, ``register_producer``,
``create_job_widget_bridge``), where it is, which channel and id it names, the enclosing class
(and why that class is consumer-only), function, loop and ``if`` branch, where its producer
goes (dropped, kept on ``self``, bound to a local...) and whether the file closes or hands on
what it was kept under. It also notes the channels ``define_channel`` gives a model, and, for
other files, the module's top-level classes and their bases.

Speed comes from not walking what cannot matter. The source bytes are first searched for the
registering names: a file without them is only parsed. In a file with them, the walk descends
only into the statements whose line range holds such a name. The cleanup evidence for a kept
producer (a ``close()``, a ``with``, being handed on) is found the same way (``_evidence``).
"""

from __future__ import annotations

import ast
import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from mapstore_lint._evidence import CLEANUP, Evidence, evidence_lines, find_evidence
from mapstore_lint._names import ImportedNames
from mapstore_lint._source import lines_of, word_positions
from mapstore_lint._syntax import call_arg, children, expr_key, touching

__all__ = [
    "WIDGET_CHANNELS",
    "ClassFact",
    "Dest",
    "FileFacts",
    "Kind",
    "Registration",
    "WidgetReason",
    "class_facts_only",
    "collect",
    "registration_lines",
]

WIDGET_CHANNELS: dict[str, str] = {
    "PARAGRAPH_CONTENT": "paragraph-content",
    "TABLE_DATA": "table-data",
    "METRIC_DATA": "metric-data",
}
"""``WidgetChannels`` members and their values (a test keeps this equal to the enum)."""

Kind = Literal["widget", "raw", "bridge"]
"""A validated publisher, a raw ``register_producer``, or a job bridge."""
Dest = Literal["closed", "with", "discarded", "local", "global", "attr", "escape"]
"""Where a registration's producer goes: closed at once, a ``with``, dropped, bound to a
local or global name, kept on ``self``, or handed on (returned, passed, stored elsewhere)."""

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

_SHOWN_BASES = 3
_FuncNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


@dataclass(frozen=True, slots=True)
class WidgetReason:
    """Why a class is consumer-only: its own mark, or the chain of bases that leads to one.

    A chain keeps its nearest few bases and a count of the others, so a chain of thousands of
    classes costs as little as a short one and still reads in one line (written out in full,
    the texts of a chain grew with the square of its length).
    """

    root: str
    """What the class at the far end is: ``marked @consumer_only``, ``a Textual widget ...``."""
    bases: tuple[str, ...] = ()
    """The bases on the way there, nearest first, as written in a message (``Mid (app.mid)``)."""
    more: int = 0
    """How many bases the chain has beyond ``bases``."""

    def through(self, base: str) -> WidgetReason:
        """The reason of a subclass of ``base``, this being ``base``'s reason."""
        if len(self.bases) < _SHOWN_BASES:
            return WidgetReason(self.root, (base, *self.bases), self.more)
        return WidgetReason(self.root, (base, *self.bases[:-1]), self.more + 1)

    def __str__(self) -> str:
        parts = [f"a subclass of {base}" for base in self.bases]
        if self.more:
            parts.append(f"{self.more} more base{'s' if self.more > 1 else ''} up the chain")
        return ", ".join([*parts, self.root])


@dataclass(frozen=True, slots=True)
class Registration:
    """One call that registers a producer, and what its file says around it."""

    line: int
    offset: int
    """Where the call starts (the AST's ``col_offset``, in UTF-8 bytes)."""
    kind: Kind
    label: str
    """The function called: ``register_producer``, ``create_widget_publisher``..."""
    channel: str | None
    """The channel, when it is a known string or a ``WidgetChannels`` member."""
    channel_text: str | None
    """How the channel is written (``WidgetChannels.METRIC_DATA``, ``'prices'``)."""
    producer_id: str | None
    """The id, when it is a known string (a literal or a module or class constant)."""
    id_at: tuple[int, int] | None
    """Where that id is written (line, offset)."""
    id_is_literal: bool
    store: str
    """The store expression (``self._store``), as a key: equal for the same store."""
    owner: str | None
    """The enclosing class, if any."""
    owner_why: str | None
    """Why that class is consumer-only, as far as this file alone tells."""
    owner_across: bool
    """The class is top-level with bases, so other files may make it a widget."""
    function: str | None
    """The enclosing function's name (None at class or module level, or in a lambda)."""
    in_loop: bool
    """Inside a loop body or a comprehension."""
    scope: int | None
    """The enclosing class, else function: where two registrations are compared."""
    branches: tuple[tuple[int, int], ...]
    """Each enclosing ``if``/``match`` and the arm taken: two arms of one never both run."""
    dest: Dest
    name: str | None
    """The attribute or name the producer is kept under (``attr``, ``global``, ``local``)."""
    closed: bool
    """Code of the file closes (``close``/``clear``/``disconnect``/``with``) what it is kept
    under: anywhere in the file for an attribute or a global, in its function for a local."""
    handed_on: bool
    """Code of the file hands what it is kept under on (passes, returns, stores it)."""


@dataclass(frozen=True, slots=True)
class ClassFact:
    """What another file needs to know about a top-level class of a checked module."""

    qualname: str
    why: WidgetReason | None
    """Why it is consumer-only, if this file alone says so."""
    bases: tuple[str, ...]
    """Its bases' qualified names (``pkg.widgets.Chart``), as far as the imports tell."""


@dataclass(slots=True)
class FileFacts:
    """Everything the rules need to know about one file."""

    registrations: list[Registration]
    """In the order of the source."""
    defined: dict[str, str]
    """Channels ``define_channel`` gives a model here, and how that call writes the channel."""
    classes: list[ClassFact] = field(default_factory=list)
    """Top-level classes with a reason or bases (only when the module's name is known)."""


def registration_lines(data: bytes) -> list[int]:
    """The lines that name a registering function: the only ones the walk needs to enter."""
    if not any(word in data for word in _LITERALS):
        return []
    return lines_of(data, word_positions(data, _LITERALS))


def collect(
    data: bytes,
    tree: ast.Module,
    lines: list[int],
    package: str | None = None,
    module: str | None = None,
) -> FileFacts:
    """Walk a parsed file (entering only ``lines``) and write its facts down."""
    return _Collector(data, tree, lines, package, module).collect()


def class_facts_only(tree: ast.Module, package: str | None, module: str) -> list[ClassFact]:
    """The class facts of a file that registers nothing (for the other files' classes)."""
    collector = _Collector(b"", tree, [], package, module)
    collector.scan_module_level(tree.body)
    return collector.class_facts()


@dataclass(slots=True)
class _ClassInfo:
    name: str
    node: ast.ClassDef
    widget: WidgetReason | None  # why it is consumer-only, if it is
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
class _Call:
    """A registration as the walk finds it, before the cleanup evidence is known."""

    call: ast.Call
    kind: Kind
    label: str
    channel: str | None
    channel_text: str | None
    pid: str | None
    pid_expr: ast.expr | None
    store_key: str
    ctx: _Ctx
    dest: Dest
    name: str | None
    across: bool


_NO_EVIDENCE = Evidence()


class _Collector:
    """Collects one parsed file's facts; ``collect()`` returns them."""

    def __init__(
        self,
        source: bytes,
        tree: ast.Module,
        lines: list[int],
        package: str | None,
        module: str | None,
    ) -> None:
        self.module = module
        self.source = source
        self.tree = tree
        self.lines = lines
        self.names = ImportedNames(package)
        self.constants: dict[str, str] = {}
        self.assigned: set[str] = set()
        self.classes: dict[str, _ClassInfo] = {}
        self.calls: list[_Call] = []
        self.defined: dict[str, str] = {}  # channel → its define_channel text
        self._mapstore: bool | None = None  # whether the file uses mapstore, once asked

    def collect(self) -> FileFacts:
        self.scan_module_level(self.tree.body)
        self._follow_aliases()
        self._visit_body(self.tree.body, _Ctx(None, None, None, None, None, (), frozenset()))
        registrations = self._registrations() if self.calls else []
        classes = self.class_facts() if self.module is not None else []
        return FileFacts(registrations, self.defined, classes)

    # --- the module level ----------------------------------------------------------------

    def scan_module_level(self, body: Sequence[ast.stmt]) -> None:
        """Imports, top-level classes, and names bound once to a string (module constants)."""
        for stmt in body:
            if isinstance(stmt, ast.Import | ast.ImportFrom):
                self.names.add(stmt)
            elif isinstance(stmt, ast.If | ast.Try):
                nested = list(stmt.body) + list(stmt.orelse)
                if isinstance(stmt, ast.Try):
                    for handler in stmt.handlers:
                        nested += handler.body
                self.scan_module_level(nested)
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

    def _follow_aliases(self) -> None:
        """Add the lines that call a factory under another name (``import ... as pub``).

        Top-level imports are known already; an aliasing import anywhere else is looked for
        only when the text has one (``create_widget_publisher as``).
        """
        if not any(word + b" as " in self.source for word in _FACTORY_WORDS):
            return
        found = {m.decode() for m in _ALIAS_IMPORT.findall(self.source)}
        if not found <= self.names.table.keys():
            for node, _ in touching(self.tree.body, self.lines):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    self.names.add(node)
        aliases = sorted(
            local for local in found if self.names.mapstore_name(ast.Name(local)) in _FACTORIES
        )
        if aliases:
            positions = word_positions(self.source, (a.encode() for a in aliases))
            extra = lines_of(self.source, positions)
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
                    qualified = self.names.qualname(base)
                    if qualified is not None and not qualified.startswith("."):
                        bases.append(qualified)
            if info.widget is not None or bases:
                facts.append(ClassFact(f"{self.module}.{name}", info.widget, tuple(bases)))
        return facts

    # --- classes, constants, channels -----------------------------------------------------

    def _class_info(self, node: ast.ClassDef) -> _ClassInfo:
        why: WidgetReason | None = None
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if self.names.mapstore_name(target) == "consumer_only":
                why = WidgetReason("marked @consumer_only")
        for base in node.bases:
            if why is not None:
                break
            if isinstance(base, ast.Name) and base.id in self.classes:
                inherited = self.classes[base.id].widget
                if inherited is not None:
                    why = inherited.through(base.id)
                continue
            qualified = self.names.qualname(base)
            if qualified is not None and "." in qualified:
                module, name = qualified.rsplit(".", 1)
                if any(module == m or module.startswith(m + ".") for m in _TEXTUAL_WIDGET_MODULES):
                    why = WidgetReason(f"a Textual widget (subclass of {name})")
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
            if self.names.mapstore_name(node.value) == "WidgetChannels":
                return WIDGET_CHANNELS[node.attr], f"WidgetChannels.{node.attr}"
        value = self._const_str(node, ctx)
        return value, None if value is None else repr(value)

    # --- registrations -------------------------------------------------------------------

    def _uses_mapstore(self) -> bool:
        """Whether the file imports ``mapstore_core`` (anywhere), or is part of it.

        Only then is ``x.register_producer(...)`` taken for the store's: the store comes in as
        a parameter, so the call alone cannot tell, and a file's own
        ``broker.register_producer()`` gave five false findings. The top-level imports are
        known already; others are looked for only on the lines that name ``mapstore_core``.
        """
        if self._mapstore is None:
            self._mapstore = (
                (self.module or "").partition(".")[0] == "mapstore_core"
                or self.names.imports_mapstore()
                or self._imports_mapstore_below()
            )
        return self._mapstore

    def _imports_mapstore_below(self) -> bool:
        if b"mapstore_core" not in self.source:
            return False
        lines = lines_of(self.source, word_positions(self.source, (b"mapstore_core",)))
        for node, _ in touching(self.tree.body, lines):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = ImportedNames(self.names.package)
                names.add(node)
                if names.imports_mapstore():
                    return True
        return False

    def _classify(self, call: ast.Call) -> tuple[Kind | Literal["define"], str] | None:
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr == "register_producer":
            return ("raw", "register_producer") if self._uses_mapstore() else None
        name = self.names.mapstore_name(func)
        if name is not None and name in _FACTORIES:
            if name == "create_job_widget_bridge":
                return "bridge", name
            if name == "define_channel":
                return "define", name
            return "widget", name
        return None

    def _destination(
        self, call: ast.Call, parent: ast.AST | None, ctx: _Ctx
    ) -> tuple[Dest, str | None]:
        if isinstance(parent, ast.Attribute):
            if parent.attr in CLEANUP:
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
        self,
        call: ast.Call,
        kind: Kind | Literal["define"],
        label: str,
        parent: ast.AST | None,
        ctx: _Ctx,
    ) -> None:
        if kind == "define":
            channel, text = self._channel(call_arg(call, 0, "channel"), ctx)
            if channel is not None:
                self.defined.setdefault(channel, text or repr(channel))
            return
        if kind == "bridge":
            channel_expr, pid_expr = call_arg(call, 1, "channel"), None
        else:
            channel_expr, pid_expr = call_arg(call, 0, "channel"), call_arg(call, 1, "producer_id")
        channel, channel_text = self._channel(channel_expr, ctx)
        pid = self._const_str(pid_expr, ctx)
        if kind == "raw":
            assert isinstance(call.func, ast.Attribute)
            store_key = expr_key(call.func.value)
        else:
            store_key = expr_key(call_arg(call, 99, "store"))
        dest, name = self._destination(call, parent, ctx)
        across = (
            ctx.cls is not None
            and self.module is not None
            and bool(ctx.cls.node.bases)
            and self.classes.get(ctx.cls.name) is ctx.cls
        )
        self.calls.append(
            _Call(
                call,
                kind,
                label,
                channel,
                channel_text,
                pid,
                pid_expr,
                store_key,
                ctx,
                dest,
                name,
                across,
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
            stack.extend((child, node, c) for child in children(node))

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
            self.names.add(stmt)
        else:
            self._scan(stmt, None, ctx)

    # --- evidence of cleanup ---------------------------------------------------------------

    def _registrations(self) -> list[Registration]:
        """The registrations in source order, each with the evidence about what keeps it."""
        calls = sorted(self.calls, key=lambda c: (c.call.lineno, c.call.col_offset))
        attrs = {c.name for c in calls if c.dest == "attr" and c.name}
        globs = {c.name for c in calls if c.dest == "global" and c.name}
        local_by_func: dict[int, tuple[_FuncNode, set[str]]] = {}
        for c in calls:
            if c.dest == "local" and c.name and c.ctx.func is not None:
                local_by_func.setdefault(id(c.ctx.func), (c.ctx.func, set()))[1].add(c.name)
        all_locals = {name for _, names in local_by_func.values() for name in names}
        lines = evidence_lines(self.source, attrs | globs | all_locals)
        file_wide = find_evidence(self.tree.body, attrs, globs, lines)
        local_evidence: dict[int, Evidence] = {}
        for func_id, (func, names) in local_by_func.items():
            body = func.body if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef) else []
            local_evidence[func_id] = find_evidence(body, set(), names, lines)
        registrations: list[Registration] = []
        for c in calls:
            evidence, key = _NO_EVIDENCE, ""
            if c.dest in ("attr", "global") and c.name:
                evidence = file_wide
                key = ("attr:" if c.dest == "attr" else "name:") + c.name
            elif c.dest == "local" and c.name and c.ctx.func is not None:
                evidence, key = local_evidence[id(c.ctx.func)], "name:" + c.name
            registrations.append(
                self._registration(c, key in evidence.cleaned, key in evidence.escaped)
            )
        return registrations

    @staticmethod
    def _registration(c: _Call, closed: bool, handed_on: bool) -> Registration:
        ctx = c.ctx
        scope = ctx.cls.node if ctx.cls is not None else ctx.func
        return Registration(
            line=c.call.lineno,
            offset=c.call.col_offset,
            kind=c.kind,
            label=c.label,
            channel=c.channel,
            channel_text=c.channel_text,
            producer_id=c.pid,
            id_at=(
                None
                if c.pid is None or c.pid_expr is None
                else (c.pid_expr.lineno, c.pid_expr.col_offset)
            ),
            id_is_literal=isinstance(c.pid_expr, ast.Constant),
            store=c.store_key,
            owner=ctx.cls.name if ctx.cls is not None else None,
            owner_why=(None if ctx.cls is None or ctx.cls.widget is None else str(ctx.cls.widget)),
            owner_across=c.across,
            function=ctx.func_name,
            in_loop=ctx.loop is not None,
            scope=None if scope is None else id(scope),
            branches=ctx.branches,
            dest=c.dest,
            name=c.name,
            closed=closed,
            handed_on=handed_on,
        )
