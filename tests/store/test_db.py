"""`db.read_columns`: the values a cursor would give, read through COPY and pyarrow; errors as psycopg's."""

from __future__ import annotations

import datetime as dt
import math

import psycopg
import pytest
import sqlalchemy as sa

from geoland.store.db import connect, read_columns

_SQL = """
SELECT * FROM (VALUES
    (1::bigint, 2.5::float8, 3.25::numeric, true, DATE '2025-07-01', 'Xã Mường Lèo', '\\x0102ff'::bytea,
     ARRAY[7, 8]::bigint[], 'a,"b"' || chr(10) || 'c', ''),
    (NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{}'::bigint[], NULL, NULL)
) AS t(i, f, n, b, d, name, raw, related, awkward, empty)
ORDER BY i NULLS LAST
"""


def test_read_columns_gives_python_values(db_url):
    with connect(db_url) as conn:
        frame = read_columns(conn, _SQL)
        named = read_columns(conn, "SELECT %(x)s::int AS x, %(y)s::text AS y", {"x": 41, "y": "đ'\""},
                             ["one", "two"])
        empty = read_columns(conn, "SELECT 1::int AS a, 'x'::text AS b WHERE false")
    assert list(frame.columns) == ["i", "f", "n", "b", "d", "name", "raw", "related", "awkward", "empty"]
    first, second = frame.iloc[0].to_dict(), frame.iloc[1].to_dict()
    assert first == {"i": 1, "f": 2.5, "n": 3.25, "b": True, "d": dt.date(2025, 7, 1), "name": "Xã Mường Lèo",
                     "raw": b"\x01\x02\xff", "related": (7, 8), "awkward": 'a,"b"\nc', "empty": ""}
    assert second["i"] is None and math.isnan(second["f"]) and math.isnan(second["n"])
    assert second["b"] is None and second["d"] is None and second["name"] is None and second["raw"] is None
    assert second["related"] == () and second["awkward"] is None and second["empty"] is None
    assert named.to_dict("records") == [{"one": 41, "two": "đ'\""}]
    assert empty.empty and list(empty.columns) == ["a", "b"]


def test_read_columns_errors_are_psycopg_errors_and_roll_back(db_url):
    with pytest.raises(psycopg.errors.DivisionByZero), connect(db_url) as conn:
        conn.execute(sa.text("INSERT INTO geoland.job (kind, state, actor) VALUES ('test', 'running', 'lan')"))
        read_columns(conn, "SELECT 1 / (SELECT count(*) - count(*) FROM geoland.job)")
    with connect(db_url) as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM geoland.job WHERE kind = 'test'")).scalar() == 0
        with pytest.raises(ValueError, match="2 columns, 1 names"):
            read_columns(conn, "SELECT 1, 2", None, ["only"])


def test_repeated_values_are_one_object_and_the_cursors_values(db_url):
    """Text and integers that repeat are read as one shared Python object per value (memory for a million plots);
    the values, NULLs included, are those of a cursor; mostly distinct columns are read as before."""
    sql = ("SELECT i, (i % 7)::text AS t, i % 5 AS n, "
           "CASE WHEN i % 3 = 0 THEN NULL ELSE 'xã ' || (i % 4) END AS maybe, "
           "CASE WHEN i % 2 = 0 THEN NULL ELSE i % 3 END AS gaps, i::text AS distinct_text "
           "FROM generate_series(1, 5000) AS i ORDER BY i")
    with connect(db_url) as conn:
        frame = read_columns(conn, sql)
        rows = conn.execute(sa.text(sql)).all()
    assert [tuple(r) for r in frame.itertuples(index=False)] == [tuple(r) for r in rows]
    assert frame["t"].iat[0] is frame["t"].iat[7] and frame["n"].iat[0] is frame["n"].iat[5]
    assert frame["maybe"].iat[0] is frame["maybe"].iat[4] and frame["maybe"].iat[2] is None
    assert frame["gaps"].iat[1] is None and frame["gaps"].iat[0] == 1 and type(frame["gaps"].iat[0]) is int
    assert frame["distinct_text"].iat[0] == "1" and frame["distinct_text"].iat[4999] == "5000"
    assert all(frame[c].dtype == object for c in frame.columns)
