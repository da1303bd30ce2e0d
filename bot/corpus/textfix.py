"""Text repair for corpus strings: undo mojibake without restyling, drop invisible junk, tidy whitespace.

ftfy is thorough but costs tens of microseconds per string, and almost every corpus string is either plain
ASCII or clean Unicode. So `repair_text` returns plain printable ASCII as is (stripped), and calls ftfy only
when the text holds a sequence mojibake is made of: a character that a UTF-8 lead byte becomes in one of the
single-byte encodings ftfy undoes, followed by what a continuation byte (or the space replacing a lost 0xA0)
becomes; or C1 controls, terminal escapes or surrogates. Anything else cannot be mojibake ftfy would fix.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import ftfy
import ftfy.bad_codecs  # registers the sloppy-windows-* codecs named in CHARMAP_ENCODINGS)
from ftfy.chardata import CHARMAP_ENCODINGS

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


def _repair(value: str) -> str:
    """repair_text's general path."""
    if _MOJIBAKE_HINT.search(value):
        value = ftfy.fix_text(value, _REPAIR_ONLY)
    elif not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    value = _INVISIBLE.sub("", value)
    return _WHITESPACE_RUN.sub(" ", value).strip()


_cached_repair = functools.lru_cache(maxsize=_TEXT_CACHE_SIZE)(_repair)
