"""Text repair for corpus strings: undo mojibake without restyling, drop invisible junk, tidy whitespace.

ftfy is thorough but costs tens of microseconds per string, and almost every corpus string is either plain
ASCII or clean Unicode. So `repair_text` returns plain printable ASCII as is (stripped), and calls ftfy only
when the text holds a sequence mojibake is made of: a character that a UTF-8 lead byte becomes in one of the
single-byte encodings ftfy undoes, followed by what a continuation byte (or the space replacing a lost 0xA0)
becomes; or C1 controls, terminal escapes or surrogates. Anything else cannot be mojibake ftfy would fix.

That first test still lets most non-ASCII prose through (any Cyrillic or Greek letter before a space is a
cp1251/cp1253 lead byte), and ftfy's own test, `ftfy.badness.is_bad`, is one large regular expression that
costs most of its time. So a second test asks whether the text holds any character without which ftfy
provably returns the text unchanged apart from NFC normalisation (`_ftfy_may_change`); only then is ftfy
called. The result is the same as calling ftfy whenever the first test matches.
"""

from __future__ import annotations

import functools
import re
import re._parser as re_parser
import unicodedata
from re._constants import BRANCH, IN, LITERAL, RANGE

import ftfy
import ftfy.bad_codecs  # registers the sloppy-windows-* codecs named in CHARMAP_ENCODINGS)
from ftfy.badness import BADNESS_RE
from ftfy.chardata import CHARMAP_ENCODINGS, CONTROL_CHARS

# Repair only: decode mojibake and broken UTF-8, but never restyle what the author wrote (curly quotes,
# ligatures, full-width forms and HTML entities stay as they are). Explanations are not needed.
_REPAIR_ONLY = ftfy.TextFixerConfig(
    unescape_html=False,
    uncurl_quotes=False,
    fix_latin_ligatures=False,
    fix_character_width=False,
    explain=False,
)

# Zero-width and invisible format characters (ZWSP, ZWNJ, ZWJ, word joiner, BOM, soft hyphen, Mongolian
# vowel separator, bidi marks and embeddings) plus C0/C1 control characters other than whitespace.
_INVISIBLE = re.compile(
    "[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
    "\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]"
)
_WHITESPACE_RUN = re.compile(r"\s+")


def _mojibake_hint() -> re.Pattern[str]:
    """A pattern that matches wherever ftfy could find mojibake to undo (see the module docstring).

    MacRoman is kept apart because its lead-byte characters include curly quotes and dashes, which must not
    send every "officials’ ban" through ftfy; and ftfy never restores a lost 0xA0 in MacRoman.
    """
    leads, continuations = set(), set(" ")
    mac_leads, mac_continuations = set(), set()
    for encoding in CHARMAP_ENCODINGS:
        lead_chars = bytes(range(0xC2, 0xF5)).decode(encoding, errors="ignore")
        continuation_chars = bytes(range(0x80, 0xC0)).decode(encoding, errors="ignore")
        is_mac = encoding == "macroman"
        (mac_leads if is_mac else leads).update(lead_chars)
        (mac_continuations if is_mac else continuations).update(continuation_chars)

    def char_class(chars: set[str]) -> str:
        return "[" + re.escape("".join(sorted(chars))) + "]"

    return re.compile(
        f"{char_class(leads)}{char_class(continuations)}"
        f"|{char_class(mac_leads)}{char_class(mac_continuations)}"
        "|[\x80-\x9f\x1b\ud800-\udfff]"
    )


_MOJIBAKE_HINT = _mojibake_hint()


def _required_chars(pattern: re.Pattern[str]) -> set[str] | None:
    """Characters one of which every match of `pattern` contains, or None when that cannot be shown.

    `pattern` is an alternation; each alternative is a sequence, and from each the position whose character
    class is least likely in ordinary prose (ASCII worst, then the basic Cyrillic and Greek letters, then
    other letters, then signs) gives its characters: a string holding none of them cannot match that
    alternative.
    """

    def prose_weight(char: str) -> int:
        if char.isascii():
            return 1000
        if "\u0410" <= char <= "\u044f" or "\u0391" <= char <= "\u03c9":
            return 100
        is_prose_letter = unicodedata.category(char).startswith("L") and not (
            unicodedata.decomposition(char).startswith("<")  # µ, ª, º: compatibility forms, signs in use
        )
        return 10 if is_prose_letter else 1

    def chars_of(op: object, arg: object) -> set[str] | None:
        if op is LITERAL:
            return {chr(arg)}  # type: ignore[arg-type]
        if op is not IN:
            return None  # an anchor, an optional or repeated item, any character, a category
        found: set[str] = set()
        for item_op, item_arg in arg:  # type: ignore[attr-defined]
            if item_op is LITERAL:
                found.add(chr(item_arg))
            elif item_op is RANGE:
                found.update(map(chr, range(item_arg[0], item_arg[1] + 1)))
            else:
                return None  # a negated class or a category such as \w
        return found

    parsed = re_parser.parse(pattern.pattern, pattern.flags)
    is_alternation = len(parsed.data) == 1 and parsed.data[0][0] is BRANCH
    alternatives = parsed.data[0][1][1] if is_alternation else [parsed]
    required: set[str] = set()
    for alternative in alternatives:
        positions = [chars for op, arg in alternative.data if (chars := chars_of(op, arg))]
        if not positions:
            return None
        required |= min(positions, key=lambda chars: sum(map(prose_weight, chars)))
    return required


def _ftfy_may_change() -> re.Pattern[str]:
    """A pattern that matches wherever `ftfy.fix_text(text, _REPAIR_ONLY)` could return anything but
    `text`'s NFC form.

    With `_REPAIR_ONLY`, fix_text repeats over each line until nothing changes: fix_encoding, which leaves
    the text alone unless `is_bad` finds mojibake; the C1-control, line-break, surrogate, terminal-escape
    and control-character fixes; NFC normalisation. On one line that holds none of the characters
    `is_bad` needs, nor any those fixes act on, a pass changes nothing but the normalisation.
    """
    acted_on = {chr(code) for code in CONTROL_CHARS}
    acted_on.update(map(chr, range(0x80, 0xA0)))  # C1 controls (fix_c1_controls, fix_line_breaks)
    acted_on.update(map(chr, range(0xD800, 0xE000)))  # surrogates
    acted_on.update("\x1b\r\n\u2028\u2029")  # terminal escapes; line breaks; fix_text splits lines
    bad = _required_chars(BADNESS_RE)
    if bad is None:
        return re.compile("(?s).")  # cannot tell: always ask ftfy
    return re.compile("[" + re.escape("".join(sorted(acted_on | bad))) + "]")


_FTFY_MAY_CHANGE = _ftfy_may_change()


# Texts that need the full repair are remembered: a story's titles and excerpts recur in its articles'
# related coverage. Bounded: at most _TEXT_CACHE_SIZE texts of at most _CACHED_TEXT_CHARS characters each.
_TEXT_CACHE_SIZE = 1024
_CACHED_TEXT_CHARS = 600


def repair_text(value: str) -> str:
    """Repair mojibake, strip zero-width/control characters, collapse whitespace runs to one space, strip."""
    if value.isascii() and value.isprintable() and "  " not in value:
        return value.strip()
    if len(value) <= _CACHED_TEXT_CHARS:
        return _cached_repair(value)
    return _repair(value)


def _needs_ftfy(value: str) -> bool:
    """False when ftfy would return `value` in NFC form and nothing else (see `_ftfy_may_change`): the text
    and its normal form (ftfy checks the normalised text again) hold no character ftfy acts on."""
    if len(value) > _REPAIR_ONLY.max_decode_length or _FTFY_MAY_CHANGE.search(value):
        return True
    if unicodedata.is_normalized("NFC", value):
        return False
    return _FTFY_MAY_CHANGE.search(unicodedata.normalize("NFC", value)) is not None


def _repair(value: str) -> str:
    """repair_text's general path."""
    if _MOJIBAKE_HINT.search(value) and _needs_ftfy(value):
        value = ftfy.fix_text(value, _REPAIR_ONLY)
    elif not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    value = _INVISIBLE.sub("", value)
    return _WHITESPACE_RUN.sub(" ", value).strip()


_cached_repair = functools.lru_cache(maxsize=_TEXT_CACHE_SIZE)(_repair)
