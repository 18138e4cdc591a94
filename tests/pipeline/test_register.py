"""A plot layer's holders go to the register (issue 16, first part): one party per ID number across files,
other spellings kept for their plot, one certificate per serial covering its plots, a right per holder;
forgetting an import removes the certificates and persons no other plot holds."""

import geopandas as gpd
import pyogrio
import shapely


def _layer(path, rows, x0=505_000):
    frame = gpd.GeoDataFrame({
        "MAXA": ["03646"] * len(rows), "SHBANDO": [1] * len(rows), "SOTHUA": [r[0] for r in rows],
        "TENCHU": [r[1] for r in rows], "SOCCCD": [r[2] for r in rows], "SOPHATHANH": [r[3] for r in rows],
    }, geometry=[shapely.box(x0 + 30 * i, 2_355_000, x0 + 30 * i + 20, 2_355_020) for i in range(len(rows))],
        crs="EPSG:9206")
    pyogrio.write_dataframe(frame, path)


def test_holders_become_parties_certificates_and_rights(tmp_path, db_url, db_query, geoland_cli):
    _layer(tmp_path / "a.gpkg", [(1, "Lò Văn Pọm", "001090000001", "CS 000001"),
                                 (2, "Lò Văn Pọm", "001090000001", "CS 000001"),     # one certificate, two plots
                                 (3, "Quàng Thị Ún", None, "CS 000002"),
                                 (4, None, None, None)])                            # nobody named
    _layer(tmp_path / "b.gpkg", [(5, "LÒ VĂN PỌM", "001090000001", "CS 000003")], x0=506_000)   # same person
    summaries = []
    for name in ("a.gpkg", "b.gpkg"):
        code, out, err = geoland_cli("plots", "import", tmp_path / name)
        assert code == 0, err
        summaries.append(out)
    assert "register: 3 holders recorded (2 new persons, 0 written otherwise than before); 3 plots on " \
           "certificates (2 new)" in summaries[0]
    assert "register: 1 holders recorded (0 new persons, 1 written otherwise than before)" in summaries[1]
    assert db_query(db_url, "SELECT count(*) FROM geoland.party") == [(2,)]
    assert db_query(db_url, "SELECT p.plot_number, u.name FROM geoland.plot p LEFT JOIN geoland.land_user u "
                            "ON u.plot_id = p.id ORDER BY 1") == [
        (1, "Lò Văn Pọm"), (2, "Lò Văn Pọm"), (3, "Quàng Thị Ún"), (4, None), (5, "LÒ VĂN PỌM")]
    assert db_query(db_url, "SELECT c.series, count(*) FROM geoland.certificate c JOIN geoland.certificate_plot p "
                            "ON p.certificate_id = c.id GROUP BY 1 ORDER BY 1") == [
        ("CS 000001", 2), ("CS 000002", 1), ("CS 000003", 1)]
    assert db_query(db_url, "SELECT count(*), count(certificate_id), count(DISTINCT party_id) "
                            "FROM geoland.land_right") == [(4, 4, 2)]

    # a certificate the register holds without a plot yet is not the forgotten plots' to remove
    db_query(db_url, "INSERT INTO geoland.certificate (series) VALUES ('CS 999999') RETURNING id")
    code, _, err = geoland_cli("plots", "forget", "2")
    assert code == 0, err
    assert db_query(db_url, "SELECT series FROM geoland.certificate ORDER BY 1") == [
        ("CS 000001",), ("CS 000002",), ("CS 999999",)]
    assert db_query(db_url, "SELECT count(*) FROM geoland.party") == [(2,)]          # both still hold plots
    assert db_query(db_url, "SELECT count(*) FROM geoland.party_alias") == [(0,)]
    assert geoland_cli("plots", "forget", "1")[0] == 0
    # no one is kept without purpose
    assert db_query(db_url, "SELECT (SELECT count(*) FROM geoland.party), (SELECT count(*) FROM "
                            "geoland.party_personal), (SELECT count(*) FROM geoland.certificate)") == [(0, 0, 1)]
