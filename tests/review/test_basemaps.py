"""Background layers (issue 18): none by default; the office's XYZ, WMS and WMTS layers read from a TOML file,
each checked with an error that names the file and the entry; the older GEOLAND_TILE_URL still read; and
`geoland map`'s standalone file carries them (a WMS layer of a server the test runs, asked for GetMap tiles)."""

import pytest

from geoland.errors import ConfigError
from geoland.review.basemaps import configured, read_basemaps

GOOD = '''
[[basemap]]
name = "Ảnh trực giao 2023"
type = "wms"
url = "https://gis.example.gov.vn/geoserver/wms"
layers = "sonla:orthophoto_2023"
format = "image/jpeg"
attribution = "© Sở Nông nghiệp và Môi trường Sơn La"
default = true

[[basemap]]
name = "Bản đồ địa chính"
type = "wmts"
url = "https://gis.example.gov.vn/gwc/service/wmts"
layers = "sonla:diachinh"
attribution = "© VPĐKĐĐ Sơn La"
max_zoom = 21

[[basemap]]
name = "OSM"
type = "xyz"
url = "https://tile.example.org/{z}/{x}/{y}.png"
attribution = "© OpenStreetMap"
'''


@pytest.fixture(autouse=True)
def _no_settings(monkeypatch, tmp_path):
    for name in ("GEOLAND_BASEMAPS", "GEOLAND_TILE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GEOLAND_HOME", str(tmp_path / "home"))


def test_none_by_default_and_the_older_setting(monkeypatch):
    assert configured() == []
    monkeypatch.setenv("GEOLAND_TILE_URL", "http://tiles.local/{z}/{x}/{y}.png")
    [layer] = configured()
    assert layer["type"] == "xyz" and layer["default"] and layer["url"].endswith("{y}.png")


def test_three_kinds_read_from_toml(tmp_path, monkeypatch):
    path = tmp_path / "basemaps.toml"
    path.write_text(GOOD, encoding="utf-8")
    monkeypatch.setenv("GEOLAND_BASEMAPS", str(path))
    wms, wmts, xyz = configured()
    assert wms == {"name": "Ảnh trực giao 2023", "type": "wms", "url": "https://gis.example.gov.vn/geoserver/wms",
                   "attribution": "© Sở Nông nghiệp và Môi trường Sơn La", "maxZoom": 20, "default": True,
                   "layers": "sonla:orthophoto_2023", "format": "image/jpeg"}
    assert wmts["type"] == "xyz" and wmts["maxZoom"] == 21 and not wmts["default"]
    assert "REQUEST=GetTile" in wmts["url"] and "LAYER=sonla%3Adiachinh" in wmts["url"] \
        and "TILEMATRIXSET=GoogleMapsCompatible" in wmts["url"] \
        and "TILEMATRIX={z}&TILEROW={y}&TILECOL={x}" in wmts["url"]
    assert xyz["url"] == "https://tile.example.org/{z}/{x}/{y}.png"


@pytest.mark.parametrize(("change", "said"), [
    (('attribution = "© OpenStreetMap"', ""), "basemap 3: attribution is required"),
    (('type = "xyz"', 'type = "tms"'), "basemap 3 (OSM): type must be one of xyz, wms, wmts"),
    (("{z}/{x}/{y}", "tile"), "basemap 3 (OSM): an xyz url needs"),
    (('layers = "sonla:orthophoto_2023"', ""), "basemap 1 (Ảnh trực giao 2023): layers is required for wms"),
    (("max_zoom = 21", "max_zoom = 40"), "basemap 2 (Bản đồ địa chính): max_zoom"),
    (('url = "https://tile', 'url = "ftp://tile'), "basemap 3 (OSM): url must be http(s)"),
    (('attribution = "© OpenStreetMap"', 'attribution = "© OSM"\ndefault = true'), "at most one basemap"),
    (("[[basemap]]", "[[basemaps]]"), "unknown table(s) ['basemaps']"),
    (("format =", "fromat ="), "basemap 1: unknown setting(s) ['fromat']"),
    (("[[basemap]]\nname", "[[basemap\nname"), "not a TOML file"),
])
def test_a_bad_file_is_named_with_its_entry(tmp_path, change, said):
    path = tmp_path / "basemaps.toml"
    path.write_text(GOOD.replace(*change, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read_basemaps(path)
    assert str(path) in str(caught.value) and said in str(caught.value)


def test_a_missing_file_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOLAND_BASEMAPS", str(tmp_path / "none.toml"))
    with pytest.raises(ConfigError, match="does not exist"):
        configured()


def test_the_map_file_carries_the_offices_wms_layer(db_url, load_province, geoland_cli, db_query, page, tmp_path,
                                                   monkeypatch, tile_server):
    tiles, asked = tile_server
    path = tmp_path / "basemaps.toml"
    path.write_text(f'''[[basemap]]
name = "Ảnh trực giao thử"
type = "wms"
url = "{tiles}/wms"
layers = "thu:anh"
attribution = "© Sở (thử)"
default = true
''', encoding="utf-8")
    monkeypatch.setenv("GEOLAND_BASEMAPS", str(path))
    load_province("99", n_plots=400)
    for args in (("reassign",), ("codes", "issue"), ("check",)):
        assert geoland_cli(*args)[0] == 0
    commune = db_query(db_url, "SELECT commune_code FROM geoland.plot_assignment_current GROUP BY 1 "
                               "ORDER BY count(*) DESC LIMIT 1")[0][0]
    out = tmp_path / "ban-do.html"
    code, _, err = geoland_cli("map", "--commune", commune, "--out", out)
    assert code == 0, err
    html = out.read_text(encoding="utf-8")
    assert "<script src=" not in html and "geolandBasemaps" in html
    page.goto(out.as_uri())
    page.locator(".leaflet-tile-pane img.leaflet-tile-loaded").first.wait_for()
    assert any("request=getmap" in p.lower() and "layers=thu%3aanh" in p.lower() for p in asked)
    assert "© Sở (thử)" in page.inner_text(".leaflet-control-attribution")
    assert page.locator(".leaflet-control-layers-base label").count() == 2        # blank + the office's
    assert page.errors == []
