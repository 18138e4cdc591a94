"""Loading the conversion table into PostGIS: totals, reused codes by date, reload, bad files, replace."""

import datetime as dt

import pandas as pd
import pytest

from boundaries.synthetic import synthetic_reorganisation
from geoland.pipeline.units import load_conversion, lookup_unit
from geoland.store.db import connect

NEW = dt.date(2025, 7, 1)


@pytest.fixture(scope="module")
def national(module_db, sample_data):
    with connect(module_db) as conn:
        report = load_conversion(conn, sample_data / "admin_units_2025_conversion.csv")
    return module_db, report


def test_national_table_in_the_database(national, db_query):
    url, report = national
    assert report.job_id is not None and not report.unchanged
    counts = dict(db_query(url, """
        SELECT level || ':' || CASE WHEN valid_to IS NOT NULL THEN 'old' ELSE 'new' END, count(*)
        FROM geoland.admin_unit GROUP BY 1"""))
    assert counts["commune:new"] == 3_316 and counts["commune:old"] == 10_033
    assert counts["province:new"] == 34 and counts["province:old"] == 63
    assert db_query(url, "SELECT count(*) FROM geoland.unit_change c JOIN geoland.admin_unit u "
                         "ON u.id = c.new_unit_id WHERE u.level = 'commune'")[0][0] == 10_565
    # Sơn La: 200 old communes → 75 new, none split.
    (old, new, split), = db_query(url, """
        SELECT count(DISTINCT c.old_unit_id), count(DISTINCT c.new_unit_id),
               count(*) FILTER (WHERE c.kind = 'partial')
        FROM geoland.unit_change c JOIN geoland.admin_unit n ON n.id = c.new_unit_id
        WHERE n.level = 'commune' AND n.province_code = '14'""")
    assert (old, new, split) == (200, 75, 0)
    # Hà Nội: old communes split among several new ones, found from either side.
    splits = db_query(url, """
        SELECT o.code, array_agg(n.code ORDER BY n.code) FROM geoland.unit_change c
        JOIN geoland.admin_unit o ON o.id = c.old_unit_id JOIN geoland.admin_unit n ON n.id = c.new_unit_id
        WHERE n.level = 'commune' AND n.province_code = '01' GROUP BY o.code HAVING count(*) > 1""")
    assert len(splits) > 0
    code, new_codes = splits[0]
    with connect(url) as conn:
        for new_code in new_codes:
            assert code in {r["code"] for r in lookup_unit(conn, new_code, at=NEW).formed_from}
        assert {r["code"] for r in lookup_unit(conn, code, at=NEW - dt.timedelta(days=1)).became} == set(new_codes)


def test_reused_code_resolves_by_date(national, geoland_cli):
    url, _ = national
    with connect(url) as conn:
        before = lookup_unit(conn, "03646", at=dt.date(2025, 6, 30))
        after = lookup_unit(conn, "3646", at=NEW)
    assert before.name == "Phường Chiềng Lề" and after.name == "Phường Tô Hiệu"
    assert [r["name"] for r in before.became] == ["Phường Tô Hiệu"]
    formed = {r["code"]: r["name"] for r in after.formed_from}
    assert formed["03646"] == "Phường Chiềng Lề" and formed["03649"] == "Phường Tô Hiệu"
    code, out, err = geoland_cli("--database-url", url, "units", "lookup", "03646", "--at", "2025-06-30")
    assert code == 0 and "Phường Chiềng Lề" in out and "became 03646 Phường Tô Hiệu" in out
    code, out, err = geoland_cli("--database-url", url, "units", "lookup", "03649", "--at", "2025-08-01")
    assert code == 1 and "no commune has code 03649 on 2025-08-01" in err and "Phường Tô Hiệu" in err


def test_reload_is_a_no_op(national, db_snapshot, geoland_cli, sample_data):
    url, _ = national
    before = db_snapshot(url)
    code, out, err = geoland_cli("--database-url", url, "units", "load-conversion",
                                 sample_data / "admin_units_2025_conversion.csv", "--json")
    assert code == 0, err
    import json
    report = json.loads(out)
    assert report["unchanged"] and report["job_id"] is None
    assert report["changes"]["unchanged"] > 10_000 and report["units"] == {"inserted": 0, "closed": 0, "renamed": 0}
    assert db_snapshot(url) == before


def _write(tmp_path, frame, name="conv.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_corrupted_csv_names_file_and_line_and_changes_nothing(db_url, tmp_path, geoland_cli, db_snapshot):
    table = synthetic_reorganisation(seed=2).conversion
    good = _write(tmp_path, table)
    assert geoland_cli("units", "load-conversion", good)[0] == 0
    before = db_snapshot(db_url)

    bad = table.copy()
    bad.loc[5, "old_commune_code"] = "9X001"
    code, _out, err = geoland_cli("units", "load-conversion", _write(tmp_path, bad, "bad.csv"))
    assert code == 1 and "bad.csv" in err and "line 7" in err and "'9X001'" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err

    dup = pd.concat([table, table.iloc[[3]]], ignore_index=True)
    code, _, err = geoland_cli("units", "load-conversion", _write(tmp_path, dup, "dup.csv"))
    assert code == 1 and f"line {len(dup) + 1}" in err and "duplicate pair" in err and "line 5" in err

    code, _, err = geoland_cli("units", "load-conversion", _write(tmp_path, table.drop(columns="change"), "cols.csv"))
    assert code == 1 and "line 1" in err and "missing column(s) ['change']" in err

    ragged = tmp_path / "ragged.csv"
    ragged.write_text(good.read_text(encoding="utf-8").replace("Nhập toàn bộ", "Nhập toàn bộ,x", 1), encoding="utf-8")
    code, _, err = geoland_cli("units", "load-conversion", ragged)
    assert code == 1 and "ragged.csv" in err and "12 cells where the header has 11" in err

    latin = tmp_path / "latin.csv"
    latin.write_bytes(good.read_text(encoding="utf-8").encode("cp1258", errors="replace"))
    code, _, err = geoland_cli("units", "load-conversion", latin)
    assert code == 1 and "not UTF-8" in err

    code, _, err = geoland_cli("--debug", "units", "load-conversion", _write(tmp_path, bad, "bad2.csv"))
    assert code == 1 and "Traceback" in err
    assert db_snapshot(db_url) == before


def test_a_different_table_for_the_same_date_needs_replace(db_url, tmp_path, geoland_cli, db_query):
    table = synthetic_reorganisation(seed=2).conversion
    assert geoland_cli("units", "load-conversion", _write(tmp_path, table))[0] == 0
    moved = table.copy()
    i = moved.index[moved["change"] == "Nhập toàn bộ"][0]
    target = next(c for c in moved["commune_code"].unique() if c != moved.loc[i, "commune_code"])
    moved.loc[i, ["commune_code", "commune_name"]] = moved.loc[moved["commune_code"] == target,
                                                                ["commune_code", "commune_name"]].iloc[0].to_numpy()
    path = _write(tmp_path, moved, "corrected.csv")
    code, _, err = geoland_cli("units", "load-conversion", path)
    assert code == 1 and "--replace" in err and "1 old → new pairs" in err
    code, out, err = geoland_cli("units", "load-conversion", path, "--replace", "--json")
    assert code == 0, err
    import json
    report = json.loads(out)
    assert report["changes"]["removed"] == 1 and report["changes"]["inserted"] == 1
    old = moved.loc[i, "old_commune_code"]
    assert db_query(db_url, """
        SELECT n.code FROM geoland.unit_change c JOIN geoland.admin_unit o ON o.id = c.old_unit_id
        JOIN geoland.admin_unit n ON n.id = c.new_unit_id WHERE o.code = :o AND o.level = 'commune'""",
                    o=old) == [(target,)]


def test_a_later_reorganisation_closes_the_units_it_replaces(db_url, tmp_path, geoland_cli, db_query):
    table = synthetic_reorganisation(seed=2).conversion
    assert geoland_cli("units", "load-conversion", _write(tmp_path, table))[0] == 0
    new_codes = sorted(table["commune_code"].unique())
    later = pd.DataFrame({
        **{c: table[c].iloc[0] for c in ("province_code", "province_name", "old_province_code", "old_province_name")},
        "commune_code": new_codes[0], "commune_name": "Xã Hợp Nhất",
        "old_commune_code": new_codes[:2], "old_commune_name": "x", "change": "Nhập toàn bộ",
        "old_district_code": "", "old_district_name": "",
    })
    code, out, err = geoland_cli("units", "load-conversion", _write(tmp_path, later, "2027.csv"),
                                 "--effective", "2027-01-01")
    assert code == 0, err
    periods = db_query(db_url, """SELECT valid_from, valid_to, name FROM geoland.admin_unit
        WHERE level = 'commune' AND code = :c ORDER BY valid_from NULLS FIRST""", c=new_codes[1])
    assert [(p[0], p[1]) for p in periods] == [(None, NEW), (NEW, dt.date(2027, 1, 1))]
    code, out, _ = geoland_cli("units", "lookup", new_codes[0], "--at", "2027-06-01")
    assert code == 0 and "Xã Hợp Nhất" in out
