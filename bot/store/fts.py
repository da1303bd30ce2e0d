"""User text → a safe FTS5 MATCH expression.

People type anything: quotes, `AND`, `C++`, parentheses, `title:x`, `-x`. None of it may reach FTS5's
query syntax, so every word becomes a double-quoted string (FTS5's literal form, `"` doubled inside),
which FTS5 tokenizes with the index's own tokenizer. What survives as syntax is only what we emit:
`AND` between terms, a phrase for `"quoted words"`, and `*` after a word or phrase that ended in `*`.
"""

from __future__ import annotations

import re

# A quoted phrase (the closing quote may be missing: the phrase runs to the end), or a bare word.
_TERM = re.compile(r'"([^"]*)(?:"|$)(\**)|([^\s"]+)')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class EmptyQuery(ValueError):
    """The search text is empty or only whitespace: a usage error, not a search."""


def _has_token(text: str) -> bool:
    """Whether FTS5's unicode61 tokenizer will find a token here (letters and digits are token chars)."""
    return any(char.isalnum() for char in text)


def _literal(text: str, prefix: bool) -> str:
    quoted = '"' + text.replace('"', '""') + '"'
    return quoted + " *" if prefix else quoted


def build_match(text: str, *, prefix_last: bool = False) -> str | None:
    """The MATCH expression for `text`: terms ANDed, phrases kept, trailing `*` a prefix.

    `prefix_last` makes the last term a prefix as well (autocomplete: the word being typed).
    Returns None when nothing searchable is left (punctuation only: matches nothing).
    Raises EmptyQuery for an empty or whitespace-only string.
    """
    if not text.strip():
        raise EmptyQuery("the search text is empty")
    cleaned = _CONTROL.sub(" ", text)
    terms: list[str] = []
    for phrase, phrase_stars, word in _TERM.findall(cleaned):
        if word:
            body = word.rstrip("*")
            prefix = body != word
        else:
            body = " ".join(phrase.split())
            prefix = bool(phrase_stars)
        if _has_token(body):
            terms.append(_literal(body, prefix))
    if not terms:
        return None
    if prefix_last and not terms[-1].endswith("*"):
        terms[-1] += " *"
    return " AND ".join(terms)
