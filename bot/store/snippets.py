"""Highlighted passages of an excerpt, chosen as FTS5's `snippet()` chooses them, in Python.

FTS5 can only make a snippet for a row it is matching, so asking it for five hits' snippets restarts the
query once per hit: a prefix is expanded into all its words again and a common word's doclist is sought
again, which costs more the larger the corpus. The hits' excerpts are already at hand, so the passage is
picked here instead, at a cost that depends only on the excerpts' length.

The tokenizer mirrors the index's (`unicode61 remove_diacritics 2`): letters, digits and private-use
characters make tokens, everything else separates them, and tokens compare case-folded without
diacritics. The choice of passage is FTS5's: windows of `tokens` tokens starting at each match (centred
on the matches it holds) or at the start of its sentence, scored 1,000 per phrase matched and 1 per
repeat, a sentence start worth 100 more and the excerpt's start 120.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.render.text import HIGHLIGHT_END, HIGHLIGHT_START

ELLIPSIS = "…"
_SENTENCE_END = re.compile(r"[.:][ \t\n\r]+$")


@dataclass(frozen=True, slots=True)
class Phrase:
    """A query term as the index sees it: its folded tokens, the last one a prefix when `prefix`."""

    tokens: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class _Tokens:
    """A text's tokens: where each starts and ends in the text, and its folded form."""

    starts: list[int]
    ends: list[int]
    words: list[str]

    def __len__(self) -> int:
        return len(self.words)


def _is_latin(char: str) -> bool:
    """Whether the index takes diacritics off this letter: it does for Latin letters only."""
    return char < "\u0250" or "\u1e00" <= char < "\u1f00"


@lru_cache(maxsize=4096)
def fold(token: str) -> str:
    """A token as the index stores it: lower case, Latin letters without their diacritics."""
    decomposed = unicodedata.normalize("NFD", token.lower())
    kept: list[str] = []
    base_is_latin = False
    for char in decomposed:
        if unicodedata.combining(char):
            if not base_is_latin:
                kept.append(char)
            continue
        base_is_latin = _is_latin(char)
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept))


#: A token: letters and digits (`\w` without `_`), combining marks and private-use characters.
_TOKEN = re.compile(
    "(?:[^\\W_]|[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f\ue000-\uf8ff"
    "\U000f0000-\U0010fffd])+"
)


def tokenize(text: str) -> _Tokens:
    """The tokens of `text` with their character offsets."""
    tokens = _Tokens([], [], [])
    for found in _TOKEN.finditer(text):
        word = fold(found.group())
        if word:
            start, end = found.span()
            tokens.starts.append(start)
            tokens.ends.append(end)
            tokens.words.append(word)
    return tokens


def phrase_of(text: str, *, prefix: bool = False) -> Phrase | None:
    """The phrase the index makes of a quoted term (None when it holds no token)."""
    folded = tuple(tokenize(text).words)
    return Phrase(folded, prefix) if folded else None


def _matches_at(words: Sequence[str], first: int, phrase: Phrase) -> bool:
    *whole, last = phrase.tokens
    for offset, word in enumerate(whole):
        if words[first + offset] != word:
            return False
    found = words[first + len(whole)]
    return found.startswith(last) if phrase.prefix else found == last


def _instances(words: Sequence[str], phrases: Sequence[Phrase]) -> list[tuple[int, int, int]]:
    """Every match of every phrase as (first token, last token, phrase number), in token order."""
    found: list[tuple[int, int, int]] = []
    for number, phrase in enumerate(phrases):
        size, head = len(phrase.tokens), phrase.tokens[0]
        for first in range(len(words) - size + 1):
            word = words[first]
            if (word == head or (size == 1 and phrase.prefix and word.startswith(head))) and _matches_at(
                words, first, phrase
            ):
                found.append((first, first + size - 1, number))
    found.sort()
    return found


def _sentence_starts(text: str, tokens: _Tokens) -> list[int]:
    """Tokens that start a sentence: the first, and any after a `.` or `:` and whitespace."""
    starts = [0] if tokens else []
    for index in range(1, len(tokens)):
        gap_start, gap_end = tokens.ends[index - 1], tokens.starts[index]
        if gap_end - gap_start > 1 and _SENTENCE_END.search(text, gap_start, gap_end):
            starts.append(index)
    return starts


def _score(instances: Sequence[tuple[int, int, int]], start: int, size: int) -> tuple[int, int, int]:
    """A window's score and the span of the matches it holds (first token, the token after the last)."""
    seen: set[int] = set()
    score, first, last = 0, -1, -1
    for begin, end, number in instances:
        if start <= begin < start + size:
            score += 1 if number in seen else 1000
            seen.add(number)
            if first < 0:
                first = begin
            last = end + 1
    return score, first, last


def _best_start(text: str, tokens: _Tokens, instances: Sequence[tuple[int, int, int]],
                size: int) -> int:
    """The first token of the passage FTS5 would show."""
    best_score, best_start = 0, 0
    sentences = _sentence_starts(text, tokens)
    for begin, _, _ in instances:
        score, first, last = _score(instances, begin, size)
        centred = first - int((size - (last - first)) / 2)  # C division: toward zero
        centred = max(0, min(centred, len(tokens) - size))
        if score > best_score:
            best_score, best_start = score, centred
        if sentences and len(tokens) > size:
            sentence = max((start for start in sentences if start <= begin), default=0)
            if sentence < begin:
                score = _score(instances, sentence, size)[0] + (120 if sentence == 0 else 100)
                if score > best_score:
                    best_score, best_start = score, sentence
    return best_start


def snippet(text: str, phrases: Sequence[Phrase], size: int = 24) -> str:
    """A passage of about `size` tokens of `text` with the phrases' matches between `HIGHLIGHT_START` and
    `HIGHLIGHT_END`, and `…` where text was left out (empty for empty text)."""
    tokens = tokenize(text)
    if not tokens:
        return text
    instances = _instances(tokens.words, phrases)
    start = _best_start(text, tokens, instances, size)
    end = min(start + size, len(tokens)) - 1
    marked = [False] * len(tokens)
    for begin, last, _ in instances:
        for index in range(begin, last + 1):
            marked[index] = True
    pieces = [ELLIPSIS] if start > 0 else []
    offset = 0 if start == 0 else tokens.starts[start]
    index = start
    while index <= end:
        if not marked[index]:
            index += 1
            continue
        last = index
        while last + 1 <= end and marked[last + 1] and _joined(instances, last):
            last += 1
        pieces += [text[offset : tokens.starts[index]], HIGHLIGHT_START,
                   text[tokens.starts[index] : tokens.ends[last]], HIGHLIGHT_END]
        offset = tokens.ends[last]
        index = last + 1
    if end >= len(tokens) - 1:
        pieces.append(text[offset:])
    else:
        pieces += [text[offset : tokens.ends[end]], ELLIPSIS]
    return "".join(pieces)


def _joined(instances: Sequence[tuple[int, int, int]], token: int) -> bool:
    """Whether one match runs from `token` into the next (a phrase stays one highlight)."""
    return any(begin <= token < last for begin, last, _ in instances)
