"""Text repair calls ftfy only where ftfy could change something: the shortcut must give ftfy's own output.

The strings are drawn (with a fixed seed) from everything ftfy reacts to — each character class of its
badness test (also decomposed), C1 and other control characters, line breaks, surrogates, terminal escapes,
combining marks — next to clean prose in several scripts and real mojibake: UTF-8 text decoded with each
single-byte encoding ftfy undoes, also with the 0xA0 byte turned into a space.
"""

from __future__ import annotations

import random
import re
import re._parser as re_parser
import unicodedata
from re._constants import ANY, AT, BRANCH, CATEGORY, IN, LITERAL, MAX_REPEAT, NEGATE, RANGE

import ftfy
import pytest
from ftfy.badness import BADNESS_RE, MOJIBAKE_CATEGORIES
from ftfy.chardata import CHARMAP_ENCODINGS, CONTROL_CHARS

from bot.corpus.textfix import (
    _FTFY_MAY_CHANGE,
    _INVISIBLE,
    _MOJIBAKE_HINT,
    _REPAIR_ONLY,
    _WHITESPACE_RUN,
    _needs_ftfy,
    _repair,
    repair_text,
)

PROSE = (
    "the city council voted on Tuesday", "café zürich naïve größe", "łódź kraków", "são paulo niño crème",
    "voilà le travail à la française", "αθήνα εκλογές Ελληνικά", "москва выборы київ Русский текст",
    "東京 選挙 北京 市场", "서울 경제", "दिल्ली चुनाव", "القاهرة انتخابات", "ירושלים", "ประเทศไทย",
    "hà nội", "istanbul’da", "“curly” ‘quotes’ — and …", "ﬁ ＡＢ &amp;", "emoji 😀👍🏽", "Łódź ÉCOLE Ørsted",
    "1½ cups × 2 ± 3 µm", "price €5 or £4", "© 2024 ™ ®", "Ðóðíàë", "ÃÂ ÃÂ",
)


def _category_chars() -> list[str]:
    """Every character ftfy's badness test names, with the ranges expanded."""
    chars: list[str] = []
    for members in MOJIBAKE_CATEGORIES.values():
        chars.extend(re.findall(r".-.|.", members, re.DOTALL))
    expanded: list[str] = []
    for item in chars:
        if len(item) == 3:
            expanded.extend(map(chr, range(ord(item[0]), ord(item[2]) + 1)))
        else:
            expanded.append(item)
    return expanded


def _mojibake(text: str) -> list[str]:
    """`text`'s UTF-8 bytes read in each single-byte encoding ftfy undoes, also with 0xA0 lost to a space."""
    found = []
    for encoding in CHARMAP_ENCODINGS:
        decoded = text.encode("utf-8").decode(encoding, errors="replace")
        found += [decoded, decoded.replace("\xa0", " ")]
    return found


def _samples(count: int, seed: int = 17) -> list[str]:
    rng = random.Random(seed)
    junk = [chr(code) for code in CONTROL_CHARS] + [chr(code) for code in range(0x80, 0xA0)] + [
        "\x1b[31m", "\r", "\n", "\r\n", "\u2028", "\u2029", "\ud83d", "\udc4d", "\u0301", "\u0308", "\u0327",
        "\u200b", "\xa0", "  ",
    ]
    decomposed = [unicodedata.normalize("NFD", char) for char in _category_chars()]
    pools = [
        _category_chars(),
        [form for form in decomposed if len(form) > 1],
        [word for phrase in PROSE for word in phrase.split()],
        [bad for phrase in PROSE for bad in _mojibake(phrase)],
        junk,
        list("abcdefghijklmnopqrstuvwxyzABCXYZ .,?!'-0123456789"),
        [chr(code) for code in range(0x400, 0x460)] + [chr(code) for code in range(0x370, 0x400)],
    ]
    samples = list(PROSE) + [bad for phrase in PROSE for bad in _mojibake(phrase)]
    while len(samples) < count:
        pieces = []
        for _ in range(rng.randrange(1, 9)):
            pool = rng.choices(pools, weights=(1, 1, 5, 1, 1, 2, 4))[0]
            pieces.append(rng.choice(pool))
            if rng.random() < 0.5:
                pieces.append(" ")
        samples.append("".join(pieces))
    return samples


SAMPLES = _samples(20_000)


def _reference_repair(value: str) -> str:
    """The general path as it was before the shortcut: ftfy wherever the mojibake hint matches."""
    if _MOJIBAKE_HINT.search(value):
        value = ftfy.fix_text(value, _REPAIR_ONLY)
    elif not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    return _WHITESPACE_RUN.sub(" ", _INVISIBLE.sub("", value)).strip()


def _class_chars(items: list[tuple[object, object]]) -> set[str]:
    chars: set[str] = set()
    for op, arg in items:
        if op is LITERAL:
            chars.add(chr(arg))  # type: ignore[arg-type]
        elif op is RANGE:
            chars.update(map(chr, range(arg[0], arg[1] + 1)))  # type: ignore[index]
    return chars


def _a_match(items: list[tuple[object, object]], rng: random.Random) -> str:
    """A random string matching the regular expression items (the forms ftfy's badness test uses)."""
    text = ""
    for op, arg in items:
        if op is LITERAL:
            text += chr(arg)  # type: ignore[arg-type]
        elif op is IN and arg[0][0] is NEGATE:  # type: ignore[index]
            text += rng.choice([char for char in "xZ.é ж" if char not in _class_chars(arg)])  # type: ignore[arg-type]
        elif op is IN and arg[0][0] is CATEGORY:  # type: ignore[index]
            text += " " if "SPACE" in str(arg[0][1]) else "a"  # type: ignore[index]
        elif op is IN:
            text += rng.choice(sorted(_class_chars(arg)))  # type: ignore[arg-type]
        elif op is ANY:
            text += rng.choice("a ж")
        elif op is MAX_REPEAT:
            low, _, body = arg  # type: ignore[misc]
            text += "".join(_a_match(body.data, rng) for _ in range(rng.choice((low, low + 1))))
        elif op is not AT:
            raise AssertionError(f"unexpected {op} in ftfy's badness test")
    return text


def test_every_mojibake_form_holds_a_character_that_sends_text_to_ftfy() -> None:
    rng = random.Random(5)
    parsed = re_parser.parse(BADNESS_RE.pattern, BADNESS_RE.flags)
    assert parsed.data[0][0] is BRANCH
    for alternative in parsed.data[0][1][1]:
        for _ in range(200):
            match = _a_match(alternative.data, rng)
            assert BADNESS_RE.search(match), match
            assert _FTFY_MAY_CHANGE.search(match), f"{match!r} looks like mojibake to ftfy"


def test_the_samples_cover_both_sides_of_the_shortcut() -> None:
    hinted = [value for value in SAMPLES if _MOJIBAKE_HINT.search(value)]
    skipped = [value for value in hinted if not _needs_ftfy(value)]
    repaired = [value for value in hinted if ftfy.fix_text(value, _REPAIR_ONLY) != value]
    assert len(skipped) > 2_000, "many hinted samples skip ftfy"
    assert len(hinted) - len(skipped) > 2_000, "many hinted samples still go to ftfy"
    assert len(repaired) > 1_000, "the samples hold real mojibake that ftfy repairs"
    assert any(not unicodedata.is_normalized("NFC", value) for value in skipped)


def test_ftfy_gives_the_normal_form_wherever_it_is_skipped() -> None:
    differing = [
        value for value in SAMPLES
        if not _needs_ftfy(value)
        and ftfy.fix_text(value, _REPAIR_ONLY) != unicodedata.normalize("NFC", value)
    ]
    assert differing == []


def test_repair_is_the_same_as_calling_ftfy_wherever_the_hint_matches() -> None:
    differing = [value for value in SAMPLES if _repair(value) != _reference_repair(value)]
    assert differing == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("москва выборы", "москва выборы"),
        ("Ð¼Ð¾Ñ\x81ÐºÐ²Ð°", "москва"),
        ("вЂ™ news", "’ news"),
        ("voilà le travail", "voilà le travail"),
        ("voilÃ le travail", "voilà le travail"),
        ("Ελληνικά και", "Ελληνικά και"),
        ("ÎµÎºÎ»Î¿Î³Î­Ï‚", "εκλογές"),
        ("е\u0308лка ёлка", "ёлка ёлка"),
    ],
)
def test_clean_prose_is_kept_and_mojibake_repaired(value: str, expected: str) -> None:
    assert repair_text(value) == expected
