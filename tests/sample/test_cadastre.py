"""The synthetic province: realistic fabric, the seed's rates, consistent CCCDs, ground truth, determinism."""

import filecmp
import json

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from boundaries.synthetic import synthetic_reorganisation
from geoland.sample.cadastre import FULL_DATA_SHARE, VERIFICATION_SHARES, synthesize, write_synthetic


@pytest.fixture(scope="module")
def reorg():
    return synthetic_reorganisation(seed=0)


@pytest.fixture(scope="module")
def province(reorg):
    return synthesize(reorg.old[["code", "name", "geometry"]], 30_000, seed=5, new_communes=reorg.new)


def test_plots_tile_the_old_communes(reorg, province):
    plots = province.plots
    communes = reorg.old.set_index("code").geometry
    # Every plot lies in the old commune its MAXA names (never across an old boundary), 1 cm tolerance;
    # the injected overlaps are buffered by 3 m and may reach over.
    inside = shapely.covers(shapely.buffer(communes.loc[plots["commune_code"]].to_numpy(), 0.01),
                            plots.geometry.to_numpy())
    overlap = province.truth["defects"].str.contains("overlap").to_numpy()
    invalid = province.truth["defects"].str.contains("invalid_geometry").to_numpy()
    assert inside[~overlap & ~invalid].all()
    # Together they cover the communes (slivers under 30 m² are left out at the edges).
    covered = shapely.union_all(shapely.make_valid(plots.geometry.to_numpy())).intersection(
        shapely.union_all(reorg.old.geometry.to_numpy()))
    assert covered.area / reorg.old.area.sum() == pytest.approx(1, abs=0.002)


def test_fabric_looks_like_a_province(province):
    plots, area = province.plots, province.plots.area
    share = plots["land_use"].value_counts(normalize=True)
    assert share[["ONT", "ODT", "ONT+CLN"]].sum() > 0.15 and share[["RSX", "RPH"]].sum() > 0.05
    med = area.groupby(plots["land_use"]).median()
    assert 100 <= med["ONT"] <= 500 and 500 <= med["LUC"] <= 3_000 and 10_000 <= med["RSX"] <= 200_000
    assert {"BHK", "ONT+CLN"} <= set(plots["land_use"].dropna())           # legacy codes to be mapped later


def test_rates_follow_the_campaign(province):
    truth = province.truth
    assert truth["full_data"].mean() == pytest.approx(FULL_DATA_SHARE, abs=0.015)
    # Full data ⇔ no missing field, and every field the truth calls missing is blank in the file.
    assert ((truth["missing_fields"] == "") == truth["full_data"]).all()
    fields = {"certificate_serial", "user_name", "id_number", "land_use", "legal_area"}
    for row, missing in zip(province.plots.itertuples(), truth["missing_fields"]):
        for field in fields:
            assert pd.isna(getattr(row, field)) == (field in missing.split("|"))
    verified = truth.loc[truth["full_data"], "verification"].value_counts(normalize=True)
    for status, share in VERIFICATION_SHARES.items():
        assert verified[status] == pytest.approx(share, abs=0.03)
    assert (truth.loc[~truth["full_data"], "verification"] == "").all()


def test_cccd_digits_agree_with_birth_year(province):
    plots, truth = province.plots, province.truth
    clean = plots["id_number"].notna() & ~truth["defects"].str.contains("cccd") & plots["birth_year"].notna()
    ids, years = plots.loc[clean, "id_number"], plots.loc[clean, "birth_year"].astype(int)
    assert ids.str.fullmatch(r"0[0-9]{2}[0-9]{9}").all()
    century = ids.str[3].astype(int)
    assert ((years >= 2000) == (century >= 2)).all() and (century <= 3).all()
    assert (ids.str[4:6].astype(int) == years % 100).all()
    # One number, one person: CCCDs repeat only across the plots of one owner, or where injected.
    owners = plots.loc[clean].groupby("id_number")["user_name"].nunique()
    assert (owners == 1).all()
    # Each malformed number breaks one rule: length, birth-province code, or century digit vs birth year.
    malformed = plots[truth["defects"].str.contains("malformed_cccd")]
    ids, years = malformed["id_number"], malformed["birth_year"]
    century_digit = pd.to_numeric(ids.str[3], errors="coerce")
    expected = (years >= 2000).astype(int) * 2
    wrong_century = ~century_digit.isin([0, 1, 2, 3]) | ((century_digit // 2) * 2 != expected)
    assert len(ids) > 0 and ((ids.str.len() != 12) | ids.str.startswith("099") | wrong_century).all()


def test_truth_names_the_injected_defects(province):
    truth, plots = province.truth, province.plots
    kinds = truth["defects"].str.split("|").explode()
    counts = kinds[kinds != ""].value_counts()
    assert set(counts.index) == {"overlap", "duplicate_mx", "malformed_cccd", "conflicting_cccd", "area_mismatch",
                                 "invalid_geometry"}
    mx = plots[["commune_code", "sheet", "plot_number"]].astype(str).agg(".".join, axis=1)
    duplicated = mx.duplicated(keep=False)
    assert duplicated[truth["defects"].str.contains("duplicate_mx")].all()
    assert not duplicated[~duplicated.index.isin(np.flatnonzero(duplicated))].any()
    geoms = plots.geometry.to_numpy()
    assert (~shapely.is_valid(geoms)).sum() == counts["invalid_geometry"]
    assert truth["crosses_2025_boundary"].sum() > 0


def test_same_seed_same_file(reorg, tmp_path):
    old = reorg.old[["code", "name", "geometry"]]
    a, b = synthesize(old, 2000, seed=9), synthesize(old, 2000, seed=9)
    write_synthetic(a, tmp_path / "a.geojson", fmt="geojson")
    write_synthetic(b, tmp_path / "b.geojson", fmt="geojson")
    assert filecmp.cmp(tmp_path / "a.geojson", tmp_path / "b.geojson", shallow=False)
    assert filecmp.cmp(tmp_path / "a.geojson.truth.csv", tmp_path / "b.geojson.truth.csv", shallow=False)
    c = synthesize(old, 2000, seed=10)
    assert not c.plots.geometry.geom_equals(a.plots.geometry.iloc[: len(c.plots)]).all()


def test_synth_command_on_son_la(sample_data, tmp_path, geoland_cli):
    code, out, err = geoland_cli("synth", "--plots", 3000, "--seed", 1, "--out", tmp_path / "sl.gpkg", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert "communes_pre2025" in report["source"] and report["crosses_2025_boundary"] > 0
    frame = pyogrio.read_dataframe(tmp_path / "sl.gpkg")
    assert len(frame) == report["plots"] and frame.crs.to_epsg() == 9206
    codes = set(frame["MAXA"].dropna())
    # Pre-2025 Sơn La codes: the layer's own plus those recovered by name from the conversion table.
    table = pd.read_csv(sample_data / "admin_units_2025_conversion.csv", dtype=str)
    assert codes <= set(table.loc[table["province_code"] == "14", "old_commune_code"]) and len(codes) > 180
