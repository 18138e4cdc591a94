"""The text encoding of an import is decided on evidence (issue 15, item 1): a UTF-8 DBF without a .cpg stays
UTF-8 (it used to be taken for TCVN3 and every name garbled), Windows-1258 is read, a file whose text no
reading makes Vietnamese stops the import and asks for --encoding, --encoding forces, and the decision and
its evidence are recorded on the import."""

import json
import unicodedata

import geopandas as gpd
import pyogrio
import pytest
import shapely

from geoland.pipeline.plots import import_plots
from geoland.rules import vntext
from geoland.store.db import connect

# Names as offices' registers hold them (Kinh and ethnic-minority names of the north-west).
NAMES = ["Đinh Thị Thu Hạnh", "Quàng Văn Pọm", "Lò Thị Ún", "Nguyễn Hữu Phước", "Giàng A Páo", "Hà Thị Bích Ngọc"]
ADDRESSES = ["Bản Hụm, xã Chiềng Ngần", "Tổ 3, phường Tô Hiệu", "Bản Mòng, xã Hua La", "Số 12 đường Lò Văn Giá",
             "Bản Phiêng Ngần", "Tổ 6, phường Chiềng Lề"]
TONES = set("\u0300\u0301\u0303\u0309\u0323")


def _cp1258(text: str) -> str:
    """Text as Windows-1258 writes it (base letters precomposed, tone marks as separate bytes), read as Latin-1."""
    out = ""
    for ch in unicodedata.normalize("NFC", text):
        parts = unicodedata.normalize("NFD", ch)
        out += unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONES))
        out += "".join(c for c in parts if c in TONES)
    return out.encode("cp1258").decode("latin-1")


def _shapefile(path, names, addresses, *, raw_encoding):
    """A ViLIS-style DBF whose text is the given strings written one character per byte (Latin-1), no .cpg."""
    n = len(names)
    frame = gpd.GeoDataFrame({
        "MAXA": ["03646"] * n, "SHBANDO": [12] * n, "SOTHUA": list(range(1, n + 1)), "DIENTICH": [350.5] * n,
        "LOAIDAT": ["ONT"] * n, "TENCHU": names, "DIACHI": addresses,
    }, geometry=[shapely.box(505_000 + 30 * i, 2_355_000, 505_020 + 30 * i, 2_355_020) for i in range(n)],
        crs="EPSG:9206")
    pyogrio.write_dataframe(frame, path, encoding=raw_encoding)
    path.with_suffix(".cpg").unlink(missing_ok=True)
    return path


def _stored(db_query, url):
    return db_query(url, "SELECT u.name, p.attributes->>'DIACHI' FROM geoland.plot p JOIN geoland.land_user u "
                         "ON u.plot_id = p.id ORDER BY p.source_row")


def test_utf8_dbf_without_cpg_stays_utf8(tmp_path, db_url, db_query, geoland_cli):
    path = _shapefile(tmp_path / "thua.shp", NAMES, ADDRESSES, raw_encoding="utf-8")
    assert "Đinh".encode() in path.with_suffix(".dbf").read_bytes() and not path.with_suffix(".cpg").exists()
    code, out, err = geoland_cli("plots", "import", path, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["text_encoding"] == "utf-8"
    assert _stored(db_query, db_url) == list(zip(NAMES, ADDRESSES, strict=True))
    evidence = db_query(db_url, "SELECT text_encoding, encoding_evidence FROM geoland.plot_import")[0]
    assert evidence[0] == "utf-8" and evidence[1]["valid_utf8"] is True
    assert evidence[1]["readings"]["utf-8"] == 1.0 and evidence[1]["readings"]["tcvn3"] < 0.5
    code, out, _ = geoland_cli("plots", "import", path.with_name("thua.shp"), "--json")
    assert json.loads(out)["unchanged"] is True


def test_text_summary_says_what_and_why(tmp_path, db_url, geoland_cli):
    path = _shapefile(tmp_path / "thua.shp", NAMES, ADDRESSES, raw_encoding="utf-8")
    code, out, err = geoland_cli("plots", "import", path)
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.startswith("text: "))
    assert line.startswith("text: utf-8 → Unicode (12 values; 100% Vietnamese words, next ")


def test_windows_1258_is_read(tmp_path, db_url, db_query, geoland_cli):
    path = _shapefile(tmp_path / "thua.shp", [_cp1258(n) for n in NAMES], [_cp1258(a) for a in ADDRESSES],
                      raw_encoding="latin1")
    code, out, err = geoland_cli("plots", "import", path, "--json")
    assert code == 0, err
    assert json.loads(out)["text_encoding"] == "cp1258"
    assert _stored(db_query, db_url) == list(zip(NAMES, ADDRESSES, strict=True))


def test_text_no_reading_makes_vietnamese_stops_the_import(tmp_path, db_url, db_snapshot, geoland_cli):
    western = ["Müller Gärtnerei", "Café Crème", "Ångström Société", "Señora Muñoz", "Große Straße", "Øresund"]
    path = _shapefile(tmp_path / "thua.shp", western, western, raw_encoding="latin1")
    before = db_snapshot(db_url)
    code, out, err = geoland_cli("plots", "import", path)
    assert code != 0
    assert "cannot tell the text encoding" in err and "--encoding" in err and "thua.shp" in err
    assert "nothing was imported" in err
    assert db_snapshot(db_url) == before
    code, out, err = geoland_cli("plots", "import", path, "--encoding", "latin-1", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["text_encoding"] == "latin-1" and report["encoding_evidence"]["forced"] == "latin-1"


def test_forced_encoding_is_taken_and_recorded(tmp_path, db_url, db_query, geoland_cli):
    names = [vntext.unicode_to_legacy(n, "vni") for n in NAMES]
    path = _shapefile(tmp_path / "thua.shp", names, names, raw_encoding="latin1")
    code, _, err = geoland_cli("plots", "import", path, "--encoding", "vni", "--json")
    assert code == 0, err
    assert [r[0] for r in _stored(db_query, db_url)] == NAMES
    evidence = db_query(db_url, "SELECT encoding_evidence FROM geoland.plot_import")[0][0]
    assert evidence["forced"] == "vni" and evidence["readings"]["vni"] == 1.0


def test_a_value_beyond_the_sample_that_is_not_utf8_is_quarantined(tmp_path, db_url, db_query):
    raw = [n.encode("utf-8").decode("latin-1") for n in NAMES] + ["Tr\xe1n B"]    # the last: not UTF-8
    path = _shapefile(tmp_path / "thua.shp", raw, raw, raw_encoding="latin1")
    with connect(db_url) as conn:
        report = import_plots(conn, path, batch_size=3, progress=False)       # judged on the first 3 rows
    assert report.text_encoding == "utf-8" and report.imported == len(NAMES) and report.quarantined == 1
    reason = db_query(db_url, "SELECT source_row, reason FROM geoland.plot_quarantine")
    assert reason == [(7, "field TENCHU: text not valid utf-8; field DIACHI: text not valid utf-8")]


@pytest.mark.parametrize("bad", ["cp1252", "TCVN3"])
def test_unknown_encodings_are_refused(tmp_path, db_url, geoland_cli, bad):
    path = _shapefile(tmp_path / "thua.shp", NAMES, ADDRESSES, raw_encoding="utf-8")
    code, _, err = geoland_cli("plots", "import", path, "--encoding", bad)
    assert code != 0 and "--encoding" in err
