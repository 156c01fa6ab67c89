"""Acceptance 1 of issue 21: CKAN's own client library, ``ckanapi`` (a test dependency; the
platform never imports it), reads the catalogue from the live server over HTTP — search
with paging and facets, a dataset, the providers and categories, DataStore rows — and gets
its ``NotFound`` and ``ValidationError`` exceptions from our error envelope."""

import pytest

ckanapi = pytest.importorskip("ckanapi")

from .conftest import make_published  # noqa: E402
from .test_search import build_catalogue  # noqa: E402


@pytest.fixture
def remote(live_server, groups, officer, ddo, org):
    build_catalogue(officer, ddo, org)
    _, res, _ = make_published(officer, ddo, org, name="traffic-by-district")
    with ckanapi.RemoteCKAN(live_server.url, user_agent="tungban-acceptance/1") as ckan:
        yield ckan, res


@pytest.mark.live_http
def test_ckanapi_reads_the_catalogue(remote):
    ckan, res = remote
    first = ckan.action.package_search(
        q="", rows=2, start=0, sort="name asc", **{"facet.field": '["organization","groups"]'}
    )
    assert first["count"] == 5 and len(first["results"]) == 2
    rest = ckan.action.package_search(rows=10, start=2, sort="name asc")
    names = [p["name"] for p in first["results"] + rest["results"]]
    assert names == sorted(names) and len(set(names)) == 5
    assert first["facets"]["organization"] == {"hk-td": 3, "hk-hko": 2}
    assert first["search_facets"]["groups"]["items"][0]["count"] == 3

    chinese = ckan.action.package_search(q="天气")  # Simplified: finds the Traditional titles
    assert {p["name"] for p in chinese["results"]} == {"weather-now", "rainfall"}
    filtered = ckan.action.package_search(fq='organization:hk-td res_format:"JSON"')
    assert [p["name"] for p in filtered["results"]] == ["parking-vacancy"]

    pkg = ckan.action.package_show(id="traffic-by-district")
    assert pkg["resources"][0]["id"] == str(res.id)
    assert pkg["resources"][0]["url"].startswith(live_server_url(ckan))
    assert ckan.action.organization_list() == ["hk-hko", "hk-td"]
    groups = ckan.action.group_list(all_fields=True)
    assert {g["name"]: g["package_count"] for g in groups}["transport"] == 3

    rows = ckan.action.datastore_search(resource_id=str(res.id), filters={"district": "Wan Chai"})
    assert rows["total"] == 1 and rows["records"][0]["count"] == 7

    with pytest.raises(ckanapi.errors.NotFound):
        ckan.action.package_show(id="no-such-dataset")
    with pytest.raises(ckanapi.errors.ValidationError) as caught:
        ckan.action.package_search(rows=1001)
    assert "rows" in caught.value.error_dict


@pytest.mark.live_http
def test_ckanapi_get_only_and_language_prefix(remote, live_server):
    _, _res = remote
    with ckanapi.RemoteCKAN(live_server.url + "/tc-data", get_only=True) as ckan:
        pkg = ckan.action.package_show(id="rainfall")
        assert pkg["title"] == "雨量" and pkg["organization"]["title"] == "香港天文台"
        with pytest.raises(ckanapi.errors.NotFound):
            ckan.action.package_show(id="nothing")


def live_server_url(ckan) -> str:
    return ckan.address.rstrip("/")
