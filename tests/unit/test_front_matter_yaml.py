"""`load_front_matter` builds values faster than `yaml.load(…, CSafeLoader)`: it must build the same values
(same types, same nesting) and raise the same errors, for every kind of node YAML has."""

from __future__ import annotations

import random
from typing import Any

import pytest
import yaml

from bot.corpus.parse import load_front_matter

SCALARS = (
    "plain text", '"quoted: text"', "'single ''quoted'''", "42", "-17", "0x1f", "0o17", "1_000", "190:20:30",
    "3.25", "-.inf", ".NaN", "1e3", "true", "False", "yes", "off", "~", "null", "", "2024-03-01",
    "2024-03-01T09:30:00Z", "2024-03-01 09:30:00.5 +02:00", "2024-13-45", "!!str 42", "!!int '7'",
    "!!float 1", "!!binary aGVsbG8=", "!!timestamp 2024-01-02", "&anchor anchored", "https://example.com/a?b=1#c",
    "«Ёлка» ёлка", "'multi\n  line'", "!!bool yes", "!!null ''", "0b101", "+12", "012", "'2024-03-01'",
)
BLOCKS = (
    "|\n  literal\n  block\n", ">\n  folded\n  block\n", "|-\n  kept\n",
)
KEYS = ("title", "url", "related", "1", "true", "~", "'quoted key'", "2024-01-01", "3.5", "ключ")
ODD_DOCUMENTS = (
    "base: &b {x: 1, y: 2}\nmerged:\n  <<: {x: 9}\n  z: 3\n",
    "m:\n  <<: [{a: 1}, {b: 2}]\n  c: 3\n",
    "? [a, b]\n: unhashable key\n",
    "? {a: 1}\n: unhashable key\n",
    "= : value key\n",
    "k: !!set {a, b}\n",
    "k: !!omap [a: 1, b: 2]\n",
    "k: !!pairs [a: 1, a: 2]\n",
    "dup: 1\ndup: 2\n",
    "k: !!python/object:os.system x\n",
    "k: !custom tag\n",
    "k: !!map [a]\n",
    "k: !!seq {a: 1}\n",
    "k: !!str {a: 1}\n",
    "k: !!int nope\n",
    "k: !!float nope\n",
    "k: !!bool nope\n",
    "k: !!timestamp nope\n",
    "k: !!binary '***'\n",
    "a: 1\n---\nb: 2\n",
    "",
    "# only a comment\n",
    "- a\n- b\n",
    "just a string\n",
    "k: [1, {a: [2, 3]}, [4, [5]]]\n",
    "k: {nested: {deeper: {deepest: [x]}}}\n",
    "k: 2024-02-30\n",
    "k: 1\n bad indent: 2\n",
    "k: 'unclosed\n",
    "1: int key\n2.5: float key\nnull: null key\ntrue: bool key\n",
)


def _first_line(text: str) -> str:
    return text.split("\n")[0]


def _document(rng: random.Random, depth: int = 0) -> str:
    """A random block mapping built from the pieces above."""
    lines = []
    indent = "  " * depth
    for _ in range(rng.randrange(1, 6)):
        key = rng.choice(KEYS)
        kind = rng.random()
        if kind < 0.5 or depth >= 3:
            value = rng.choice(SCALARS)
            if "\n" in value:
                value = value.replace("\n", "\n" + indent)
            lines.append(f"{indent}{key}: {value}")
        elif kind < 0.6:
            block = rng.choice(BLOCKS).replace("\n  ", f"\n{indent}  ").rstrip("\n")
            lines.append(f"{indent}{key}: {block}")
        elif kind < 0.8:
            lines.append(f"{indent}{key}:")
            for _ in range(rng.randrange(0, 4)):
                lines.append(f"{indent}  - {_first_line(rng.choice(SCALARS))}")
        elif kind < 0.9:
            items = ", ".join(_first_line(rng.choice(SCALARS)) for _ in range(rng.randrange(0, 4)))
            lines.append(f"{indent}{key}: [{items}]")
        else:
            lines.append(f"{indent}{key}:")
            lines.append(_document(rng, depth + 1))
    return "\n".join(lines) + "\n"


def _outcome(load: Any, text: str) -> tuple[str, Any]:
    try:
        return "value", _typed(load(text))
    except Exception as error:  # the exception itself is what is compared
        return "error", (type(error), str(error))


def _typed(value: Any) -> Any:
    """The value with the type of every part spelled out (1 == 1.0 == True must not pass as equal)."""
    if isinstance(value, dict):
        return ("dict", [(_typed(key), _typed(item)) for key, item in value.items()])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_typed(item) for item in value])
    if isinstance(value, set):
        return ("set", sorted(map(repr, value)))
    if isinstance(value, float) and value != value:
        return ("float", "nan")
    return (type(value).__name__, value)


def _standard(text: str) -> Any:
    return yaml.load(text, Loader=yaml.CSafeLoader)


@pytest.mark.parametrize("text", ODD_DOCUMENTS)
def test_odd_documents_load_as_with_pyyaml(text: str) -> None:
    assert _outcome(load_front_matter, text) == _outcome(_standard, text)


def test_generated_documents_load_as_with_pyyaml() -> None:
    rng = random.Random(11)
    outcomes = []
    for _ in range(3_000):
        text = _document(rng)
        fast, standard = _outcome(load_front_matter, text), _outcome(_standard, text)
        assert fast == standard, text
        outcomes.append(fast[0])
    assert outcomes.count("value") > 1_000 and outcomes.count("error") > 100, "both kinds of outcome tried"


def test_values_are_distinct_objects_only_where_pyyaml_shares_none() -> None:
    text = "a: &x [1, 2]\nb: *x\n"
    loaded = load_front_matter(text)
    assert loaded == _standard(text)
    assert loaded["a"] is loaded["b"], "a document with aliases is built by PyYAML itself"
