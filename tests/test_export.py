"""`geoland export` and `export verify`: the package verifies, tampering is named, reruns are byte-identical,
the three formats agree, a delta after a recode lists exactly the changed codes, no personal data unless an
admin asks (audited)."""

import io
import json

import pandas as pd
import pyogrio

from geoland.review.users import add_user
from geoland.store.db import connect


def _run(geoland_cli, *args):
    code, out, err = geoland_cli(*args)
    assert code == 0, err
    return out


def test_export_package(db_url, load_province, geoland_cli, db_query, tmp_path, monkeypatch):
    _, synthetic = load_province("99", n_plots=2000)
    _run(geoland_cli, "reassign")
    _run(geoland_cli, "codes", "issue")
    first = json.loads(_run(geoland_cli, "export", "--province", "99", "--out", tmp_path / "a", "--json"))
    coded = db_query(db_url, "SELECT count(*) FROM geoland.plot_code")[0][0]
    assert first["rows"] == coded > 1900
    assert json.loads(_run(geoland_cli, "export", "verify", tmp_path / "a", "--json"))["ok"]
    # Rerun on unchanged data: byte-identical, same export id.
    again = json.loads(_run(geoland_cli, "export", "--province", "99", "--out", tmp_path / "b", "--json"))
    assert again["export_id"] == first["export_id"]
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["crosswalk.csv", "identifiers.csv", "identifiers.geojson", "identifiers.gpkg", "manifest.json"]
    assert all((tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes() for n in names)
    # Tampering is named.
    with open(tmp_path / "b" / "identifiers.csv", "a", encoding="utf-8") as f:
        f.write("w7cczzzzzzzz,90001,,99,,,104.0,21.0,1.0,ONT,\n")
    code, _, err = geoland_cli("export", "verify", tmp_path / "b")
    assert code == 1 and "identifiers.csv: SHA-256 differs" in err
    (tmp_path / "b" / "notes.txt").write_text("x")
    code, _, err = geoland_cli("export", "verify", tmp_path / "b")
    assert code == 1 and "notes.txt: not in the manifest" in err
    # The three formats agree, row for row.
    table = pd.read_csv(tmp_path / "a" / "identifiers.csv", dtype={"commune_code": str, "province_code": str})
    for name in ("identifiers.geojson", "identifiers.gpkg"):
        geo = pyogrio.read_dataframe(tmp_path / "a" / name)
        assert geo["identification_code"].tolist() == table["identification_code"].tolist(), name
        assert geo["commune_code"].tolist() == table["commune_code"].tolist(), name
        assert (geo.geometry.x.to_numpy() == table["lon"].to_numpy()).all(), name      # the same numbers
        assert (geo.geometry.y.to_numpy() == table["lat"].to_numpy()).all(), name
    assert table["identification_code"].is_monotonic_increasing
    # No personal data in any file.
    people = synthetic.plots
    numbers, users = set(people["id_number"].dropna()), set(people["user_name"].dropna())
    for path in (tmp_path / "a").iterdir():
        text = path.read_bytes().decode("utf-8", errors="replace")
        assert not any(n in text for n in numbers) and not any(u in text for u in users), path.name
    # A recode, then a delta since the first export: exactly the plots whose code changed.
    _run(geoland_cli, "recode", "--policy", "renumber")
    changed = {r[0] for r in db_query(db_url, "SELECT c.code FROM geoland.mx_crosswalk x JOIN geoland.plot_code c "
                                              "USING (plot_id) WHERE x.old_code <> x.new_code")}
    delta = json.loads(_run(geoland_cli, "export", "--province", "99", "--out", tmp_path / "c", "--since",
                            first["export_id"], "--json"))
    assert delta["delta"] == {"added": 0, "changed": len(changed), "retired": 0} and changed
    rows = pd.read_csv(tmp_path / "c" / "delta.csv", dtype=str)
    assert set(rows["identification_code"]) == changed and set(rows["change"]) == {"changed"}
    assert json.loads(_run(geoland_cli, "export", "verify", tmp_path / "c", "--json"))["ok"]
    code, _, err = geoland_cli("export", "--province", "99", "--out", tmp_path / "d", "--since", "nope")
    assert code == 1 and "no export 'nope'" in err
    # Personal data only for an admin, audited, in its own file.
    with connect(db_url) as conn:
        add_user(conn, "lan", "reviewer", "mat-khau-123")
        add_user(conn, "admin", "admin", "mat-khau-456")
    monkeypatch.setattr("sys.stdin", io.StringIO("mat-khau-123\n"))
    code, _, err = geoland_cli("export", "--province", "99", "--out", tmp_path / "e", "--with-people", "--user", "lan")
    assert code == 1 and "needs an admin user" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("mat-khau-456\n"))
    _run(geoland_cli, "export", "--province", "99", "--out", tmp_path / "e", "--with-people", "--user", "admin")
    listed = pd.read_csv(tmp_path / "e" / "people.csv", dtype=str)
    assert set(listed["id_number"].dropna()) <= numbers and listed["id_number"].notna().any()
    assert not any(n in (tmp_path / "e" / "identifiers.csv").read_text(encoding="utf-8") for n in numbers)
    assert db_query(db_url, "SELECT count(*) FROM geoland.audit_event WHERE action = 'personal_data.exported'") == [(1,)]
    assert json.loads(_run(geoland_cli, "export", "verify", tmp_path / "e", "--json"))["ok"]


def test_the_point_is_the_codes_cell_centre(db_url, load_province, geoland_cli, tmp_path):
    from identifiers.geohash import decode

    load_province("99", n_plots=300)
    _run(geoland_cli, "codes", "issue")
    _run(geoland_cli, "export", "--out", tmp_path / "x", "--format", "csv")
    table = pd.read_csv(tmp_path / "x" / "identifiers.csv", dtype={"identification_code": str})
    lon, lat = decode(table["identification_code"].to_numpy(dtype=object))
    assert (abs(table["lon"] - lon) < 1e-8).all() and (abs(table["lat"] - lat) < 1e-8).all()
    assert table["commune_code"].isna().all()                    # not reassigned: no commune, still exported


def test_point_wkb_is_the_wkb_shapely_writes():
    import numpy as np
    import shapely

    from geoland.pipeline.export import point_wkb

    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(102.1, 109.5, 500), rng.uniform(8.5, 23.4, 500)
    lon[:3] = [-180.0, 0.0, 180.0]
    assert point_wkb(lon, lat).to_pylist() == list(shapely.to_wkb(shapely.points(lon, lat)))
    assert point_wkb(np.empty(0), np.empty(0)).to_pylist() == []


def test_geojson_writer_escapes_and_keeps_every_value(tmp_path):
    import numpy as np
    import pyarrow as pa

    from geoland.pipeline.export import _write_geojson

    table = pa.table({
        "identification_code": ["w7cckhr2bqyg", None, 'a"b\\c', "tab\there\nline\x01"],
        "commune_name": ["Xã Mường Lèo", "Phường Tô Hiệu", None, ""],
        "area_m2": [1200.0, 13349.2, None, float("nan")],
        "lon": [103.2603108, 104.0, 21.03999996, 180.0], "lat": [20.82699115, -0.5, 21.03999996, -90.0]})
    path = tmp_path / "points.geojson"
    _write_geojson(table, path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection" and len(data["features"]) == 4
    props = [f["properties"] for f in data["features"]]
    assert [p["identification_code"] for p in props] == table["identification_code"].to_pylist()
    assert [p["commune_name"] for p in props] == table["commune_name"].to_pylist()
    assert [p["area_m2"] for p in props] == [1200.0, 13349.2, None, None]        # NaN is no JSON number
    assert isinstance(props[0]["area_m2"], float)                                  # 1200.0, not 1200
    coords = np.array([f["geometry"]["coordinates"] for f in data["features"]])
    assert coords.tolist() == np.column_stack([table["lon"], table["lat"]]).tolist()   # exact, no rounding
    read = pyogrio.read_dataframe(path)
    assert read["commune_name"].tolist()[:2] == ["Xã Mường Lèo", "Phường Tô Hiệu"] and len(read) == 4
    empty = tmp_path / "empty.geojson"
    _write_geojson(table.slice(0, 0), empty)
    assert json.loads(empty.read_text()) == {"type": "FeatureCollection", "xy_coordinate_resolution": 1e-08,
                                             "features": []}
