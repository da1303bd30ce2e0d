"""Snippets chosen in Python are the passages FTS5's own `snippet()` chooses, highlights included."""

from __future__ import annotations

import random
import sqlite3

import pytest

from bot.render.text import HIGHLIGHT_END, HIGHLIGHT_START
from bot.store.fts import build_match, query_phrases
from bot.store.search import SNIPPET_TOKENS
from bot.store.snippets import snippet

WORDS = (
    "police", "court", "election", "elected", "electoral", "voters", "café", "naïve", "Ärzte", "Straße",
    "İstanbul", "façade", "résumé", "москва", "выборы", "полиция", "αθήνα", "εκλογές", "東京", "選挙",
    "2024", "covid-19", "e-mail", "C++", "U.S.", "it's", "o'clock", "facial", "recognition", "ban",
    "city", "council", "budget", "water", "storm",
)
SEPARATORS = (" ", " ", " ", ", ", ". ", ": ", " — ", "; ", " (", ") ", '. "', "! ", ".\n", "\t")


def _texts(count: int, seed: int) -> list[str]:
    generator = random.Random(seed)
    texts = ["", "   ", "…", "One sentence only.", "Police. Police: police police."]
    for _ in range(count):
        words = generator.choices(WORDS, k=generator.randint(1, 80))
        texts.append("".join(word + generator.choice(SEPARATORS) for word in words).strip())
    return texts


QUERIES = (
    "police", "POLICE", "elect*", "el*", "cafe", "naive", "arzte", "straße", "istanbul", "москва", "выбор*",
    "εκλογές", "東京", '"facial recognition"', '"facial recog"*', "police court", "covid", "e-mail",
    '"city council" budget', "water storm elect*", "c++", "u.s.", "it's", "2024",
)


def _fts5_snippets(texts: list[str], match: str) -> dict[int, str]:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE t USING fts5 (title, excerpt, related_titles, "
        "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')"
    )
    conn.executemany(
        "INSERT INTO t (rowid, title, excerpt, related_titles) VALUES (?, ?, ?, ?)",
        [(index + 1, "police headline", text, "elected court") for index, text in enumerate(texts)],
    )
    rows = conn.execute(
        f"SELECT rowid, snippet(t, 1, '{HIGHLIGHT_START}', '{HIGHLIGHT_END}', '…', {SNIPPET_TOKENS}) "
        "FROM t WHERE t MATCH ?",
        (f"{{excerpt}} : ({match})",),
    ).fetchall()
    return {rowid - 1: text for rowid, text in rows}


@pytest.mark.parametrize("query", QUERIES)
def test_the_passage_and_highlights_are_fts5s(query: str) -> None:
    texts = _texts(300, seed=len(query))
    match = build_match(query)
    assert match is not None
    expected = _fts5_snippets(texts, match)
    assert expected, "the query matches none of the generated texts"
    phrases = query_phrases(query)
    for index, fts5_snippet in expected.items():
        assert snippet(texts[index], phrases, SNIPPET_TOKENS) == fts5_snippet, texts[index]


def test_a_text_without_the_words_shows_its_beginning() -> None:
    text = "First words here. " + "filler " * 40
    shown = snippet(text, query_phrases("absent"), 5)
    assert shown == "First words here. filler filler…"
    assert HIGHLIGHT_START not in shown


def test_an_empty_excerpt_has_an_empty_snippet() -> None:
    assert snippet("", query_phrases("police"), SNIPPET_TOKENS) == ""


def test_a_phrase_is_one_highlight_and_words_are_highlighted_apart() -> None:
    text = "the facial recognition ban"
    assert snippet(text, query_phrases('"facial recognition"'), 10) == (
        f"the {HIGHLIGHT_START}facial recognition{HIGHLIGHT_END} ban"
    )
    assert snippet(text, query_phrases("facial recognition"), 10) == (
        f"the {HIGHLIGHT_START}facial{HIGHLIGHT_END} {HIGHLIGHT_START}recognition{HIGHLIGHT_END} ban"
    )


def test_autocomplete_phrases_make_the_last_word_a_prefix() -> None:
    phrases = query_phrases("police elec", prefix_last=True)
    assert [(phrase.tokens, phrase.prefix) for phrase in phrases] == [(("police",), False), (("elec",), True)]
