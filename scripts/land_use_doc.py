"""Write docs/land-use-codes.md from identifiers.landuse.CATALOGUE (a test checks that they agree)."""

from __future__ import annotations

import sys
from pathlib import Path

from identifiers.landuse import CATALOGUE, SOURCES

HEAD = """# Land-use codes (loại đất)

Generated from `identifiers/landuse.py` by `python scripts/land_use_doc.py`; a test fails when the two
differ. A plot's land use may be one code or a combination (`ONT+CLN`, also written with `,`, `;` or `/`).

- **current**: in the 2024 list; stored as is.
- **legacy**: only in an earlier list; reported as the finding `legacy_land_use` (information, not an
  error) with the code it stands for today: its one replacement where the 2024 list has one, the legacy
  code itself where the 2024 list split or merged its meaning (an officer decides).
- anything else is `unknown_land_use` (an error), naming the part that no list holds.

## Sources

{sources}

How this table was made: the codes and names were compiled from the code lists of these circulars and
cross-checked against several independently published code tables (they agree on the names of the
legacy codes met in real files, `DTS` and `DSH` among them). Two points are still to be checked
against the gazette texts (congbao.chinhphu.vn): whether `DCK` also appears in Thông tư 28/2014, and
whether the 2024 list folds `DSH` into `DKV` (its wording joins public recreation and community
activities); until then `DSH` is legacy with no single replacement. Corrections go in
`identifiers/landuse.py` with their source.

## Codes

| Code | Name | Lists | Status |
|---|---|---|---|
"""


def render() -> str:
    sources = "\n".join(f"- `{key}`: {text}" for key, text in SOURCES.items())
    rows = []
    for c in CATALOGUE:
        status = "current" if c.current else f"legacy → {c.replaced_by}" if c.replaced_by else "legacy (kept)"
        rows.append(f"| `{c.code}` | {c.name} | {', '.join(c.sources)} | {status} |")
    return HEAD.format(sources=sources) + "\n".join(rows) + "\n"


if __name__ == "__main__":
    out = Path(__file__).resolve().parents[1] / "docs" / "land-use-codes.md"
    out.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {out}\n")
