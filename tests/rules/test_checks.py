"""The data-quality checks on hand-built plots, at and around each tolerance (no database)."""

import re
import runpy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from geoland.rules import checks
from identifiers.cccd import BIRTH_PROVINCES, check_cccd, mask_cccd, mask_name
from identifiers.landuse import classify_land_use

X0, Y0 = 489_000.0, 2_356_000.0


def frame(n, **columns):
    """n plots with every field present and consistent; ``columns`` overrides."""
    base = {
        "plot_id": np.arange(1, n + 1), "old_commune_code": ["03646"] * n, "sheet": [1] * n,
        "plot_number": list(range(1, n + 1)), "legal_area_m2": [100.0] * n, "land_use": ["ONT"] * n,
        "certificate_serial": [f"AA {i:06d}" for i in range(n)], "area_m2": [100.0] * n, "repaired": [False] * n,
        "repair_note": [None] * n, "user_name": [f"Lò Văn {chr(65 + i)}" for i in range(n)],
        "id_number": [f"014090{i:06d}" for i in range(n)], "birth_year": [1990] * n,
        "code": [f"w7cchm991h{i:02d}" for i in range(n)], "commune_code": ["03646"] * n, "status": ["inside"] * n,
        "overlap_share": [1.0] * n, "second_code": [None] * n, "second_share": [None] * n,
        "legal_mismatch": [False] * n, "verification": [None] * n, "checked_at": [None] * n,
    }
    base.update(columns)
    return pd.DataFrame(base)


def types(found):
    return sorted(zip(found["plot_id"].tolist(), found["type"].tolist()))


def test_missing_fields_blank_text_counts_as_missing():
    plots = frame(4, certificate_serial=[None, "  ", "AA 1", "AA 2"], land_use=["ONT", "ONT", "", "CLN"],
                  legal_area_m2=[1.0, 2.0, 3.0, None], code=["x", "x", None, "x"],
                  commune_code=["03646", None, "03646", "03646"])
    assert types(checks.missing_fields(plots)) == [
        (1, "missing_certificate"), (2, "missing_certificate"), (2, "missing_commune"), (3, "missing_code"),
        (3, "missing_land_use"), (4, "missing_legal_area")]


def test_cccd_rules():
    numbers = ["014090001234", "01409000123", "099090001234", "014290001234", "014091001234", "123456789",
               "01409000123A", "002200001234", "096305001234", None]
    years = [1990, 1990, 1990, 1990, 1990, None, 1990, 2000, 2005, 1990]
    assert check_cccd(numbers, years).tolist() == [
        "", "not_12_digits", "unknown_birth_province", "century_mismatch", "birth_year_mismatch", "legacy_cmnd",
        "not_12_digits", "", "", None]
    # Without a birth year only the form and the province can be checked.
    assert check_cccd(["014290001234"]).tolist() == [""]
    assert len(BIRTH_PROVINCES) == 63 and {"001", "014", "079", "096"} <= BIRTH_PROVINCES
    assert not {"000", "003", "063", "097", "099"} & BIRTH_PROVINCES
    plots = frame(3, id_number=["014090001234", "123456789", "014290001234"], birth_year=[1990, 1960, 1990])
    found = checks.cccd_findings(plots)
    assert types(found) == [(2, "legacy_cmnd"), (3, "invalid_cccd")]
    assert found.set_index("plot_id").loc[3, "value"] == "century_mismatch"


def test_birth_provinces_are_the_old_provinces_of_the_conversion_table(sample_data):
    table = pd.read_csv(sample_data / "admin_units_2025_conversion.csv", dtype=str)
    column = next(c for c in table.columns if "province" in c.lower() and "old" in c.lower() and "code" in c.lower())
    assert {f"{int(c):03d}" for c in table[column].dropna().unique()} == BIRTH_PROVINCES


def test_one_cccd_several_people():
    plots = frame(5, id_number=["014090000001", "014090000001", "014090000002", "014090000002", "014090000003"],
                  user_name=["Lò Văn A", "lò  văn a", "Cầm Thị B", "Cầm Thị C", "Quàng Văn D"],
                  birth_year=[1990, 1990, 1970, 1970, 1950])
    found = checks.cccd_conflicts(plots)
    # Same person written with other case and spacing: no conflict; two names on one number: both plots.
    assert types(found) == [(3, "cccd_conflict"), (4, "cccd_conflict")]
    assert found["related"].tolist() == [(4,), (3,)] and found["value"].iloc[0] == "2 names, 1 birth years"
    years = frame(2, id_number=["014090000001"] * 2, user_name=["Lò Văn A"] * 2, birth_year=[1990, 1991])
    assert types(checks.cccd_conflicts(years)) == [(1, "cccd_conflict"), (2, "cccd_conflict")]


def test_land_use_codes():
    current, _legacy, unknown = classify_land_use(["LUC", "bhk", "NHK", "ONT+CLN", "ONT, XYZ", "Q", None])
    assert current.tolist() == ["LUC", "HNK", "HNK", "ONT+CLN", "ONT", None, None]
    assert unknown.tolist() == ["", "", "", "", "XYZ", "Q", ""]
    plots = frame(4, land_use=["LUC", "BHK", "ONT+CLN", "ABC"])
    assert types(checks.land_use_findings(plots)) == [(2, "legacy_land_use"), (3, "legacy_land_use"),
                                                     (4, "unknown_land_use")]


def test_codes_of_the_earlier_lists_are_legacy_not_unknown():
    # Real files hold DTS (office of a public service organisation) and DSH (community activity land)
    # from the 2014/2018 lists; they were reported unknown before the catalogue.
    plots = frame(5, land_use=["DTS", "dsh", "ONT+DSH", "SKX; CLN", "DTS+QQQ"])
    found = checks.land_use_findings(plots)
    assert types(found) == [(1, "legacy_land_use"), (2, "legacy_land_use"), (3, "legacy_land_use"),
                            (4, "legacy_land_use"), (5, "unknown_land_use")]
    values = dict(zip(found["plot_id"], found["value"]))
    assert values == {1: "DTS", 2: "DSH", 3: "ONT+DSH", 4: "SKX+CLN", 5: "QQQ"}


def test_every_land_use_code_cites_its_source_and_the_docs_agree():
    from identifiers import landuse

    root = Path(__file__).resolve().parents[2]
    render = runpy.run_path(str(root / "scripts" / "land_use_doc.py"))["render"]

    assert len(landuse.CODES) == len(landuse.CATALOGUE)                    # no code listed twice
    for entry in landuse.CATALOGUE:
        assert entry.sources and set(entry.sources) <= set(landuse.SOURCES), entry
        assert entry.name and re.fullmatch(r"[A-Z]{3}", entry.code)
        # a replacement is a current code, and only legacy codes have one
        assert entry.replaced_by is None or (not entry.current and entry.replaced_by in landuse.CURRENT)
    assert {"DTS", "DSH"} <= set(landuse.LEGACY) and {"ONT", "ODT", "LUC", "CLN", "CNT"} <= landuse.CURRENT
    doc = root / "docs" / "land-use-codes.md"
    assert doc.read_text(encoding="utf-8") == render(), "run python scripts/land_use_doc.py"


@pytest.mark.parametrize("area", [25.0, 100.0, 2_500.0, 160_000.0])
def test_area_tolerance_at_and_around_its_bound(area):
    tolerance = 0.8 * np.sqrt(area)
    assert checks.area_tolerance([area])[0] == pytest.approx(tolerance)
    legal = [area + tolerance * 0.99, area - tolerance * 0.99, area + tolerance * 1.01, area - tolerance * 1.01]
    found = checks.area_mismatch(frame(4, legal_area_m2=legal, area_m2=[area] * 4))
    assert types(found) == [(3, "area_mismatch"), (4, "area_mismatch")]
    # Half as large a tolerance on a 1:1,000 sheet.
    assert checks.area_tolerance([area], map_scale=1000)[0] == pytest.approx(tolerance / 2)


def test_area_tolerance_grows_for_small_plots():
    relative = checks.area_tolerance([50, 500, 5000, 50_000]) / np.array([50, 500, 5000, 50_000])
    assert (np.diff(relative) < 0).all()
    assert checks.area_tolerance([0.01])[0] == 0.1            # never below the recorded precision


def test_geometry_and_overlaps():
    a = shapely.box(X0, Y0, X0 + 20, Y0 + 20)
    b = shapely.box(X0 + 20, Y0, X0 + 40, Y0 + 20)                   # shares an edge with a: no overlap
    c = shapely.box(X0 + 39.96, Y0, X0 + 60, Y0 + 20)                # 0.04 × 20 = 0.8 m² over b: under 1 m²
    d = shapely.box(X0 + 59.9, Y0, X0 + 80, Y0 + 20)                 # 0.1 × 20 = 2 m² over c: a finding
    bowtie = shapely.Polygon([(X0, Y0 + 30), (X0 + 10, Y0 + 40), (X0 + 10, Y0 + 30), (X0, Y0 + 40)])
    geoms = np.array([a, b, c, d, bowtie, shapely.box(X0, Y0 + 50, X0 + 5, Y0 + 55)], dtype=object)
    plots = frame(6, repaired=[False] * 5 + [True], repair_note=[None] * 5 + ["self-intersection at …"])
    found = checks.overlaps(plots, geoms)
    assert types(found) == [(3, "overlap"), (4, "overlap")]
    assert found["related"].tolist() == [(4,), (3,)] and found["value"].tolist() == ["2.0 m²", "2.0 m²"]
    assert types(checks.overlaps(plots, geoms, min_area_m2=0.5)) == [(2, "overlap"), (3, "overlap"),
                                                                     (3, "overlap"), (4, "overlap")]
    bad = checks.geometry_findings(plots, geoms)
    assert types(bad) == [(5, "invalid_geometry"), (6, "invalid_geometry")]
    assert bad["value"].iloc[0].startswith("Self-intersection") and bad["value"].iloc[1] == "self-intersection at …"


def test_duplicates_and_code_conflicts():
    plots = frame(4, old_commune_code=["03646", "03646", "03649", "03646"], sheet=[1, 1, 1, 2],
                  plot_number=[7, 7, 7, 7])
    found = checks.duplicate_mx(plots)
    assert types(found) == [(1, "duplicate_mx"), (2, "duplicate_mx")] and found["value"].iloc[0] == "03646.1.7"
    conflicts = pd.DataFrame({"kind": ["duplicate_code", "cell_outside_plot"], "code": ["w7c", "w7d"],
                              "plot_ids": [[2, 3], [4]]})
    assert types(checks.code_findings(conflicts, [1, 2, 3, 4])) == [(2, "duplicate_code"), (3, "duplicate_code"),
                                                                    (4, "cell_outside_plot")]


def test_assignment_and_verification_findings():
    plots = frame(4, status=["inside", "straddling", "outside", "inside"],
                  commune_code=["03646", "03646", None, "03652"], overlap_share=[1, 0.6, 0, 1],
                  second_code=[None, "03652", None, None], second_share=[None, 0.4, None, None],
                  legal_mismatch=[False, False, None, True],
                  verification=["authenticated", "incorrect", None, "unverifiable"],
                  checked_at=[None, "2025-10-15", None, "2025-10-16"])
    found = checks.assignment_findings(plots)
    assert types(found) == [(2, "straddling"), (3, "outside"), (4, "legal_mismatch")]
    assert found["value"].iloc[0] == "60.0% in 03646, 40.0% in 03652"
    assert types(checks.verification_findings(plots)) == [(2, "verification_incorrect"),
                                                          (4, "verification_unverifiable")]


def test_a_clean_plot_has_no_finding_and_run_checks_adds_category_and_severity():
    plots = frame(3, land_use=["ONT", "XYZ", "ONT"], certificate_serial=["AA 1", "AA 2", None])
    geoms = np.array([shapely.box(X0 + 20 * i, Y0, X0 + 20 * i + 10, Y0 + 10) for i in range(3)], dtype=object)
    plots["area_m2"] = shapely.area(geoms)
    found = checks.run_checks(plots, geoms)
    assert types(found) == [(2, "unknown_land_use"), (3, "missing_certificate")]
    assert found[["category", "severity"]].values.tolist() == [["conflict", "error"], ["missing", "warning"]]
    assert set(checks.FINDING_TYPES) >= set(found["type"])


def test_masks():
    assert mask_cccd(["014090001234"]).tolist() == ["014******234"]
    assert mask_name(["Nguyễn Văn An"]).tolist() == ["Nguyễn V*** A**"]


def test_text_damaged_by_an_earlier_conversion_is_a_finding():
    """Issue 15, item 1: capitals with lower-case toned letters (an old TCVN3 conversion) are found; the value
    names the field, never the name."""
    plots = frame(5, user_name=["ĐOàN THị HOA", "Đoàn Thị Hoa", "ĐOÀN THỊ HOA", "Bà Lò Thị Ún", None],
                  certificate_serial=["AA 000001", "TổNG CụC ĐịA CHíNH", "AA 3", "AA 4", "AA 5"])
    found = checks.damaged_text(plots)
    assert sorted(zip(found["plot_id"], found["value"])) == [(1, "user_name"), (2, "certificate_serial")]
    assert set(found["type"]) == {"damaged_text"}
    assert "damaged_text" in set(checks.run_checks(plots, np.array([shapely.box(0, 0, 10, 10)] * 5))["type"])
