"""Text normalisation shared by rules and entries, so a term and a text compare alike.

Lower-case (casefold), accents removed from Latin letters, NFKC, every hyphen, dash
and underscore made a space, runs of spaces collapsed. Scripts written without
spaces (Chinese, Japanese, Korean) are matched without word boundaries.
"""

from __future__ import annotations

import re
import unicodedata

# Dashes and slashes become spaces; typographic quotes become plain ones, so a
# term typed as "Nissan's" finds "Nissan’s". (Regexes: str.translate with a
# mapping is slow on long non-ASCII texts.)
_DASHES = re.compile("[-‐‑‒–—―_/‧·]")
_SINGLE_QUOTES = re.compile("[‘’‛ʼ′]")
_DOUBLE_QUOTES = re.compile("[“”„‟″]")
# Combining marks (accents) of Latin, Greek and Cyrillic, removed after NFD. The
# Japanese voicing marks (U+3099, U+309A) are not among them: they change the word.
_COMBINING_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def normalise(text: str) -> str:
    """The form both terms and texts are compared in. Keeps sentence punctuation."""
    if text.isascii():
        text = text.casefold()
    else:
        text = _strip_accents(unicodedata.normalize("NFKC", text).casefold())
    text = _DASHES.sub(" ", text)
    if not text.isascii():
        text = _DOUBLE_QUOTES.sub('"', _SINGLE_QUOTES.sub("'", text))
    return " ".join(text.split())


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    # NFC afterwards recomposes Hangul syllables that NFD split into jamo.
    return unicodedata.normalize("NFC", _COMBINING_MARKS.sub("", decomposed))


def is_unspaced_script(ch: str) -> bool:
    """Characters of scripts that do not separate words with spaces (or glue particles on)."""
    code = ord(ch)
    return (
        0x3040 <= code <= 0x30FF  # Hiragana, Katakana
        or 0x3400 <= code <= 0x4DBF  # CJK extension A
        or 0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0xAC00 <= code <= 0xD7AF  # Hangul syllables
        or 0x1100 <= code <= 0x11FF  # Hangul jamo
        or 0xF900 <= code <= 0xFAFF  # CJK compatibility ideographs
        or 0xFF66 <= code <= 0xFF9F  # half-width Katakana
        or 0x20000 <= code <= 0x2FA1F
    )


def is_word_char(ch: str) -> bool:
    """A letter or digit of a spaced script: what a whole-word match must not touch."""
    return ch.isalnum() and not is_unspaced_script(ch)
