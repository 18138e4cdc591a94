"""The imports are listed, and the same plots from two different files are found at import time (issue 15,
item 4, in part): a copy of a file already imported is refused naming the earlier import; a file that shares
some plots with one says how many."""

import json

import geopandas as gpd
import pandas as pd
import pytest


def _office(frame):
    """The plots with the field names an office's file has."""
    return frame.rename(columns={"commune_code": "MAXA", "sheet": "SHBANDO", "plot_number": "SOTHUA"})


@pytest.fixture
def first(tmp_path, db_url, geoland_cli, helpers):
    _, synthetic = helpers.write_and_load_province(geoland_cli, tmp_path / "p", "99", n_plots=300)
    return synthetic


def test_imports_are_listed(first, db_url, geoland_cli):
    code, out, err = geoland_cli("plots", "imports", "--json")
    assert code == 0, err
    rows = json.loads(out)["imports"]
    assert len(rows) == 1 and rows[0]["plots_now"] == rows[0]["rows_imported"] > 250
    assert rows[0]["file"].endswith("plots.gpkg") and rows[0]["srid"] == 9206
    code, out, _ = geoland_cli("plots", "imports")
    assert "plots.gpkg" in out and "EPSG:9206" in out


def test_a_copy_of_an_imported_file_is_refused(first, tmp_path, db_url, db_snapshot, geoland_cli):
    copy = tmp_path / "ban_sao.geojson"
    _office(first.plots).to_file(copy)                # the same plots in another format: another checksum
    before = db_snapshot(db_url)
    code, _, err = geoland_cli("plots", "import", copy)
    assert code != 0 and "are already stored by import 1" in err and "plots.gpkg" in err
    assert db_snapshot(db_url) == before


def test_a_file_sharing_some_plots_says_how_many(first, tmp_path, db_url, geoland_cli):
    shared = first.plots.iloc[:20]
    others = first.plots.iloc[20:50].copy()
    others["geometry"] = others.geometry.translate(0, 5_000)          # other places …
    others["plot_number"] = others["plot_number"] + 10_000            # … and other numbers
    part = tmp_path / "mot_phan.geojson"
    _office(gpd.GeoDataFrame(pd.concat([shared, others]), crs=first.plots.crs)).to_file(part)
    code, out, err = geoland_cli("plots", "import", part, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["imported"] == 50 and report["duplicates_of_earlier"] == 20
