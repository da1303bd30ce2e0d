"""User text → safe FTS5 MATCH expressions, checked against a real FTS5 table."""

from __future__ import annotations

import random
import sqlite3

import pytest

from bot.store.fts import MAX_PREFIX_TERMS, MAX_TERMS, TEXT_COLUMNS, EmptyQuery, QueryTooBroad, build_match

DOCUMENTS = [
    "C++ compilers and the new orleans police",
    "Facial recognition returns to New Orleans",
    "AND OR NOT NEAR are plain words here",
    "Café society: e-mail from São Paulo",
]


def in_text(expression: str) -> str:
    return f"{{{TEXT_COLUMNS}}} : ({expression})"


@pytest.fixture
def index() -> sqlite3.Connection:
    """The articles index's columns: each document is an excerpt, every one published on 2022-03-15."""
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE docs USING fts5(title, excerpt, related_titles, fts_dates, "
        "tokenize='unicode61 remove_diacritics 2', prefix='2 3')"
    )
    conn.executemany(
        "INSERT INTO docs (rowid, title, excerpt, related_titles, fts_dates) "
        "VALUES (?, '', ?, '', 'y2022 m202203 d20220315')",
        list(enumerate(DOCUMENTS, start=1)),
    )
    return conn


def matches(conn: sqlite3.Connection, text: str) -> list[int]:
    expression = build_match(text)
    if expression is None:
        return []
    rows = conn.execute("SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY rowid", (expression,))
    return [row[0] for row in rows]


def test_words_are_anded(index: sqlite3.Connection) -> None:
    assert matches(index, "orleans police") == [1]
    assert matches(index, "orleans") == [1, 2]


def test_quoted_phrase_is_kept(index: sqlite3.Connection) -> None:
    assert matches(index, '"new orleans"') == [1, 2]
    assert matches(index, '"orleans new"') == []


def test_trailing_star_is_a_prefix(index: sqlite3.Connection) -> None:
    assert matches(index, "recog*") == [2]
    assert matches(index, "recog") == []
    assert matches(index, '"facial recog"*') == [2]


def test_operators_are_literal_words(index: sqlite3.Connection) -> None:
    assert build_match("AND") == in_text('"AND"')
    assert matches(index, "NOT NEAR") == [3]
    assert matches(index, "C++") == [1]


def test_diacritics_are_ignored(index: sqlite3.Connection) -> None:
    assert matches(index, "cafe sao") == [4]


def test_column_filter_and_minus_are_not_syntax(index: sqlite3.Connection) -> None:
    # `body:orleans` is the literal phrase "body orleans", not a column filter; `-police` is the word.
    assert build_match("body:orleans") == in_text('"body:orleans"')
    assert matches(index, "body:orleans") == []
    assert matches(index, "-police") == [1]


def test_date_terms_typed_by_a_member_match_nothing(index: sqlite3.Connection) -> None:
    """Publication dates are index terms for filters (migration 0005); typed, they are just words."""
    assert index.execute("SELECT count(*) FROM docs WHERE docs MATCH 'm202203'").fetchone() == (4,)
    for typed in ("m202203", "y2022", "d20220315", "y2*", "fts_dates:m202203", "{fts_dates}: y2022"):
        assert matches(index, typed) == [], typed


def test_punctuation_only_matches_nothing() -> None:
    assert build_match("( ) - : ^ * ++") is None
    assert build_match('"') is None


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_empty_text_is_a_usage_error(text: str) -> None:
    with pytest.raises(EmptyQuery):
        build_match(text)


def test_prefix_last_for_autocomplete(index: sqlite3.Connection) -> None:
    expression = build_match("facial reco", prefix_last=True)
    assert expression == in_text('"facial" AND "reco" *')
    rows = index.execute("SELECT rowid FROM docs WHERE docs MATCH ?", (expression,))
    assert [row[0] for row in rows] == [2]


HOSTILE = [
    '"', '""', '"""', 'a"b', '"unbalanced phrase', "AND", "OR", "NOT", "NEAR", "NEAR(a b, 3)", "a AND",
    "OR b", "C++", "(", ")", "((a)", "a)", "-", "-a", ":", "title:", "{title}: x", "^a", "*", "a**", "* a",
    "'",
    "\\", "\x00", "a\x00b", "\u200b", "🙂", "a:b:c", "+", "a + b", "a - b", "NOT a", "x" * 300,
    " ".join(["word"] * 12), '"' * 300,
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_input_never_breaks_fts(index: sqlite3.Connection, text: str) -> None:
    matches(index, text)


def test_random_punctuation_soup_never_breaks_fts(index: sqlite3.Connection) -> None:
    alphabet = 'aC+"()*-:^{}[]\'\\/.,;!?&|~<>@#$%=_ ANDORNEAR' + "\t\n\x00é"
    generator = random.Random(20240229)
    for _ in range(2000):
        text = "".join(generator.choice(alphabet) for _ in range(generator.randint(1, 40)))
        if text.strip():
            matches(index, text)


def test_too_many_terms_are_refused_saying_how_many_are_allowed() -> None:
    with pytest.raises(QueryTooBroad) as refused:
        build_match(" ".join(["word"] * (MAX_TERMS + 1)))
    assert str(refused.value) == (
        f"That search has {MAX_TERMS + 1} words; use at most {MAX_TERMS}: keep the words that matter most, "
        "or add a filter."
    )
    assert build_match(" ".join(["word"] * MAX_TERMS)) is not None


def test_too_many_prefix_terms_are_refused_and_autocomplete_counts_the_word_being_typed() -> None:
    with pytest.raises(QueryTooBroad) as refused:
        build_match(" ".join(["t*"] * 300))
    assert str(refused.value) == (
        f"That search has 300 words; use at most {MAX_TERMS}: keep the words that matter most, "
        "or add a filter."
    )
    with pytest.raises(QueryTooBroad) as refused:
        build_match("a* b* c* d*")
    assert str(refused.value) == (
        f"That search has 4 words ending in *; use at most {MAX_PREFIX_TERMS}: spell the others out in full."
    )
    assert build_match("a* b* c*") is not None
    with pytest.raises(QueryTooBroad):
        build_match("a* b* c* d", prefix_last=True)


def test_unbounded_building_is_for_the_operators_own_keywords() -> None:
    assert build_match(" ".join(["t*"] * 300), bounded=False) is not None
