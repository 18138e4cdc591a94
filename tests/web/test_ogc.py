"""The OGC API – Features documents (issue 15, item 8): landing page, conformance, collections with extents,
items with bbox/limit/datetime/next and numberMatched, one feature, HTML, the OpenAPI document."""

import pytest

from geoland.review.users import add_user
from geoland.store.db import connect
from web.app import create_app


@pytest.fixture(scope="module")
def api(module_cli, module_db, tmp_path_factory, helpers):
    helpers.write_and_load_province(module_cli, tmp_path_factory.mktemp("ogc") / "p", "99", n_plots=300)
    assert module_cli("codes", "issue")[0] == 0
    with connect(module_db) as conn:
        token = add_user(conn, "xem", "viewer", "mat-khau-123", with_token=True)
    client = create_app(module_db, secret_key="x").test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def get(path, **extra):
        response = client.get(path, headers=headers | extra)
        return response.status_code, response

    return get, helpers.query(module_db, "SELECT count(*) FROM geoland.plot")[0][0]


def test_landing_page_links_and_conformance(api):
    get, _ = api
    status, response = get("/ogc")
    rels = {link["rel"]: link for link in response.get_json()["links"]}
    assert status == 200 and {"self", "alternate", "service-desc", "conformance", "data"} <= set(rels)
    assert rels["service-desc"]["type"].startswith("application/vnd.oai.openapi+json")
    status, response = get("/ogc/conformance")
    assert {c.rsplit("/", 1)[1] for c in response.get_json()["conformsTo"]} == {"core", "geojson", "html", "oas30"}
    status, response = get("/ogc/api")
    doc = response.get_json()
    assert doc["openapi"] == "3.0.3" and "/collections/{collectionId}/items" in doc["paths"]


def test_collections_have_extents_in_crs84(api):
    get, _ = api
    body = get("/ogc/collections")[1].get_json()
    plots = next(c for c in body["collections"] if c["id"] == "plots")
    x0, y0, x1, y1 = plots["extent"]["spatial"]["bbox"][0]
    assert 103 < x0 < x1 < 105 and 20 < y0 < y1 < 23                    # the synthetic province, lon/lat
    assert plots["extent"]["temporal"]["interval"][0][0].endswith("Z")
    assert {link["rel"] for link in plots["links"]} >= {"self", "items"}
    assert get("/ogc/collections/nothing")[0] == 404


def test_items_number_matched_on_the_first_page_only(api):
    get, total = api
    first = get("/ogc/collections/plots/items?limit=100")[1].get_json()
    assert first["numberMatched"] == total and first["numberReturned"] == 100
    following = next(link["href"] for link in first["links"] if link["rel"] == "next")
    second = get(following.split("localhost", 1)[1])[1].get_json()
    assert "numberMatched" not in second and second["features"][0]["id"] > first["features"][-1]["id"]
    assert get("/ogc/collections/plots/items?limit=5000")[1].get_json()["numberReturned"] == min(total, 1000)


@pytest.mark.parametrize(("when", "all_plots"), [("2000-01-01T00:00:00Z", False), ("../2000-01-01", False),
                                                 ("2000-01-01/..", True), ("2999-01-01", True)])
def test_datetime_is_the_plot_records_period(api, when, all_plots):
    get, total = api
    body = get(f"/ogc/collections/plots/items?limit=1000&datetime={when}")[1].get_json()
    assert body["numberReturned"] == (min(total, 1000) if all_plots else 0)


def test_one_feature_with_its_id_as_a_property(api):
    get, _ = api
    status, response = get("/ogc/collections/plots/items/1")
    feature = response.get_json()
    assert status == 200 and feature["id"] == 1 and feature["properties"]["plot_id"] == 1
    assert response.content_type.startswith("application/geo+json")
    assert get("/ogc/collections/plots/items/999999999")[0] == 404


def test_html_by_parameter_or_by_accept(api):
    get, _ = api
    status, response = get("/ogc/collections/plots/items?limit=3&f=html")
    assert status == 200 and response.content_type.startswith("text/html") and "<table" in response.get_data(True)
    status, response = get("/ogc", Accept="text/html,application/xhtml+xml")
    assert response.content_type.startswith("text/html")
    status, response = get("/ogc", Accept="application/json")
    assert response.content_type.startswith("application/json")


def test_communes_with_their_period(api):
    get, _ = api
    body = get("/ogc/collections/communes/items?limit=500")[1].get_json()
    assert body["numberReturned"] > 0 and body["numberReturned"] <= 100          # boundaries: 100 a page at most
    feature = body["features"][0]
    assert {"code", "name", "valid_from", "valid_to", "current"} <= set(feature["properties"])
    before = get("/ogc/collections/communes/items?datetime=2020-01-01")[1].get_json()
    assert before["numberReturned"] == 0                                        # only 2025 boundaries were loaded
