"""One corpus file's bytes → `Article` or `Rejection`: decode, split front matter, guarded YAML, normalise.

Everything here is module-level and works on plain bytes so it can run in worker processes. Bad input never
raises: every failure is a `Rejection` naming the field or YAML line and what was wrong.

YAML safety. PyYAML's C composer recurses once per nesting level without any limit, so very deep nesting can
overflow the C stack and kill the process (no `except` can catch that), and aliases can make a tiny file
expand into an exponential structure (billion laughs, `<<:` merge-key chains). libyaml's event parser itself
is an iterative state machine, so it is safe to stream events from it and stop early. A cheap linear
pre-check proves most files harmless (no `*`, few brackets, shallow indentation). The rest are first read by
our own structural scan (pure Python, no libyaml), which bounds block and flow nesting: some libyaml builds
stop deep flow nesting with their own error while scanning ahead, so the reason a user sees must come from
us before libyaml is asked. Then libyaml's events are streamed, bounding alias expansion (and, exactly,
nesting) before anything is composed.

Speed. libyaml parses in C, but PyYAML builds the Python values in Python, one generic call per node: most of
a load's time. Front matter without aliases (no `*`) is built by `_construct` instead, which turns string
mappings, sequences and strings into dicts, lists and strs directly and hands every other node to PyYAML's
own constructor, with the same result; anything it cannot build is loaded again by `yaml.load`, so errors
read exactly as before.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.corpus.model import Article, Rejection
from bot.corpus.normalize import normalize_article

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 1 << 20
MAX_DEPTH = 64
MAX_ALIAS_EXPANSION = 100_000

_BOM = b"\xef\xbb\xbf"
_FRONT_MATTER_FIRST_LINE = 2  # the YAML text starts on the line after the opening `---`
_OPENING = re.compile(r"---\n")

# Fast-path bounds: block nesting adds at most two levels per leading column (indentation plus the `- `,
# `? ` and `: ` indicators), flow nesting at most one per bracket, so under these limits the depth stays
# well below MAX_DEPTH without looking at events.
_FAST_PATH_MAX_BRACKETS = 24
_DEEP_FIRST_LINE = re.compile(r"[ \t?:-]{16}")
_DEEP_LINE = re.compile(r"\n[ \t?:-]{16}")

_COLLECTION_START = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_COLLECTION_END = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


class _Unsafe(Exception):
    """The front matter nests too deeply or its aliases expand too far; `line` is the file line."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem


def _needs_event_check(text: str) -> bool:
    """False when the text provably has no aliases and shallow nesting (the common case)."""
    return (
        "*" in text
        or text.count("[") + text.count("{") > _FAST_PATH_MAX_BRACKETS
        or _DEEP_FIRST_LINE.match(text) is not None
        or _DEEP_LINE.search(text) is not None
    )


class _StructureScan:
    """Nesting depth of YAML text without libyaml: the block indentation stack plus the flow depth.

    It follows YAML's lexical rules closely enough to bound depth from above: quoted scalars, comments
    and block scalars are skipped, and `[`/`{` open a flow collection only where a node may start (in a
    flow collection, or at the start of a block value), so brackets inside ordinary text do not count.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.indents: list[int] = []  # columns of the open block collections
        self.flow = 0  # open flow collections
        self.quote = ""  # the open quoted scalar's quote character, or ""
        self.block_scalar_parent: int | None = None  # indentation of a `|`/`>` scalar's parent line

    def check(self, text: str) -> None:
        for number, line in enumerate(text.split("\n")):
            self._line(number + _FRONT_MATTER_FIRST_LINE, line)

    def _deeper(self, line: int) -> None:
        if len(self.indents) + self.flow > self.limit:
            raise _Unsafe(line, f"nesting deeper than {self.limit} levels")

    def _line(self, number: int, line: str) -> None:
        content = line.lstrip(" ")
        column = len(line) - len(content)
        if not self.quote and not self.flow:
            if self.block_scalar_parent is not None:
                if not content or column > self.block_scalar_parent:
                    return
                self.block_scalar_parent = None
            if not content or content.startswith("#"):
                return
            while self.indents and self.indents[-1] > column:
                self.indents.pop()
            if not self.indents or self.indents[-1] < column:
                self.indents.append(column)
                self._deeper(number)
            # `- `, `? ` and `: ` at the start of a line each open a collection nested one level deeper.
            while len(line) > column + 1 and line[column] in "-?:" and line[column + 1] in " \t":
                column += 2
                while column < len(line) and line[column] in " \t":
                    column += 1
                if column < len(line) and line[column] != "#":
                    self.indents.append(column)
                    self._deeper(number)
        self._tokens(number, line, column)

    def _tokens(self, number: int, line: str, start: int) -> None:
        node_start = True  # a new node (and so a flow collection or a quoted scalar) may begin here
        index = start
        while index < len(line):
            char = line[index]
            if self.quote:
                if char == "\\" and self.quote == '"':
                    index += 1
                elif char == self.quote:
                    if self.quote == "'" and line.startswith("'", index + 1):
                        index += 1
                    else:
                        self.quote = ""
                        node_start = False
            elif char == "#" and (index == 0 or line[index - 1] in " \t"):
                return
            elif char in " \t":
                pass
            elif node_start and char in "[{":
                self.flow += 1
                self._deeper(number)
            elif self.flow and char in "]}":
                self.flow -= 1
                node_start = False
            elif node_start and char in "\"'":
                self.quote = char
            elif node_start and not self.flow and char in "|>":
                self.block_scalar_parent = self.indents[-1] if self.indents else 0
                return
            elif node_start and char in "&!":
                while index + 1 < len(line) and line[index + 1] not in " \t":
                    index += 1
            else:
                node_start = self._starts_a_node_after(line, index)
            index += 1

    def _starts_a_node_after(self, line: str, index: int) -> bool:
        """Whether the indicator at `index` (`,` in flow, `: `, `? `, `- `) leaves room for a new node."""
        char, after = line[index], line[index + 1 : index + 2]
        if char == "," and self.flow:
            return True
        if char in ":?-" and after in ("", " ", "\t"):
            return True
        return char == ":" and bool(self.flow) and after in (",", "]", "}")


def _check_events(text: str) -> None:
    """Stream libyaml events, raising `_Unsafe` on nesting deeper than MAX_DEPTH or aliases that would
    expand to more than MAX_ALIAS_EXPANSION nodes (each anchor's expanded size is computed once)."""
    loader = yaml.CSafeLoader(text)
    try:
        anchored_sizes: dict[str, int] = {}
        open_collections: list[list] = []  # [anchor, expanded size so far]
        expanded_by_aliases = 0
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.ScalarEvent):
                size = 1
                if event.anchor is not None:
                    anchored_sizes[event.anchor] = 1
            elif isinstance(event, yaml.AliasEvent):
                size = anchored_sizes.get(event.anchor, 1)
                expanded_by_aliases += size
                if expanded_by_aliases > MAX_ALIAS_EXPANSION:
                    raise _Unsafe(
                        event.start_mark.line + _FRONT_MATTER_FIRST_LINE,
                        f"aliases expand to more than {MAX_ALIAS_EXPANSION} nodes (alias bomb?)",
                    )
            elif isinstance(event, _COLLECTION_START):
                if len(open_collections) >= MAX_DEPTH:
                    raise _Unsafe(
                        event.start_mark.line + _FRONT_MATTER_FIRST_LINE,
                        f"nesting deeper than {MAX_DEPTH} levels",
                    )
                open_collections.append([event.anchor, 1])
                continue
            elif isinstance(event, _COLLECTION_END):
                anchor, size = open_collections.pop()
                if anchor is not None:
                    anchored_sizes[anchor] = size
            else:
                continue
            if open_collections:
                open_collections[-1][1] += size
    finally:
        loader.dispose()


def unsafe_yaml(text: str) -> tuple[int, str] | None:
    """The guards above for any YAML document (the configuration file too): None when `text` is safe to
    load, else the line (1-based, counted in `text`) and what is wrong."""
    if not _needs_event_check(text):
        return None
    try:
        _StructureScan(MAX_DEPTH).check(text)
        _check_events(text)
    except _Unsafe as error:
        return error.line - _FRONT_MATTER_FIRST_LINE + 1, error.problem
    return None


_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
# CSafeLoader's implicit resolvers by a plain scalar's first character, each list followed by the
# resolvers for any first character, as PyYAML's `BaseResolver.resolve` tries them.
_WILDCARD_RESOLVERS = tuple(yaml.CSafeLoader.yaml_implicit_resolvers.get(None, []))
_RESOLVERS_BY_FIRST_CHAR = {
    first: (*resolvers, *_WILDCARD_RESOLVERS)
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
    if first is not None
}


#: Tags of short plain scalars already resolved (keys and small values recur in every file); bounded.
_PLAIN_TAGS: dict[str, str] = {}
_PLAIN_TAGS_SIZE, _PLAIN_TAG_CHARS = 4096, 40


class _FrontMatterLoader(yaml.CSafeLoader):
    """CSafeLoader with PyYAML's tag resolution done in fewer steps, giving the same tags: SafeLoader has
    no path resolvers (so descending and ascending need no bookkeeping, and a quoted or block scalar is
    always a string), and a plain scalar tries the same implicit resolvers in the same order; its tag
    depends on its text alone, so a short one's is remembered."""

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is not ScalarNode:
            return super().resolve(kind, value, implicit)  # type: ignore[no-any-return]
        if not implicit[0]:
            return _STR_TAG
        tag = _PLAIN_TAGS.get(value)
        if tag is None:
            tag = _STR_TAG
            for implicit_tag, regexp in _RESOLVERS_BY_FIRST_CHAR.get(value[:1], _WILDCARD_RESOLVERS):
                if regexp.match(value):
                    tag = implicit_tag
                    break
            if len(value) <= _PLAIN_TAG_CHARS and len(_PLAIN_TAGS) < _PLAIN_TAGS_SIZE:
                _PLAIN_TAGS[value] = tag
        return tag


# Constructors of plain values (not generators): called directly for a scalar, without the bookkeeping
# `construct_object` keeps for shared and recursive nodes, which a document without aliases has none of.
_SCALAR_CONSTRUCTORS = {
    f"tag:yaml.org,2002:{name}": yaml.CSafeLoader.yaml_constructors[f"tag:yaml.org,2002:{name}"]
    for name in ("null", "bool", "int", "float", "timestamp")
}


def _construct(loader: yaml.CSafeLoader, node: Node) -> Any:
    """The value of `node`, as `loader.construct_document` would build it, for a document without aliases
    (every node is built once, so no two values need to be the same object)."""
    tag = node.tag
    if tag == _STR_TAG and type(node) is ScalarNode:
        return node.value
    if tag == _MAP_TAG and type(node) is MappingNode:
        mapping = {}
        for key_node, value_node in node.value:
            if key_node.tag != _STR_TAG or type(key_node) is not ScalarNode:
                return loader.construct_object(node, deep=True)  # merge keys, non-string keys
            if value_node.tag == _STR_TAG and type(value_node) is ScalarNode:
                mapping[key_node.value] = value_node.value  # the commonest case, without a call
            else:
                mapping[key_node.value] = _construct(loader, value_node)
        return mapping
    if tag == _SEQ_TAG and type(node) is SequenceNode:
        return [_construct(loader, child) for child in node.value]
    constructor = _SCALAR_CONSTRUCTORS.get(tag)
    if constructor is not None and type(node) is ScalarNode:
        return constructor(loader, node)
    return loader.construct_object(node, deep=True)


def load_front_matter(text: str) -> Any:
    """`yaml.load(text, Loader=yaml.CSafeLoader)`, faster (see the module docstring): the same value, or
    the same exception. `text` must already have passed the guards above."""
    if "*" not in text:
        loader = _FrontMatterLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            try:
                return _construct(loader, node)
            except Exception:
                pass  # yaml.load below raises the error a reader should see
        finally:
            loader.dispose()
    return yaml.load(text, Loader=yaml.CSafeLoader)


def _yaml_problem(error: yaml.YAMLError) -> str:
    """`line N: problem (context)` for a libyaml error, with N counted in the whole file. A tag's text is
    never repeated: it is part of a field's value, and rejection reasons are shown publicly."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        line = error.problem_mark.line + _FRONT_MATTER_FIRST_LINE
        if (error.problem or "").startswith("could not determine a constructor for the tag"):
            return f"line {line}: unsupported YAML tag (only plain values are allowed)"
        context = f" ({error.context})" if error.context else ""
        return f"line {line}: {error.problem}{context}"
    return f"front matter: {error}"


def _split_front_matter(text: str) -> str:
    """The YAML between the opening `---` line and the next line that is exactly `---`."""
    opening = _OPENING.match(text)
    if opening is None:
        raise ValueError("line 1: no front matter (the file must start with a '---' line)")
    newline = opening.end() - 1
    while (newline := text.find("\n---", newline)) >= 0:
        rest_start = newline + 4
        rest_end = text.find("\n", rest_start)
        if rest_end == rest_start or (rest_end < 0 and rest_start == len(text)):
            return text[opening.end() : newline + 1]
        newline = rest_start
    raise ValueError("front matter: no closing '---' line")


def parse_article(name: str, data: bytes) -> Article | Rejection:
    """Decode, split, safely load and normalise one corpus file; never raises for bad input."""
    offset = 0
    if data.startswith(_BOM):
        offset = len(_BOM)
        data = data[offset:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        problem = f"not valid UTF-8 at byte offset {error.start + offset} ({error.reason})"
        return Rejection(file=name, reason=f"encoding: {problem}")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    try:
        front_matter = _split_front_matter(text)
    except ValueError as error:
        return Rejection(file=name, reason=str(error))

    try:
        if _needs_event_check(front_matter):
            _StructureScan(MAX_DEPTH).check(front_matter)
            _check_events(front_matter)
        raw = load_front_matter(front_matter)
    except _Unsafe as error:
        log.warning("rejected unsafe YAML in %s at line %d: %s", name, error.line, error.problem)
        return Rejection(file=name, reason=f"line {error.line}: {error.problem}")
    except yaml.YAMLError as error:
        return Rejection(file=name, reason=_yaml_problem(error))
    except (ValueError, TypeError, OverflowError, RecursionError) as error:
        return Rejection(file=name, reason=f"front matter: invalid value ({error})")

    if raw is None:
        return Rejection(file=name, reason="front matter: empty")
    if not isinstance(raw, dict):
        kind = type(raw).__name__
        return Rejection(file=name, reason=f"front matter: expected a mapping of fields, got a {kind}")
    return normalize_article(name, raw)


def read_article(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> Article | Rejection:
    """Read and parse one corpus file; files over `max_bytes` are rejected without being read."""
    name = path.name
    too_big = f"file: larger than the {max_bytes}-byte limit"
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return Rejection(file=name, reason=f"{too_big} ({size} bytes)")
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as error:
        return Rejection(file=name, reason=f"file: cannot read ({error.strerror or error})")
    if len(data) > max_bytes:
        return Rejection(file=name, reason=too_big)
    return parse_article(name, data)
