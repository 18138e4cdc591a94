"""Plots whose commune code is not in the conversion table (issue 15, item 5) used to get no province and be
left out of `reassign --province` silently; now they are placed by location, and the rest are counted."""

import json

import geopandas as gpd
import pyogrio
import shapely


def test_unknown_codes_are_placed_by_location_and_counted(tmp_path, db_url, db_query, geoland_cli, helpers):
    _, synthetic = helpers.write_and_load_province(geoland_cli, tmp_path / "p", "99", n_plots=200)
    inside = synthetic.plots.geometry.iloc[:5].to_numpy()
    far = [shapely.box(700_000 + 30 * i, 1_300_000, 700_020 + 30 * i, 1_300_020) for i in range(2)]
    frame = gpd.GeoDataFrame({"MAXA": ["99999"] * 5 + ["99998"] * 2, "SHBANDO": [1] * 7,
                              "SOTHUA": list(range(1, 8))}, geometry=[*inside, *far], crs=synthetic.plots.crs)
    path = tmp_path / "ma_xa_cu.gpkg"
    pyogrio.write_dataframe(frame, path)
    code, out, err = geoland_cli("plots", "import", path, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["placed_by_location"], report["without_province"]) == (5, 2)
    rows = db_query(db_url, "SELECT p.province_code, count(*) FROM geoland.plot p JOIN geoland.plot_import i "
                            "ON i.id = p.import_id WHERE i.source LIKE '%ma_xa_cu.gpkg' GROUP BY 1 ORDER BY 1")
    assert rows == [("99", 5), (None, 2)]
    code, out, err = geoland_cli("reassign", "--province", "99", "--json")
    assert code == 0, err
    assert json.loads(out)["plots"] == db_query(db_url, "SELECT count(*) FROM geoland.plot "
                                                        "WHERE province_code = '99'")[0][0]


def test_the_summary_says_so(tmp_path, db_url, geoland_cli, helpers):
    _, synthetic = helpers.write_and_load_province(geoland_cli, tmp_path / "p", "99", n_plots=100)
    frame = gpd.GeoDataFrame({"MAXA": ["99999"], "SHBANDO": [1], "SOTHUA": [1]},
                             geometry=synthetic.plots.geometry.iloc[:1].to_numpy(), crs=synthetic.plots.crs)
    path = tmp_path / "one.gpkg"
    pyogrio.write_dataframe(frame, path)
    code, out, err = geoland_cli("plots", "import", path)
    assert code == 0, err
    assert "1 plots whose commune code is not in the conversion table were given the province" in out
