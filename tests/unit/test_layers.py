"""The map in ARCHITECTURE.md, held by a test: the core never reaches the shell, and nothing imports in a
circle.

Only imports that run when a module is imported count: an import under `if TYPE_CHECKING:` (type hints)
or inside a function (a lazy import, as `digestbot run` does for the client) creates no import-time
dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "bot"

CORE = ("bot.corpus", "bot.digest", "bot.render", "bot.store")
"""Plain functions over dataclasses and the store: testable without Discord."""

CORE_MAY_USE = ("bot.clock", "bot.config", "bot.shards", "bot.logs")
"""Outside the core packages, the plain modules the core may still import: the clock, the configuration's
dataclasses, shard arithmetic, and the log redaction's `SecretValue`."""

SHELL_DISCORD = "bot.discord"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_time_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements that run on import: the module body, descending into `if`/`try`/`with`, skipping
    `if TYPE_CHECKING:` and the bodies of functions and classes' methods."""
    for statement in body:
        if isinstance(statement, ast.If):
            if not _is_type_checking(statement.test):
                yield from _import_time_statements(statement.body)
            yield from _import_time_statements(statement.orelse)
        elif isinstance(statement, ast.Try):
            for block in (statement.body, statement.orelse, statement.finalbody):
                yield from _import_time_statements(block)
            for handler in statement.handlers:
                yield from _import_time_statements(handler.body)
        elif isinstance(statement, ast.With):
            yield from _import_time_statements(statement.body)
        else:
            yield statement


def imports_of(module: str) -> set[str]:
    """What `module` imports when imported: full module names (bot's own resolved to the module, a
    `from bot.x import name` to `bot.x.name` when that is a module)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: set[str] = set()
    for statement in _import_time_statements(tree.body):
        if isinstance(statement, ast.Import):
            found.update(alias.name for alias in statement.names)
        elif isinstance(statement, ast.ImportFrom) and statement.module:
            base = statement.module
            if statement.level:
                package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
                for _ in range(statement.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}" if base else package
            for alias in statement.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in MODULES else base)
    return found


GRAPH: dict[str, set[str]] = {module: imports_of(module) for module in MODULES}


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("module", [m for m in MODULES if any(_within(m, core) for core in CORE)])
def test_the_core_imports_neither_discord_nor_the_shell(module: str) -> None:
    def allowed(name: str) -> bool:
        if _within(name, "discord"):
            return False
        if not _within(name, "bot") or name == "bot":
            return True
        return any(_within(name, allowed) for allowed in (*CORE_MAY_USE, *CORE))

    reached = sorted(name for name in GRAPH[module] if not allowed(name))
    assert reached == [], f"{module} imports {reached} when imported"


@pytest.mark.parametrize("module", [m for m in MODULES if not _within(m, SHELL_DISCORD)])
def test_only_the_discord_half_imports_it_at_import_time(module: str) -> None:
    reached = sorted(name for name in GRAPH[module] if _within(name, SHELL_DISCORD))
    assert reached == [], f"{module} imports {reached} when imported; use an interface or a lazy import"


def type_only_imports_of(module: str) -> set[str]:
    """What `module` imports under `if TYPE_CHECKING:` (anywhere at module level)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.module:
                    found.add(statement.module)
                elif isinstance(statement, ast.Import):
                    found.update(alias.name for alias in statement.names)
    return found


@pytest.mark.parametrize("module", [m for m in MODULES if not _within(m, SHELL_DISCORD)])
def test_outside_the_discord_half_the_client_is_not_even_a_type(module: str) -> None:
    # Delivery, announcements and the audit trail take a `bot.host.BotHost`, the client provides it.
    named = sorted(name for name in type_only_imports_of(module) if _within(name, SHELL_DISCORD))
    assert named == [], f"{module} names {named} for type hints; use bot.host.BotHost"


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle among bot's modules (Tarjan's strongly connected components, size > 1 or a
    module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node] & graph.keys()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_no_module_imports_in_a_circle() -> None:
    # A package's __init__ importing its own modules is not a cycle worth the name: its modules import
    # siblings by full name, which imports the package first either way.
    graph = {
        module: {t for t in targets if not (MODULES[module].name == "__init__.py" and _within(t, module))}
        for module, targets in GRAPH.items()
    }
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"a"}}) == [["a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_imports_under_type_checking_and_in_functions_do_not_count(tmp_path: Path) -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "import bot.clock\n"
        "if TYPE_CHECKING:\n    from bot.discord.client import DigestBot\n"
        "def run():\n    from bot.discord.runtime import run_bot\n"
        "try:\n    import bot.logs\nexcept ImportError:\n    pass\n"
    )
    tree = ast.parse(source)
    names = {
        alias.name
        for statement in _import_time_statements(tree.body)
        if isinstance(statement, ast.Import)
        for alias in statement.names
    }
    froms = {
        statement.module
        for statement in _import_time_statements(tree.body)
        if isinstance(statement, ast.ImportFrom)
    }
    assert names == {"bot.clock", "bot.logs"}
    assert froms == {"typing"}
