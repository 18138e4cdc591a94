"""Vietnamese text from legacy cadastral files: TCVN3 (ABC) and VNI-Windows to Unicode NFC.

DBF attributes written by old MicroStation/FAMIS and Mapinfo workflows are often in TCVN3 (one byte per
accented letter, e.g. "Hµ Néi") or VNI-Windows (a base letter followed by a mark byte, e.g. "Haø Noäi").
Read as Latin-1 they become such mojibake; :func:`detect_encoding` recognises it on a sample of a file's
strings and :func:`to_unicode` converts. Text that already has letters beyond U+00FF is Unicode and is only
normalised to NFC (decomposed "tổ hợp" input included).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# TCVN 5712:1993 VN3: byte → letter. Bytes not listed are the same as in Latin-1 (ASCII included).
_TCVN3 = {
    0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ",
    0xA8: "ă", 0xA9: "â", 0xAA: "ê", 0xAB: "ô", 0xAC: "ơ", 0xAD: "ư", 0xAE: "đ",
    0xB5: "à", 0xB6: "ả", 0xB7: "ã", 0xB8: "á", 0xB9: "ạ",
    0xBB: "ằ", 0xBC: "ẳ", 0xBD: "ẵ", 0xBE: "ắ", 0xC6: "ặ",
    0xC7: "ầ", 0xC8: "ẩ", 0xC9: "ẫ", 0xCA: "ấ", 0xCB: "ậ",
    0xCC: "è", 0xCE: "ẻ", 0xCF: "ẽ", 0xD0: "é", 0xD1: "ẹ",
    0xD2: "ề", 0xD3: "ể", 0xD4: "ễ", 0xD5: "ế", 0xD6: "ệ",
    0xD7: "ì", 0xD8: "ỉ", 0xDC: "ĩ", 0xDD: "í", 0xDE: "ị",
    0xDF: "ò", 0xE1: "ỏ", 0xE2: "õ", 0xE3: "ó", 0xE4: "ọ",
    0xE5: "ồ", 0xE6: "ổ", 0xE7: "ỗ", 0xE8: "ố", 0xE9: "ộ",
    0xEA: "ờ", 0xEB: "ở", 0xEC: "ỡ", 0xED: "ớ", 0xEE: "ợ",
    0xEF: "ù", 0xF1: "ủ", 0xF2: "ũ", 0xF3: "ú", 0xF4: "ụ",
    0xF5: "ừ", 0xF6: "ử", 0xF7: "ữ", 0xF8: "ứ", 0xF9: "ự",
    0xFA: "ỳ", 0xFB: "ỷ", 0xFC: "ỹ", 0xFD: "ý", 0xFE: "ỵ",
}
_TCVN3_TABLE = str.maketrans({chr(b): u for b, u in _TCVN3.items()})
_TCVN3_ONLY = re.compile("[\u00a1-\u00be]")  # VNI never uses these bytes; TCVN3 uses them constantly

# VNI-Windows: combining marks written as the Latin-1 letter after the base letter.
_GRAVE, _ACUTE, _HOOK, _TILDE, _DOT = "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"
_CIRC, _BREVE, _HORN = "\u0302", "\u0306", "\u031b"
_VNI_TONES = {"ø": _GRAVE, "ù": _ACUTE, "û": _HOOK, "õ": _TILDE, "ï": _DOT}
_VNI_CIRC = {"â": "", "à": _GRAVE, "á": _ACUTE, "å": _HOOK, "ã": _TILDE, "ä": _DOT}
_VNI_BREVE = {"ê": "", "è": _GRAVE, "é": _ACUTE, "ú": _HOOK, "ü": _TILDE, "ë": _DOT}
_VNI_SINGLE = {"ô": "ơ", "ö": "ư", "ñ": "đ", "æ": "ỉ", "ó": "ĩ", "ò": "ị", "î": "ỵ"}


def _vni_tables() -> tuple[dict[str, str], dict[str, str]]:
    pairs: dict[str, str] = {}
    nfc = lambda s: unicodedata.normalize("NFC", s)  # noqa: E731
    for upper in (False, True):
        case = (lambda s: s.upper()) if upper else (lambda s: s)
        for base in "aeiouy":
            for mark, comb in _VNI_TONES.items():
                pairs[case(base) + case(mark)] = case(nfc(base + comb))
        for base in "aeo":
            for mark, comb in _VNI_CIRC.items():
                pairs[case(base) + case(mark)] = case(nfc(base + _CIRC + comb))
        for mark, comb in _VNI_BREVE.items():
            pairs[case("a") + case(mark)] = case(nfc("a" + _BREVE + comb))
        for single, base in (("ô", "o"), ("ö", "u")):
            for mark, comb in _VNI_TONES.items():
                pairs[case(single) + case(mark)] = case(nfc(base + _HORN + comb))
    singles = {k: v for k, v in _VNI_SINGLE.items()} | {k.upper(): v.upper() for k, v in _VNI_SINGLE.items()}
    return pairs, singles


_VNI_PAIRS, _VNI_SINGLES = _vni_tables()
_VNI_PATTERN = re.compile("|".join(sorted(map(re.escape, [*_VNI_PAIRS, *_VNI_SINGLES]), key=len, reverse=True)))
_VNI_MARKS = set("".join(_VNI_TONES) + "".join(_VNI_CIRC) + "".join(_VNI_BREVE))
_VNI_MARKS |= {m.upper() for m in _VNI_MARKS}
_VNI_BASES = set("aeiouyAEIOUYôöÔÖ")

ENCODINGS = ("ascii", "unicode", "tcvn3", "vni", "latin-1")


def tcvn3_to_unicode(text: str) -> str:
    """Text read as Latin-1 from a TCVN3 source, as Unicode NFC.

    >>> tcvn3_to_unicode("Céng hoµ x· héi chñ nghÜa ViÖt Nam")
    'Cộng hoà xã hội chủ nghĩa Việt Nam'
    """
    return unicodedata.normalize("NFC", text.translate(_TCVN3_TABLE))


def vni_to_unicode(text: str) -> str:
    """Text read as Latin-1 from a VNI-Windows source, as Unicode NFC.

    >>> vni_to_unicode("Thaønh phoá Hoà Chí Minh"), vni_to_unicode("ÑAØ NAÜNG")
    ('Thành phố Hồ Chí Minh', 'ĐÀ NẴNG')
    """
    def repl(m: re.Match) -> str:
        return _VNI_PAIRS.get(m.group(0)) or _VNI_SINGLES[m.group(0)]

    return unicodedata.normalize("NFC", _VNI_PATTERN.sub(repl, text))


def detect_encoding(samples: Iterable[str]) -> str:
    """Which of :data:`ENCODINGS` a sample of a file's strings (as read, Latin-1 for legacy DBF) is in.

    - ``ascii``: nothing to convert; ``unicode``: letters beyond U+00FF, already Unicode;
    - ``tcvn3`` when bytes A1–BE occur (TCVN3's a/ă/â/đ family; VNI never writes them);
    - ``vni`` when most high characters are VNI's own letters (ơ ư đ ỉ ĩ ị ỵ) or marks right after a vowel
      (VNI marks always are), else ``latin-1``.

    >>> detect_encoding(["Hµ Néi", "Lª V¨n A"]), detect_encoding(["Haø Noäi"]), detect_encoding(["Hà Nội"])
    ('tcvn3', 'vni', 'unicode')
    """
    high = after_vowel = 0
    tcvn3_bytes = False
    for text in samples:
        if not isinstance(text, str) or text.isascii():
            continue
        if any(ord(ch) > 0xFF for ch in text):
            return "unicode"
        tcvn3_bytes = tcvn3_bytes or bool(_TCVN3_ONLY.search(text))
        for i, ch in enumerate(text):
            if ord(ch) >= 0x80:
                high += 1
                after_vowel += ch in _VNI_SINGLES or (i > 0 and ch in _VNI_MARKS and text[i - 1] in _VNI_BASES)
    if high == 0:
        return "ascii"
    if tcvn3_bytes:
        return "tcvn3"
    return "vni" if after_vowel >= 0.8 * high else "latin-1"


def to_unicode(text, encoding: str):
    """Convert one value from a legacy encoding to Unicode NFC.

    Convert one value read in ``encoding`` (see :func:`detect_encoding`) to Unicode NFC; non-strings
    pass through.

    Parameters
    ----------
    text : str or object
        The value as read (Latin-1 characters, one per byte).
    encoding : {"tcvn3", "vni", "utf-8", "ascii"}
        The legacy encoding.

    Returns
    -------
    str or object
    """
    if not isinstance(text, str):
        return text
    if encoding == "tcvn3":
        return tcvn3_to_unicode(text)
    if encoding == "vni":
        return vni_to_unicode(text)
    return unicodedata.normalize("NFC", text)


def unicode_to_legacy(text: str, encoding: str) -> str:
    """The reverse conversion, as Latin-1 characters (one per byte): for writing legacy test files.

    Parameters
    ----------
    text : str
        Vietnamese text.
    encoding : {"tcvn3", "vni"}
        The legacy encoding.

    Returns
    -------
    str

    >>> unicode_to_legacy("Hà Nội", "tcvn3"), unicode_to_legacy("Hà Nội", "vni")
    ('Hµ Néi', 'Haø Noäi')
    """
    if encoding == "vni":
        reverse = {v: k for k, v in (_VNI_PAIRS | _VNI_SINGLES).items()}
        return "".join(reverse.get(ch, ch) for ch in unicodedata.normalize("NFC", text))
    reverse = {v: chr(b) for b, v in _TCVN3.items()}
    # TCVN3 has no upper-case toned letters: offices typed them with the lower-case codes in a capital font.
    return "".join(reverse.get(ch) or reverse.get(ch.lower(), ch) for ch in unicodedata.normalize("NFC", text))
