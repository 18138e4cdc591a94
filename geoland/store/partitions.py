"""The per-plot tables' partitions, one per province (migrations 0019 and 0020).

``plot``, ``plot_assignment``, ``plot_code``, ``finding`` and ``mx_crosswalk`` are partitioned by LIST on the
plot's province, and so are the land register's rows that name a plot (:data:`REGISTER`). A province's partitions
are made together, by the importer, before its first plots are written (:func:`ensure`); ``<table>_none`` holds
the plots without a province (``plot.province_code`` NULL, the others' ``''``: also the register's rights that
are not on a plot).

Making a partition takes an exclusive lock on its table until the transaction ends: the first import of a
province keeps readers of the plots waiting until it commits. Later imports of the province make none.

A query given a province names it on *every* partitioned table it reads (``a.province_code = ANY(...)``), so
that it reads one partition of each: :func:`in_provinces` writes that condition.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

TABLES = ("plot", "plot_assignment", "plot_code", "finding", "mx_crosswalk")
# the land register's rows that name a plot (migration 0020): a right, a certificate's or an asset's plot, an alias
REGISTER = ("land_right", "certificate_plot", "asset_plot", "party_alias")
NO_PROVINCE = ""                         # the derived tables' key for a plot without a province
# the partition key of a register row naming plot :plot (a plot without a province, or none: '')
PLOT_PROVINCE = "coalesce((SELECT province_code FROM geoland.plot WHERE id = :plot), '')"
_CODE = re.compile(r"^[0-9]{2}$")


def partition(table: str, province: str | None) -> str:
    """The partition of ``table`` holding ``province`` (``None`` or ``''``: the plots without one)."""
    return f"{table}_{province or 'none'}"


def sizes(conn: Connection) -> dict[str, int]:
    """Each province that has its partitions → its plots, as the partition's statistics say (0 before any).

    No count of millions of rows: the estimate ``ANALYZE`` left (the importer analyses after each import).
    """
    rows = conn.execute(sa.text(
        "SELECT c.relname, greatest(c.reltuples, 0)::bigint FROM pg_inherits i JOIN pg_class c "
        "ON c.oid = i.inhrelid WHERE i.inhparent = 'geoland.plot'::regclass AND c.relname <> 'plot_none'")).all()
    return {name[len("plot_"):]: int(n) for name, n in rows}


def existing(conn: Connection) -> set[str]:
    """The provinces that have their partitions."""
    return set(sizes(conn))


def ensure(conn: Connection, provinces: Iterable[str | None]) -> list[str]:
    """Make the partitions of the provinces that have none yet; returns the provinces made.

    Raises ``ValueError`` for a province code that is not two digits (a partition's name is made of it).
    """
    wanted = {p for p in provinces if p}
    bad = sorted(p for p in wanted if not _CODE.match(p))
    if bad:
        raise ValueError(f"province code {bad[0]!r} is not two digits: no partition can hold its plots")
    made = sorted(wanted - existing(conn))
    for code in made:
        for table in TABLES + REGISTER:
            conn.execute(sa.text(f"CREATE TABLE IF NOT EXISTS geoland.{partition(table, code)} "
                                 f"PARTITION OF geoland.{table} FOR VALUES IN ('{code}')"))
    return made


def in_provinces(alias: str, param: str = "provinces", *, style: str = "pyformat") -> str:
    """``AND`` condition keeping the rows of table ``alias`` in the provinces of parameter ``param`` when given.

    ``style`` is the parameter syntax: ``pyformat`` (``%(provinces)s``, psycopg) or ``named`` (``:provinces``,
    SQLAlchemy). The parameter is a list of codes or ``None`` (every province).
    """
    ref = f"%({param})s::text[]" if style == "pyformat" else f"CAST(:{param} AS text[])"
    return f" AND ({ref} IS NULL OR {alias}.province_code = ANY({ref}))"


def in_communes(alias: str, param: str = "communes", *, style: str = "pyformat") -> str:
    """``AND`` condition keeping the plots (table ``alias``) of the old communes of parameter ``param`` when given.

    The parameter is a list of old commune codes (``''``: the plots without one) or ``None`` (every commune): one
    part of a province split by old commune (``geoland run --split-above``).
    """
    ref = f"%({param})s::text[]" if style == "pyformat" else f"CAST(:{param} AS text[])"
    return f" AND ({ref} IS NULL OR coalesce({alias}.old_commune_code, '') = ANY({ref}))"
