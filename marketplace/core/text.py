"""Text helpers: Unicode NFC for storage, an accent-folded key for accent-insensitive search."""

import re
import unicodedata

from unidecode import unidecode

_SPACES = re.compile(r"\s+")


def nfc(value: str) -> str:
    """Vietnamese text arrives composed or decomposed depending on the keyboard; store it composed (NFC)."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", value)).strip()


def fold(value: str) -> str:
    """Accent- and case-insensitive search key: "Xã Tú Lệ" and "xa tu le" both give "xa tu le".

    unidecode handles đ/Đ, which plain NFD-stripping of combining marks does not.
    """
    return _SPACES.sub(" ", unidecode(nfc(value)).lower()).strip()
