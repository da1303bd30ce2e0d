"""User text → a safe FTS5 MATCH expression.

People type anything: quotes, `AND`, `C++`, parentheses, `title:x`, `-x`. None of it may reach FTS5's
query syntax, so every word becomes a double-quoted string (FTS5's literal form, `"` doubled inside),
which FTS5 tokenizes with the index's own tokenizer. What survives as syntax is only what we emit:
`AND` between terms, a phrase for `"quoted words"`, and `*` after a word or phrase that ended in `*`.

Every term costs a walk over its doclist, and a prefix term first expands into every indexed word it
starts, so the number of terms and of prefix terms is capped (`QueryTooBroad` says which cap and what to
drop). Digest keywords from config.yaml are the operator's own and skip the caps (`bounded=False`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from bot.store.snippets import Phrase, phrase_of

# A quoted phrase (the closing quote may be missing: the phrase runs to the end), or a bare word.
_TERM = re.compile(r'"([^"]*)(?:"|$)(\**)|([^\s"]+)')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

#: The index's columns that hold text; every expression built here matches in these only, never in the
#: publication date terms of `fts_dates` (migration 0005), which a member could otherwise type.
TEXT_COLUMNS = "title excerpt related_titles"

#: The longest search text any option that feeds full-text search accepts (Discord's `max_length`).
MAX_QUERY_CHARS = 200
#: At most this many terms (words or quoted phrases) in one search, and of them this many prefixes (`x*`).
MAX_TERMS = 12
MAX_PREFIX_TERMS = 3


class EmptyQuery(ValueError):
    """The search text is empty or only whitespace: a usage error, not a search."""


class QueryTooBroad(ValueError):
    """The search has more terms or prefix terms than allowed; the message tells the member what to drop."""


def _has_token(text: str) -> bool:
    """Whether FTS5's unicode61 tokenizer will find a token here (letters and digits are token chars)."""
    return any(char.isalnum() for char in text)


def _literal(text: str, prefix: bool) -> str:
    quoted = '"' + text.replace('"', '""') + '"'
    return quoted + " *" if prefix else quoted


def build_match(
    text: str, *, prefix_last: bool = False, bounded: bool = True,
    expand: Callable[[str], Sequence[str] | None] | None = None,
) -> str | None:
    """The MATCH expression for `text`: terms ANDed, phrases kept, trailing `*` a prefix, in the text
    columns only (`TEXT_COLUMNS`).

    `prefix_last` makes the last term a prefix as well (autocomplete: the word being typed). `expand`
    (`bot.store.vocabulary.Vocabulary.expansion`) may write a one-word prefix out as the words it covers,
    which match the same articles but are walked lazily; it returns None to keep the prefix.
    Returns None when nothing searchable is left (punctuation only: matches nothing).
    Raises EmptyQuery for an empty or whitespace-only string, and (when `bounded`) QueryTooBroad for more
    than MAX_TERMS terms or MAX_PREFIX_TERMS prefix terms.
    """
    if not text.strip():
        raise EmptyQuery("the search text is empty")
    terms = _terms(text)
    if not terms:
        return None
    if prefix_last and not terms[-1].endswith("*"):
        terms[-1] += " *"
    if bounded:
        _check_bounds(terms)
    if expand is not None:
        terms = [_expanded(term, expand) for term in terms]
    return f"{{{TEXT_COLUMNS}}} : ({' AND '.join(terms)})"


def _expanded(term: str, expand: Callable[[str], Sequence[str] | None]) -> str:
    """A one-word prefix term as the words `expand` gives for it; any other term as it is."""
    if not term.endswith('" *'):
        return term
    phrase = phrase_of(term[1:-3].replace('""', '"'), prefix=True)
    if phrase is None or len(phrase.tokens) != 1:
        return term
    words = expand(phrase.tokens[0])
    if not words:
        return term
    return "(" + " OR ".join(_literal(word, prefix=False) for word in words) + ")"


def _terms(text: str) -> list[str]:
    """The searchable terms of `text` as FTS5 literals, a prefix ending in ` *`."""
    terms: list[str] = []
    for phrase, phrase_stars, word in _TERM.findall(_CONTROL.sub(" ", text)):
        if word:
            body = word.rstrip("*")
            prefix = body != word
        else:
            body = " ".join(phrase.split())
            prefix = bool(phrase_stars)
        if _has_token(body):
            terms.append(_literal(body, prefix))
    return terms


def query_phrases(text: str, *, prefix_last: bool = False) -> tuple[Phrase, ...]:
    """The phrases `build_match(text)` searches for, as the index tokenizes them (for `snippets`)."""
    phrases: list[Phrase] = []
    for phrase, phrase_stars, word in _TERM.findall(_CONTROL.sub(" ", text)):
        body = word.rstrip("*") if word else phrase
        prefix = word != body if word else bool(phrase_stars)
        found = phrase_of(body, prefix=prefix)
        if found is not None:
            phrases.append(found)
    if prefix_last and phrases:
        phrases[-1] = Phrase(phrases[-1].tokens, prefix=True)
    return tuple(phrases)


def prefix_terms(text: str) -> int:
    """How many prefix terms (`x*`) `text` searches for."""
    return sum(term.endswith("*") for term in _terms(text))


def _check_bounds(terms: list[str]) -> None:
    """Raise QueryTooBroad when the built terms exceed MAX_TERMS or MAX_PREFIX_TERMS."""
    if len(terms) > MAX_TERMS:
        raise QueryTooBroad(
            f"That search has {len(terms)} words; use at most {MAX_TERMS}: keep the words that matter "
            "most, or add a filter."
        )
    prefixes = sum(term.endswith("*") for term in terms)
    if prefixes > MAX_PREFIX_TERMS:
        raise QueryTooBroad(
            f"That search has {prefixes} words ending in *; use at most {MAX_PREFIX_TERMS}: spell the "
            "others out in full."
        )
