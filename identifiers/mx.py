"""Legacy plot codes MX.SB.ST (commune code . map sheet . plot number) and their recoding after a merger.

After the 2025 merger the sheets numbered from 1 in each old commune collide inside the new commune, so a
code must be recoded by an explicit, deterministic policy, each yielding a crosswalk old code → new code:

- ``prefix`` keeps the old commune as a prefix, as the French cadastre keeps its *préfixe de section*:
  ``03646.25.112`` in old commune 03649 merged into 03646 becomes ``03646.03649.25.112``; nothing is
  renumbered, and the old code can be read back from the new one;
- ``renumber`` numbers the sheets of the new commune again from 1, old communes in code order and sheets
  in number order within each: the old commune with the smallest code keeps sheets 1..n, the next one
  continues at n + 1, and so on; plot numbers do not change.
"""

from __future__ import annotations

import re

import numpy as np

from .admin import InvalidCodeError, normalize_unit_code

POLICIES = ("prefix", "renumber")
# commune, the old commune kept in front (optional), sheet, plot; also run by pyarrow's RE2 on whole columns
MX_PATTERN = r"^(?P<c>\d{5})(?:\.(?P<p>\d{5}))?\.(?P<s>[1-9]\d*)\.(?P<n>[1-9]\d*)$"
_MX = re.compile(MX_PATTERN)


class InvalidMXError(ValueError):
    """A string that is not an MX.SB.ST code."""


def parse_mx(code: str) -> tuple[str, str | None, int, int]:
    """(commune, old commune prefix or None, sheet, plot) of an MX.SB.ST code.

    >>> parse_mx("03646.25.112"), parse_mx("03646.03649.25.112")
    (('03646', None, 25, 112), ('03646', '03649', 25, 112))
    >>> parse_mx("3646.25.0")
    Traceback (most recent call last):
    ...
    identifiers.mx.InvalidMXError: '3646.25.0' is not an MX.SB.ST code: expected 5-digit commune . sheet . plot,
    numbers from 1 (e.g. 03646.25.112)
    """
    m = _MX.match(code.strip()) if isinstance(code, str) else None
    if m is None:
        raise InvalidMXError(f"{code!r} is not an MX.SB.ST code: expected 5-digit commune . sheet . plot, "
                             "numbers from 1 (e.g. 03646.25.112)")
    return m.group(1), m.group(2), int(m.group(3)), int(m.group(4))


def format_mx(commune: str, sheet: int, plot: int, prefix: str | None = None) -> str:
    """An MX.SB.ST code (with the old commune as prefix when given).

    Parameters
    ----------
    commune : str
        5-digit commune code.
    sheet, plot : int
        Sheet and plot numbers, from 1.
    prefix : str, optional
        The old commune code kept in front (the ``prefix`` policy).

    Returns
    -------
    str

    >>> format_mx("3646", 25, 112), format_mx("03646", 25, 112, prefix="03649")
    ('03646.25.112', '03646.03649.25.112')
    """
    try:
        commune = normalize_unit_code(commune)
        prefix = normalize_unit_code(prefix) if prefix is not None else None
    except InvalidCodeError as exc:
        raise InvalidMXError(str(exc)) from None
    if commune is None or int(sheet) < 1 or int(plot) < 1:
        raise InvalidMXError(f"cannot make an MX.SB.ST code of commune {commune!r}, sheet {sheet!r}, plot {plot!r}")
    return f"{commune}.{prefix}.{int(sheet)}.{int(plot)}" if prefix else f"{commune}.{int(sheet)}.{int(plot)}"


def sheet_renumbering(old_communes, sheets, new_communes) -> dict[tuple[str, str, int], int]:
    """The ``renumber`` policy's sheet mapping: (new commune, old commune, old sheet) → new sheet.

    Parameters
    ----------
    old_communes, sheets : sequences
        Each plot's old commune and sheet.
    new_communes : sequence of str
        Each plot's new commune.

    Returns
    -------
    dict
        (new commune, old commune, old sheet) → new sheet number.

    >>> sheet_renumbering(["03649", "03646", "03646", "03649"], [1, 2, 1, 1], ["03646"] * 4)
    {('03646', '03646', 1): 1, ('03646', '03646', 2): 2, ('03646', '03649', 1): 3}
    """
    keys = sorted({(n, o, int(s)) for o, s, n in zip(old_communes, sheets, new_communes)})
    mapping: dict[tuple[str, str, int], int] = {}
    counter: dict[str, int] = {}
    for new, old, sheet in keys:
        counter[new] = counter.get(new, 0) + 1
        mapping[(new, old, sheet)] = counter[new]
    return mapping


def recode(old_communes, sheets, plots, new_communes, policy: str) -> np.ndarray:
    """New MX.SB.ST codes under a recoding policy.

    New MX.SB.ST codes under ``policy`` (see the module docstring), one per plot; None where the plot
    has no complete legacy code or no new commune. Deterministic: depends only on the set of plots.

    Parameters
    ----------
    old_communes, sheets, plots : sequences
        The legacy code's parts of each plot.
    new_communes : sequence of str
        The new commune of each plot.
    policy : {"prefix", "renumber"}
        How the new code is made.

    Returns
    -------
    ndarray of object
        The new codes.

    Examples
    --------
    >>> recode(["03646", "03649"], [1, 1], [7, 7], ["03646", "03646"], "prefix").tolist()
    ['03646.03646.1.7', '03646.03649.1.7']
    >>> recode(["03646", "03649"], [1, 1], [7, 7], ["03646", "03646"], "renumber").tolist()
    ['03646.1.7', '03646.2.7']
    """
    if policy not in POLICIES:
        raise ValueError(f"`policy` was {policy!r} but is expected to be in {list(POLICIES)}")
    rows = list(zip(old_communes, sheets, plots, new_communes))
    complete = [all(v is not None and v == v for v in row) for row in rows]
    out = np.full(len(rows), None, dtype=object)
    if policy == "prefix":
        for i, (old, sheet, plot, new) in enumerate(rows):
            if complete[i]:
                out[i] = format_mx(new, sheet, plot, prefix=old)
        return out
    ok = [r for r, c in zip(rows, complete) if c]
    mapping = sheet_renumbering([r[0] for r in ok], [r[1] for r in ok], [r[3] for r in ok])
    for i, (old, sheet, plot, new) in enumerate(rows):
        if complete[i]:
            out[i] = format_mx(new, mapping[(new, old, int(sheet))], plot)
    return out
