"""Vietnamese text from legacy cadastral files: TCVN3 (ABC) and VNI-Windows to Unicode NFC.

DBF attributes written by old MicroStation/FAMIS and Mapinfo workflows are often in TCVN3 (one byte per
accented letter, e.g. "Hµ Néi") or VNI-Windows (a base letter followed by a mark byte, e.g. "Haø Noäi").
Read as Latin-1 they become such mojibake; :func:`judge_encoding` tells which reading of a sample of a
file's strings gives Vietnamese (UTF-8, TCVN3, VNI, Windows-1258 or Latin-1 as is) and :func:`decode`
converts. Text that already has letters beyond U+00FF is Unicode and is only
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

ENCODINGS = ("ascii", "unicode", "utf-8", "tcvn3", "vni", "cp1258", "latin-1")
LEGACY = ("utf-8", "tcvn3", "vni", "cp1258", "latin-1")      # what bytes read one per character can be

# A Vietnamese syllable, tone marks aside: an initial consonant, a vowel nucleus (with its glides) and a final.
_SYLLABLE = re.compile(r"(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx])?([aăâeêioôơuưy]+)(ch|ng|nh|[cmnpt])?")
_NUCLEI = frozenset("""a ai ao au ay ă â âu ây e eo ê êu i ia iu iê iêu o oa oai oao oay oă oe oeo oi oo ô ôi ơ ơi
    u ua uâ uây uâu uê ui uô uôi uơ uy uya uyê uyu ư ưa ưi ưu ươ ươi ươu y yê yêu""".split())
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
_WORD = re.compile(r"[^\W\d_]+")


def tcvn3_to_unicode(text: str) -> str:
    """Text read as Latin-1 from a TCVN3 source, as Unicode NFC.

    >>> tcvn3_to_unicode("Céng hoµ x· héi chñ nghÜa ViÖt Nam"), tcvn3_to_unicode("§OµN THÞ HOA")
    ('Cộng hoà xã hội chủ nghĩa Việt Nam', 'ĐOÀN THỊ HOA')
    """
    converted = unicodedata.normalize("NFC", text.translate(_TCVN3_TABLE))
    # TCVN3 has no capital toned letters: in a word otherwise in capitals they are capitals too.
    return _WORD.sub(lambda m: m.group(0).upper() if looks_damaged(m.group(0)) else m.group(0), converted) \
        if not converted.isascii() else converted


def vni_to_unicode(text: str) -> str:
    """Text read as Latin-1 from a VNI-Windows source, as Unicode NFC.

    >>> vni_to_unicode("Thaønh phoá Hoà Chí Minh"), vni_to_unicode("ÑAØ NAÜNG")
    ('Thành phố Hồ Chí Minh', 'ĐÀ NẴNG')
    """
    def repl(m: re.Match) -> str:
        return _VNI_PAIRS.get(m.group(0)) or _VNI_SINGLES[m.group(0)]

    return unicodedata.normalize("NFC", _VNI_PATTERN.sub(repl, text))


def to_unicode(text, encoding: str):
    """Convert one value from a legacy encoding to Unicode NFC.

    Convert one value read in ``encoding`` (see :func:`detect_encoding`) to Unicode NFC; non-strings
    pass through.

    Parameters
    ----------
    text : str or object
        The value as read (Latin-1 characters, one per byte).
    encoding : {"tcvn3", "vni", "unicode", "ascii", "latin-1"}
        The legacy encoding (TCVN3 or VNI), or any other: only normalised (see :func:`decode` for UTF-8 and
        Windows-1258 bytes).

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


def is_syllable(word: str) -> bool:
    r"""Whether ``word`` is a well-formed Vietnamese syllable (any case, at most one tone mark).

    >>> [is_syllable(w) for w in ("Nguyễn", "người", "Pọm", "khuya", "Haứ", "Hµ", "Ä\x90inh")]
    [True, True, True, True, False, False, False]
    """
    decomposed = unicodedata.normalize("NFD", word.lower())
    if sum(ch in _TONE_MARKS for ch in decomposed) > 1:
        return False
    base = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if ch not in _TONE_MARKS))
    match = _SYLLABLE.fullmatch(base)
    return bool(match) and match.group(2) in _NUCLEI


def decode(text, encoding: str):
    """One value read one byte per character (Latin-1), in ``encoding``, as Unicode NFC; non-strings pass.

    Raises
    ------
    UnicodeError
        The bytes are not valid in ``encoding`` (UTF-8).
    """
    if not isinstance(text, str):
        return text
    if encoding in ("utf-8", "cp1258"):
        return unicodedata.normalize("NFC", text.encode("latin-1").decode(encoding))
    return to_unicode(text, encoding)


def vietnamese_share(values: Iterable[str]) -> tuple[float, int]:
    """The share of the words with a non-ASCII letter that are Vietnamese syllables, and how many there were."""
    words = [w for v in values for w in _WORD.findall(v) if not w.isascii()]
    return (sum(map(is_syllable, words)) / len(words) if words else 0.0), len(words)


SURE = 0.8          # the chosen reading makes at least this share of the words Vietnamese syllables …
MARGIN = 0.2        # … and this much more than any other reading


def judge_encoding(samples: Iterable[str], forced: str | None = None) -> tuple[str, dict]:
    """The text encoding of a sample of a file's strings, and the evidence for it.

    Strings with letters beyond U+00FF were decoded by the reader (``unicode``). Otherwise they are bytes read
    one per character and each reading is tried: UTF-8 (only if every value is valid UTF-8), TCVN3, VNI,
    Windows-1258 and Latin-1 as is. The reading that makes the most words Vietnamese syllables
    (:func:`is_syllable`) wins when it is sure (:data:`SURE`, and :data:`MARGIN` over the next); valid UTF-8 with
    Vietnamese letters wins outright (legacy bytes almost never form valid UTF-8).

    Parameters
    ----------
    samples : iterable of str
        Values as read.
    forced : str, optional
        The encoding the user gave (``--encoding``): taken, and the evidence still measured.

    Returns
    -------
    (str, dict)
        One of :data:`ENCODINGS`, or ``"unsure"``; the evidence: the values examined, the share of Vietnamese
        syllables under each reading, whether all were valid UTF-8, and one value before and after.

    >>> judge_encoding(["Hµ Néi", "Lª V¨n A"])[0], judge_encoding(["Haø Noäi"])[0]
    ('tcvn3', 'vni')
    >>> judge_encoding(["Đinh Thị Thu Hạnh".encode().decode("latin-1")])[0]
    'utf-8'
    """
    values = list(dict.fromkeys(v for v in samples if isinstance(v, str) and not v.isascii()))[:5000]
    evidence: dict = {"values": len(values)}
    if forced:
        evidence["forced"] = forced
    if not values:
        return forced or "ascii", evidence
    if any(ord(ch) > 0xFF for v in values for ch in v):
        evidence["readings"] = {"unicode": round(vietnamese_share(values)[0], 3)}
        return forced or "unicode", evidence
    readings: dict[str, float] = {}
    converted: dict[str, list[str]] = {}
    for encoding in LEGACY:
        try:
            converted[encoding] = [decode(v, encoding) for v in values]
        except UnicodeError:
            continue
        readings[encoding] = round(vietnamese_share(converted[encoding])[0], 3)
    evidence["valid_utf8"] = "utf-8" in readings
    evidence["readings"] = readings
    # Latin-1 first among equals: a reading that changes nothing is the text as it is.
    ranked = sorted(readings, key=lambda e: (readings[e], e == "utf-8", e == "latin-1"), reverse=True)
    best = forced or ranked[0]
    if not forced and "utf-8" in readings and readings["utf-8"] > 0:
        best = "utf-8"
    elif not forced:
        others = [readings[e] for e in ranked[1:] if converted[e] != converted[best]]
        if readings[best] < SURE or (others and readings[best] - max(others) < MARGIN):
            best = "unsure"
    example = values[0]
    evidence["example"] = {"as_read": example[:60],
                           **{e: converted[e][0][:60] for e in ranked[:3] if e in converted}}
    return best, evidence


def looks_damaged(text) -> bool:
    """Whether ``text`` shows an earlier broken TCVN3 conversion.

    A word in capitals with toned letters in lower case: TCVN3 had no capital toned letters, so "ĐOÀN" typed
    in a capital font came out "ĐOàN" once converted.

    >>> [looks_damaged(t) for t in ("ĐOàN THị HOA", "TổNG CụC", "Đoàn Thị Hoa", "ĐOÀN", "Bà", "H'Mông")]
    [True, True, False, False, False, False]
    """
    if not isinstance(text, str) or text.isascii():
        return False
    for word in _WORD.findall(text):
        upper = sum(ch.isupper() for ch in word)
        if upper >= 2 and any(not ch.isascii() and ch.islower() for ch in word) \
                and not any(ch.isascii() and ch.islower() for ch in word):
            return True
    return False
