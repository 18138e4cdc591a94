"""`geoland export` and `export verify`: the package verifies, tampering is named, reruns are byte-identical,
the three formats agree, a delta after a recode lists exactly the changed codes, no personal data unless an
admin asks (audited)."""

import io
import json

import pandas as pd
import pyogrio
import pytest

from geoland.review.users import add_user
from geoland.store.db import connect


def _run(geoland_cli, *args):
    code, out, err = geoland_cli(*args)
    assert code == 0, err
    return out


@pytest.fixture(scope="module")
def exported(module_cli, module_db, tmp_path_factory, helpers):
    """A province reassigned and coded, exported twice (folders ``a`` and ``b``) on unchanged data."""
    folder = tmp_path_factory.mktemp("export")
    _, synthetic = helpers.write_and_load_province(module_cli, folder / "province-99", "99", n_plots=2000)
    _run(module_cli, "reassign")
    _run(module_cli, "codes", "issue")
    first = json.loads(_run(module_cli, "export", "--province", "99", "--out", folder / "a", "--json"))
    again = json.loads(_run(module_cli, "export", "--province", "99", "--out", folder / "b", "--json"))
    people = synthetic.plots
    return {"run": module_cli, "url": module_db, "folder": folder, "first": first, "again": again,
            "numbers": set(people["id_number"].dropna()), "users": set(people["user_name"].dropna()),
            "query": lambda sql: helpers.query(module_db, sql)}


def test_every_coded_plot_is_exported_and_verifies(exported):
    coded = exported["query"]("SELECT count(*) FROM geoland.plot_code")[0][0]
    assert exported["first"]["rows"] == coded > 1900
    assert json.loads(_run(exported["run"], "export", "verify", exported["folder"] / "a", "--json"))["ok"]


def test_a_rerun_on_unchanged_data_is_byte_identical(exported):
    a, b = exported["folder"] / "a", exported["folder"] / "b"
    assert exported["again"]["export_id"] == exported["first"]["export_id"]
    names = sorted(p.name for p in a.iterdir())
    assert names == ["assets.csv", "assets.csvt", "crosswalk.csv", "crosswalk.csvt", "disputed.csv", "disputed.csvt",
                     "identifiers.csv", "identifiers.csvt", "identifiers.geojson", "identifiers.gpkg", "manifest.json"]
    assert all((a / n).read_bytes() == (b / n).read_bytes() for n in names)


@pytest.mark.parametrize(("tamper", "message"), [
    ("append", "identifiers.csv: SHA-256 differs"),
    ("add", "notes.txt: not in the manifest"),
    ("remove", "crosswalk.csv: missing"),
])
def test_tampering_is_named(exported, tmp_path, tamper, message):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(exported["folder"] / "a", copy)
    if tamper == "append":
        with open(copy / "identifiers.csv", "a", encoding="utf-8") as f:
            f.write("w7cczzzzzzzz,90001,,99,,,104.0,21.0,1.0,ONT,\n")
    elif tamper == "add":
        (copy / "notes.txt").write_text("x")
    else:
        (copy / "crosswalk.csv").unlink()
    code, _, err = exported["run"]("export", "verify", copy)
    assert code == 1 and message in err


@pytest.mark.parametrize("name", ["identifiers.geojson", "identifiers.gpkg"])
def test_the_three_formats_agree_row_for_row(exported, name):
    a = exported["folder"] / "a"
    table = pd.read_csv(a / "identifiers.csv", dtype={"commune_code": str, "province_code": str})
    assert table["identification_code"].is_monotonic_increasing
    geo = pyogrio.read_dataframe(a / name)
    assert geo["identification_code"].tolist() == table["identification_code"].tolist()
    assert geo["commune_code"].tolist() == table["commune_code"].tolist()
    assert (geo.geometry.x.to_numpy() == table["lon"].to_numpy()).all()      # the same numbers
    assert (geo.geometry.y.to_numpy() == table["lat"].to_numpy()).all()


def test_no_personal_data_in_any_file(exported):
    for path in (exported["folder"] / "a").iterdir():
        text = path.read_bytes().decode("utf-8", errors="replace")
        assert not any(n in text for n in exported["numbers"]), path.name
        assert not any(u in text for u in exported["users"]), path.name


def test_a_failed_export_leaves_no_folder(exported, monkeypatch):
    """Issue 14, defect 8: the files are written beside the target and renamed into place when complete."""
    import geoland.pipeline.export as export

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(export, "_write_geojson", broken)
    target = exported["folder"] / "failed"
    code, _, err = exported["run"]("export", "--province", "99", "--out", target)
    assert code == 1 and "RuntimeError" in err and not target.exists()
    assert not list(exported["folder"].glob(".failed.partial-*"))           # the half is cleaned up


def test_a_killed_exports_leftover_is_removed_and_reruns_replace_the_folder(exported):
    folder = exported["folder"]
    stale = folder / ".again.partial-99999"                                 # what a killed export leaves
    stale.mkdir()
    (stale / "identifiers.csv").write_text("half")
    for _ in range(2):                                                      # the second replaces the first
        assert json.loads(_run(exported["run"], "export", "--province", "99", "--out", folder / "again",
                               "--json"))["export_id"] == exported["first"]["export_id"]
    assert not stale.exists()
    assert json.loads(_run(exported["run"], "export", "verify", folder / "again", "--json"))["ok"]


def test_a_folder_with_other_files_is_refused(exported):
    other = exported["folder"] / "my-documents"
    other.mkdir()
    (other / "thesis.docx").write_text("do not delete")
    code, _, err = exported["run"]("export", "--province", "99", "--out", other)
    assert code == 1 and "not an export folder" in err
    assert (other / "thesis.docx").read_text() == "do not delete"


def test_people_only_for_an_admin_audited_in_their_own_file(exported, monkeypatch):
    run, out = exported["run"], exported["folder"] / "e"
    with connect(exported["url"]) as conn:
        add_user(conn, "lan", "reviewer", "mat-khau-123")
        add_user(conn, "admin", "admin", "mat-khau-456")
    monkeypatch.setattr("sys.stdin", io.StringIO("mat-khau-123\n"))
    code, _, err = run("export", "--province", "99", "--out", out, "--with-people", "--user", "lan")
    assert code == 1 and "needs an admin user" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("mat-khau-456\n"))
    _run(run, "export", "--province", "99", "--out", out, "--with-people", "--user", "admin")
    assert (out / "people.csv").stat().st_mode & 0o777 == 0o600                       # private to the exporter
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["files"]["people.csv"]["mode"].startswith("0600")
    listed = pd.read_csv(out / "people.csv", dtype=str)
    assert set(listed["id_number"].dropna()) <= exported["numbers"] and listed["id_number"].notna().any()
    assert not any(n in (out / "identifiers.csv").read_text(encoding="utf-8") for n in exported["numbers"])
    assert exported["query"]("SELECT count(*) FROM geoland.audit_event WHERE action = 'personal_data.exported'") \
        == [(1,)]
    assert json.loads(_run(run, "export", "verify", out, "--json"))["ok"]


def test_a_delta_after_recoding_lists_exactly_the_changed_codes(exported):
    # Last in this module: the recoding changes the data the other tests exported.
    run, folder = exported["run"], exported["folder"]
    _run(run, "recode", "--policy", "renumber")
    changed = {r[0] for r in exported["query"]("SELECT c.code FROM geoland.mx_crosswalk x JOIN geoland.plot_code c "
                                               "USING (plot_id) WHERE x.old_code <> x.new_code")}
    delta = json.loads(_run(run, "export", "--province", "99", "--out", folder / "c", "--since",
                            exported["first"]["export_id"], "--json"))
    assert delta["delta"] == {"added": 0, "changed": len(changed), "retired": 0} and changed
    rows = pd.read_csv(folder / "c" / "delta.csv", dtype=str)
    assert set(rows["identification_code"]) == changed and set(rows["change"]) == {"changed"}
    assert json.loads(_run(run, "export", "verify", folder / "c", "--json"))["ok"]
    code, _, err = run("export", "--province", "99", "--out", folder / "d", "--since", "nope")
    assert code == 1 and "no export 'nope'" in err


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
    _write_geojson([table], path)
    pieces = tmp_path / "pieces.geojson"                       # the rows in pieces: the same bytes
    _write_geojson([table.slice(0, 1), table.slice(1, 0), table.slice(1, 2), table.slice(3)], pieces)
    assert pieces.read_bytes() == path.read_bytes()
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
    _write_geojson([table.slice(0, 0)], empty)
    assert json.loads(empty.read_text()) == {"type": "FeatureCollection", "xy_coordinate_resolution": 1e-08,
                                             "features": []}


def test_files_every_tool_opens(exported, tmp_path):
    """Issue 15, item 9: a .csvt beside each CSV makes GDAL (and QGIS) keep codes as text with their leading
    zeros; --excel writes a UTF-8 BOM for Excel; the GeoPackage opens without a warning in GDAL 3.6."""
    import shutil
    import subprocess

    a = exported["folder"] / "a"
    assert (a / "identifiers.csvt").read_text().startswith('"String","String","String","String","String"')
    manifest = json.loads((a / "manifest.json").read_text())
    assert manifest["files"]["identifiers.csvt"]["describes"] == "identifiers.csv"
    read = pyogrio.read_dataframe(a / "identifiers.csv")              # GDAL reads the .csvt beside it:
    assert str(read["lon"].dtype) == "float64"                        # numbers as numbers (strings without it) …
    assert read["commune_code"].str.fullmatch(r"[0-9]{5}").all()      # … and codes as text, zeros kept
    out, plain = tmp_path / "excel", tmp_path / "plain"        # the data now (later tests of the module change it)
    _run(exported["run"], "export", "--province", "99", "--out", out, "--excel")
    _run(exported["run"], "export", "--province", "99", "--out", plain)
    raw = (out / "identifiers.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw[3:] == (plain / "identifiers.csv").read_bytes()
    assert pd.read_csv(out / "identifiers.csv", dtype=str, encoding="utf-8-sig").equals(
        pd.read_csv(plain / "identifiers.csv", dtype=str))
    assert json.loads(_run(exported["run"], "export", "verify", out, "--json"))["ok"]
    if shutil.which("ogrinfo"):
        done = subprocess.run(["ogrinfo", "-ro", "-al", "-so", str(a / "identifiers.gpkg")], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0 and done.stderr == "", done.stderr


def test_corrections_reach_the_next_delta_and_disputes_are_flagged(exported):
    from geoland.review.edits import current_values, save_edits

    base = json.loads(_run(exported["run"], "export", "--province", "99", "--out", exported["folder"] / "before",
                           "--json"))["export_id"]                 # the module's other tests changed the data
    plot, use = exported["query"]("SELECT p.id, p.land_use FROM geoland.plot p JOIN geoland.plot_code c "
                                  "ON c.plot_id = p.id ORDER BY p.id LIMIT 1")[0]
    with connect(exported["url"]) as conn:
        version = current_values(conn, plot)["version"]
        done = save_edits(conn, plot, version, {"land_use": "NTS" if use != "NTS" else "LUC",
                                                "disputed": "on", "disputed_since": "2025-09-01"}, actor="xa1")
    out = exported["folder"] / "after-corrections"
    result = json.loads(_run(exported["run"], "export", "--province", "99", "--out", out, "--since", base, "--json"))
    assert result["delta"] == {"added": 0, "changed": 1, "retired": 0}
    code = exported["query"](f"SELECT code FROM geoland.plot_code WHERE plot_id = {plot}")[0][0]
    delta = pd.read_csv(out / "delta.csv", dtype=str)
    assert delta["identification_code"].tolist() == [code] and delta["change"].tolist() == ["changed"]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["disputed"] == {"flagged": 1, "left_out": 0} and done["job_id"] in manifest["source_jobs"]
    assert (out / "disputed.csv").read_text(encoding="utf-8").splitlines() == [
        '"identification_code","disputed_since"', f'"{code}","2025-09-01"']
    assert result["rows"] == exported["query"]("SELECT count(*) FROM geoland.plot_code")[0][0]   # none left out


def test_the_files_do_not_depend_on_the_blocks_they_are_written_in(exported, monkeypatch):
    """Issue 19: the export streams its rows (a block at a time, GDAL fed fixed batches); blocks of a few rows
    and GDAL batches of 7 give the files of the default blocks, byte for byte, with a delta and people.csv too.
    Last in the module: the recoding and corrections above make the delta since the first export non-empty."""
    import geoland.pipeline.export as export

    run, folder = exported["run"], exported["folder"]
    with connect(exported["url"]) as conn:
        add_user(conn, "admin-blocks", "admin", "mat-khau-789")

    def files(name):
        monkeypatch.setattr("sys.stdin", io.StringIO("mat-khau-789\n"))
        _run(run, "export", "--province", "99", "--out", folder / name, "--since", exported["first"]["export_id"],
             "--with-people", "--user", "admin-blocks")
        return {p.name: p.read_bytes() for p in (folder / name).iterdir()}

    whole = files("blocks-default")
    monkeypatch.setattr(export, "BLOCK_BYTES", 4096)            # a few dozen rows a block
    small = files("blocks-small")
    assert sorted(small) == sorted(whole) and "people.csv" in whole
    assert whole["delta.csv"].count(b"\n") > 10                  # changed rows in several blocks
    assert [n for n in whole if small[n] != whole[n]] == []
    assert len(whole["identifiers.csv"]) > 20 * 4096                # many blocks
    assert whole["people.csv"].count(b"\n") == whole["identifiers.csv"].count(b"\n")
    # GDAL's batches of 7 rows cut across the blocks: the GeoPackage is the same whatever the blocks.
    monkeypatch.setattr(export, "GPKG_BATCH_ROWS", 7)
    sevens = files("sevens-small")["identifiers.gpkg"]
    monkeypatch.setattr(export, "BLOCK_BYTES", 8 << 20)
    assert files("sevens-default")["identifiers.gpkg"] == sevens != whole["identifiers.gpkg"]
    assert pyogrio.read_dataframe(folder / "sevens-small" / "identifiers.gpkg").equals(
        pyogrio.read_dataframe(folder / "blocks-default" / "identifiers.gpkg"))      # the same features
