"""The reassignment rule on hand-built geometry with known answers, against a brute-force overlay, and
under shuffling and chunking (hypothesis)."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from boundaries.crs import transform_geometries
from boundaries.reassign import reassign_plots, summarise
from boundaries.synthetic import synthetic_reorganisation

X0, Y0 = 480_000.0, 2_340_000.0


def box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


COMMUNES = gpd.GeoDataFrame({"code": ["00002", "00001", "00003"]},
                            geometry=[box(1000, 0, 2000, 1000), box(0, 0, 1000, 1000), box(0, 2000, 1000, 3000)],
                            crs="EPSG:9206")
CASES = {          # name: (plot, old commune, commune_code, share, status, second_code, second_share)
    "inside": (box(100, 100, 200, 200), "90001", "00001", 1.0, "inside", None, 0.0),
    "split 60/40": (box(940, 100, 1040, 200), "90001", "00001", 0.6, "straddling", "00002", 0.4),
    "sliver 0.5 m²": (box(500, 300, 1000.05, 310), "90001", "00001", 5000 / 5000.5, "inside", None, 0.0),
    "in the gap": (box(100, 1200, 200, 1300), "90001", None, 0.0, "outside", None, 0.0),
    "tie 50/50": (box(950, 500, 1050, 600), "90002", "00001", 0.5, "straddling", "00002", 0.5),
    "legal mismatch": (box(1500, 100, 1600, 200), "90001", "00002", 1.0, "inside", None, 0.0),
    "old code unknown": (box(1500, 300, 1600, 400), "99999", "00002", 1.0, "inside", None, 0.0),
    "half in the gap": (box(100, 950, 200, 1050), "90001", "00001", 0.5, "straddling", None, 0.0),
}
CONVERSION = {"90001": ["00001"], "90002": ["00001", "00002"]}


@pytest.fixture
def plots():
    return gpd.GeoDataFrame({"old": [c[1] for c in CASES.values()]}, geometry=[c[0] for c in CASES.values()],
                            index=pd.Index(list(CASES), name="case"), crs="EPSG:9206")


def test_known_answers(plots):
    result = reassign_plots(plots, COMMUNES, old_code_column="old", conversion=CONVERSION)
    assert list(result.index) == list(CASES)
    for name, (_, _, code, share, status, second, second_share) in CASES.items():
        row = result.loc[name]
        assert (row["commune_code"], row["status"], row["second_code"]) == (code, status, second), name
        assert row["overlap_share"] == pytest.approx(share, abs=1e-9), name
        assert row["second_share"] == pytest.approx(second_share, abs=1e-9), name
    legal = result["legal_mismatch"]
    assert bool(legal["legal mismatch"]) is True
    assert not legal["inside"] and not legal["tie 50/50"] and not legal["split 60/40"]
    assert pd.isna(legal["old code unknown"]) and pd.isna(legal["in the gap"])
    summary = summarise(result)
    assert summary["status"] == {"inside": 4, "straddling": 3, "outside": 1}
    assert summary["legal_mismatch"] == 1 and summary["per_commune"]["00002"]["legal_mismatch"] == 1


def test_geographic_input_gives_the_same_answer(plots):
    projected = reassign_plots(plots, COMMUNES)
    dense = lambda frame: gpd.GeoDataFrame(  # noqa: E731
        frame.drop(columns="geometry"), crs="EPSG:4326",
        geometry=transform_geometries(shapely.segmentize(frame.geometry.to_numpy(), 2.0), "EPSG:9206", "EPSG:4326"))
    geographic = reassign_plots(dense(plots), dense(COMMUNES))
    assert list(geographic["commune_code"]) == list(projected["commune_code"])
    assert list(geographic["status"]) == list(projected["status"])
    assert np.allclose(geographic["overlap_share"], projected["overlap_share"], atol=1e-4)


def test_bad_arguments_name_the_problem(plots):
    with pytest.raises(ValueError, match="`code_column` was 'ma'"):
        reassign_plots(plots, COMMUNES, code_column="ma")
    with pytest.raises(ValueError, match=r"`min_share` was 1\.5"):
        reassign_plots(plots, COMMUNES, min_share=1.5)
    with pytest.raises(ValueError, match="`old_code_column` was 'MAXA'"):
        reassign_plots(plots, COMMUNES, old_code_column="MAXA", conversion=CONVERSION)


@pytest.fixture(scope="module")
def province():
    from geoland.sample.cadastre import synthesize

    reorg = synthetic_reorganisation(seed=3)
    made = synthesize(reorg.old[["code", "name", "geometry"]], 3000, seed=4)
    plots = made.plots[["commune_code", "geometry"]].copy()
    plots["geometry"] = shapely.make_valid(plots.geometry.to_numpy())
    # Move the communes by a few metres, as a boundary layer from another source would be.
    shifted = reorg.new.copy()
    shifted["geometry"] = [shapely.affinity.translate(g, 7.0, -4.0) for g in reorg.new.geometry]
    return plots, shifted


def test_matches_a_brute_force_overlay(province):
    plots, communes = province
    result = reassign_plots(plots, communes, min_share=1.0, sliver_m2=0.0)
    pairs = gpd.sjoin(plots[["geometry"]], communes[["code", "geometry"]], predicate="intersects")
    pairs["area"] = shapely.area(shapely.intersection(plots.geometry.to_numpy()[pairs.index.to_numpy()],
                                                      communes.geometry.to_numpy()[pairs["index_right"].to_numpy()]))
    pairs = pairs[pairs["area"] > 0].reset_index(names="plot").sort_values(["plot", "area", "code"],
                                                                           ascending=[True, False, True])
    best = pairs.groupby("plot").first()
    assert (result["status"] == "straddling").sum() > 10                     # both paths are exercised
    expected = best["code"].reindex(plots.index)
    assert list(result["commune_code"].fillna("—")) == list(expected.fillna("—"))
    share = (best["area"] / plots.area.reindex(best.index)).reindex(plots.index).fillna(0.0)
    assert np.allclose(result["overlap_share"], np.minimum(share, 1.0), atol=1e-9)


@pytest.fixture(scope="module")
def whole(province):
    plots, communes = province
    return reassign_plots(plots, communes, processes=1)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), cuts=st.lists(st.integers(1, 2999), max_size=4, unique=True))
def test_shuffling_and_chunking_never_change_the_answer(province, whole, seed, cuts):
    plots, communes = province
    cuts = sorted(c for c in cuts if c < len(plots))
    shuffled = plots.loc[np.random.default_rng(seed).permutation(plots.index)]
    parts = [reassign_plots(shuffled.iloc[a:b], communes, processes=1)
             for a, b in zip([0, *cuts], [*cuts, len(plots)])]
    again = pd.concat(parts).loc[plots.index]
    pd.testing.assert_frame_equal(again, whole)


def test_parallel_and_serial_agree(province, whole, monkeypatch):
    import boundaries.reassign as engine

    plots, communes = province
    monkeypatch.setattr(engine, "_CHUNK", 500)          # several chunks on both cores
    pd.testing.assert_frame_equal(reassign_plots(plots, communes, processes=2), whole)


def test_the_conversion_table_as_a_dataframe(plots):
    """Issue 15, item 7: a DataFrame conversion raised AttributeError ('rows'); now it is read, and anything
    else is a TypeError that names what is accepted."""
    frame = pd.DataFrame([(old, new) for old, news in CONVERSION.items() for new in news],
                         columns=["old_commune_code", "commune_code"])
    expected = reassign_plots(plots, COMMUNES, old_code_column="old", conversion=CONVERSION)["legal_mismatch"]
    got = reassign_plots(plots, COMMUNES, old_code_column="old", conversion=frame)["legal_mismatch"]
    pd.testing.assert_series_equal(got, expected)
    with pytest.raises(TypeError, match=r"ConversionTable .* mapping .* DataFrame"):
        reassign_plots(plots, COMMUNES, old_code_column="old", conversion=[("90001", "00001")])


def test_the_official_table_as_read_is_validated(plots, sample_data):
    official = pd.read_csv(sample_data / "admin_units_2025_conversion.csv", dtype=str, keep_default_na=False)
    result = reassign_plots(plots, COMMUNES, old_code_column="old", conversion=official)
    assert result["legal_mismatch"].isna().all()          # none of these made-up old codes is in the real table
