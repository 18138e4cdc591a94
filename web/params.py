"""Query parameters, each checked against its limits; a bad one is an :class:`InvalidInput` (400)."""

from __future__ import annotations

import datetime as dt
import math

from flask import request

from geoland.errors import InvalidInput

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_OFFSET = 10**9


def number(name: str, low: float, high: float) -> float:
    raw = request.args.get(name)
    if raw is None or raw == "":
        raise InvalidInput(f"parameter {name} is required")
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(f"parameter {name} must be a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidInput(f"parameter {name} must be between {low:g} and {high:g}")
    return value


def whole(name: str, default: int | None, low: int, high: int, *, form: bool = False) -> int:
    """A whole number of the query (or, with ``form``, of the posted form); ``default`` None: required."""
    raw = (request.form if form else request.args).get(name)
    where = "form field" if form else "parameter"
    if raw is None or raw == "":
        if default is None:
            raise InvalidInput(f"{where} {name} is required")
        return default
    if not ascii_digits(raw):
        raise InvalidInput(f"{where} {name} must be a whole number (ASCII digits)")
    value = int(raw)
    if not low <= value <= high:
        raise InvalidInput(f"{where} {name} must be between {low} and {high}")
    return value


def page() -> tuple[int, int]:
    """``limit`` (1–1000, default 100) and ``offset``."""
    return whole("limit", DEFAULT_LIMIT, 1, MAX_LIMIT), whole("offset", 0, 0, MAX_OFFSET)


def optional(name: str, max_length: int = 200) -> str | None:
    value = request.args.get(name) or None
    if value is not None and len(value) > max_length:
        raise InvalidInput(f"parameter {name} is longer than {max_length} characters")
    return value


def date(name: str) -> dt.date | None:
    raw = request.args.get(name)
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        raise InvalidInput(f"parameter {name} must be a date YYYY-MM-DD") from None


def ascii_digits(text: str) -> bool:
    """Only ASCII digits: ``str.isdigit`` also accepts "²" and full-width digits."""
    return text.isascii() and text.isdigit()


def is_commune_code(code: str) -> bool:
    return ascii_digits(code) and len(code) == 5


def commune_code(code: str) -> str:
    if not is_commune_code(code):
        raise InvalidInput("a commune code has 5 digits")
    return code


def only(*allowed: str) -> None:
    unknown = set(request.args) - set(allowed)
    if unknown:
        raise InvalidInput(f"unknown parameter(s): {sorted(unknown)}")


def bbox() -> tuple[float, float, float, float] | None:
    raw = request.args.get("bbox")
    if raw is None:
        return None
    parts = raw.split(",")
    if len(parts) != 4:
        raise InvalidInput("bbox must be minlon,minlat,maxlon,maxlat")
    try:
        x0, y0, x1, y1 = (float(p) for p in parts)
    except ValueError:
        raise InvalidInput("bbox must be four numbers") from None
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)) or not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise InvalidInput("bbox out of range: -180 ≤ minlon ≤ maxlon ≤ 180, -90 ≤ minlat ≤ maxlat ≤ 90")
    return x0, y0, x1, y1

