"""The CKAN Action API (issue 21, part oapi): every action, the envelope and CKAN's error
statuses, ``fq`` parsing, both languages (and Simplified Chinese), ETags and CORS,
``datastore_search``; on whichever database the run uses."""

import json

import pytest

from tungban.opendata import api_ckan, errors
from tungban.opendata.services import publishing

from .conftest import make_published
from .test_search import build_catalogue


@pytest.fixture
def catalogue(groups, officer, ddo, org):
    return build_catalogue(officer, ddo, org)


def call(client, action, prefix="", method="get", expect=200, headers=None, **params):
    url = f"/{prefix}api/3/action/{action}"
    if method == "post":
        response = client.post(url, data=json.dumps(params), content_type="application/json", headers=headers or {})
    else:
        response = client.get(url, params, headers=headers or {})
    assert response.status_code == expect, response.content
    if response.status_code == 304:
        return response, None
    body = response.json()
    assert body["help"].endswith(f"/{prefix}api/3/action/help_show?name={action}") or expect == 400
    return response, body


def test_package_list_paging(client, catalogue):
    _, body = call(client, "package_list")
    assert body["success"] is True
    assert body["result"] == sorted(d.name for d in catalogue.values())
    _, page = call(client, "package_list", limit=2, offset=1)
    assert page["result"] == body["result"][1:3]


def test_package_show_by_name_or_uuid_in_each_language(client, catalogue):
    ds = catalogue["traffic"]
    _, en = call(client, "package_show", id=ds.name)
    pkg = en["result"]
    assert pkg["id"] == str(ds.id) and pkg["title"] == "Traffic counts"
    assert pkg["title_zh"] == "交通流量" and pkg["organization"]["name"] == "hk-td"
    assert [g["name"] for g in pkg["groups"]] == ["transport"]
    assert sorted(t["name"] for t in pkg["tags"]) == ["traffic", "交通"] and pkg["num_tags"] == 2
    res = pkg["resources"][0]
    assert pkg["num_resources"] == 1 and res["format"] == "CSV"
    assert res["url"] == f"http://testserver/data/files/{res['id']}/traffic-counts.csv"
    assert res["hash"].startswith("sha256:") and res["datastore_active"] is True
    assert pkg["metadata_modified"].startswith(str(ds.metadata_modified.year))
    from tungban.opendata.models import UsageCount

    assert UsageCount.objects.get(dataset=ds, resource=None, kind="api").count == 1
    _, by_id = call(client, "package_show", id=str(ds.id))
    assert by_id["result"]["name"] == ds.name
    _, tc = call(client, "package_show", prefix="tc-data/", id=ds.name)
    assert tc["result"]["title"] == "交通流量" and tc["result"]["organization"]["title"] == "運輸署"
    _, sc = call(client, "package_show", prefix="sc-data/", id=ds.name)
    assert sc["result"]["title"] == "交通流量" and sc["result"]["organization"]["title"] == "运输署"
    assert sc["result"]["notes"] == "按地区统计的车辆数目"
    _, en2 = call(client, "package_show", prefix="en-data/", id=ds.name)
    assert en2["result"]["title"] == "Traffic counts"


def test_not_found_and_unknown_action(client, catalogue):
    _, body = call(client, "package_show", expect=404, id="no-such-dataset")
    assert body["success"] is False
    assert body["error"]["__type"] == "Not Found Error" and body["error"]["code"] == "unknown_dataset"
    _, zh = call(client, "package_show", prefix="tc-data/", expect=404, id="no-such-dataset")
    assert zh["error"]["message"] == "沒有名為「no-such-dataset」的數據集。"
    _, bad = call(client, "frobnicate", expect=400)
    assert bad["error"]["message"] == "Bad request - Action name not known: frobnicate"
    call(client, "resource_show", expect=404, id="00000000-0000-0000-0000-000000000000")
    call(client, "organization_show", expect=404, id="nobody")
    call(client, "group_show", expect=404, id="nothing")
    _, missing = call(client, "package_show", expect=409)
    assert missing["error"]["__type"] == "Validation Error" and missing["error"]["id"]


def test_draft_datasets_are_not_shown(client, catalogue, officer):
    ds = publishing.create_dataset(officer, "hk-td", name="draft-one", title_en="Draft", title_zh="草稿")
    call(client, "package_show", expect=404, id=ds.name)
    _, body = call(client, "package_list")
    assert "draft-one" not in body["result"]


def test_package_search_paging_facets_and_sorts(client, catalogue):
    _, body = call(
        client,
        "package_search",
        rows=2,
        start=0,
        sort="name asc",
        **{"facet.field": '["organization","groups","res_format","license_id","tags"]'},
    )
    r = body["result"]
    assert set(r) >= {"count", "sort", "facets", "search_facets", "results"}
    assert r["count"] == 4 and [p["name"] for p in r["results"]] == ["parking-vacancy", "rainfall"]
    assert r["facets"]["organization"] == {"hk-td": 2, "hk-hko": 2}
    assert r["facets"]["res_format"] == {"CSV": 3, "JSON": 1}
    items = {i["name"]: i for i in r["search_facets"]["organization"]["items"]}
    assert items["hk-hko"]["display_name"] == "Hong Kong Observatory" and items["hk-hko"]["count"] == 2
    _, page2 = call(client, "package_search", rows=2, start=2, sort="name asc")
    assert [p["name"] for p in page2["result"]["results"]] == ["traffic-counts", "weather-now"]
    _, limited = call(client, "package_search", **{"facet.field": '["tags"]', "facet.limit": 1})
    assert len(limited["result"]["facets"]["tags"]) == 1
    _, mincount = call(client, "package_search", **{"facet.field": '["tags"]', "facet.mincount": 2})
    assert mincount["result"]["facets"]["tags"] == {"weather": 2}
    _, tc = call(client, "package_search", prefix="tc-data/", **{"facet.field": '["groups"]'})
    names = {i["display_name"] for i in tc["result"]["search_facets"]["groups"]["items"]}
    assert "運輸" in "".join(names) or names == {"運輸", "氣候及天氣"} or len(names) == 2


def test_package_search_queries_in_three_scripts(client, catalogue):
    for q in ("weather", "天氣", "天气"):
        _, body = call(client, "package_search", q=q)
        assert {p["name"] for p in body["result"]["results"]} == {"weather-now", "rainfall"}, q
    _, two = call(client, "package_search", prefix="sc-data/", q="交通")
    assert [p["name"] for p in two["result"]["results"]] == ["traffic-counts"]


def test_package_search_post_json_body(client, catalogue):
    _, body = call(
        client, "package_search", method="post", fq="organization:hk-hko", rows=10, **{"facet.field": ["tags"]}
    )
    assert body["result"]["count"] == 2 and body["result"]["facets"]["tags"]["weather"] == 2
    response = client.post("/api/3/action/package_search", data="[1,2]", content_type="application/json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "invalid_body"


def test_validation_errors(client, catalogue):
    _, rows = call(client, "package_search", expect=409, rows=1001)
    assert rows["error"]["__type"] == "Validation Error" and rows["error"]["code"] == "invalid_integer"
    assert "rows" in rows["error"]
    call(client, "package_search", expect=200, rows=1000)
    for params in (
        {"fq": "organization:"},
        {"fq": "colour:red"},
        {"fq": 'tags:"unclosed'},
        {"sort": "title desc"},
        {"facet.field": "organization"},
        {"facet.field": '["colour"]'},
        {"start": -1},
        {"rows": "ten"},
    ):
        _, body = call(client, "package_search", expect=409, **params)
        assert body["error"]["__type"] == "Validation Error", params


def test_fq_parsing():
    assert api_ckan.parse_fq("") == {}
    assert api_ckan.parse_fq('organization:hk-td AND tags:"real time" +res_format:CSV') == {
        "organization": ["hk-td"],
        "tags": ["real time"],
        "res_format": ["CSV"],
    }
    assert api_ckan.parse_fq("tags:a tags:b") == {"tags": ["a", "b"]}
    assert api_ckan.parse_fq('tags:"say \\"hi\\""') == {"tags": ['say "hi"']}
    assert api_ckan.parse_fq("dataset_type:dataset") == {}
    assert api_ckan.parse_fq("dataset_type:harvest") == {"name": [""]}
    for bad in ("organization", "organization: x", "colour:red", "tags:(a OR b)", 'tags:"x'):
        with pytest.raises(errors.InvalidFq):
            api_ckan.parse_fq(bad)


def test_field_terms_in_q_are_filters(client, catalogue):
    _, body = call(client, "package_search", q="tags:weather 天氣")
    assert {p["name"] for p in body["result"]["results"]} == {"weather-now", "rainfall"}
    _, body = call(client, "package_search", q='organization:hk-td tags:"交通"')
    assert [p["name"] for p in body["result"]["results"]] == ["traffic-counts"]
    _, body = call(client, "package_search", q="colour:red")  # not a field: searched as words
    assert body["result"]["count"] == 0
    assert api_ckan._fields_of_q('air name:"x y" quality') == ("air   quality", {"name": ["x y"]})


def test_fq_filters_the_search(client, catalogue):
    _, body = call(client, "package_search", fq='organization:hk-td res_format:"JSON"')
    assert [p["name"] for p in body["result"]["results"]] == ["parking-vacancy"]
    _, body = call(client, "package_search", fq="groups:climate-and-weather AND tags:天氣")
    assert [p["name"] for p in body["result"]["results"]] == ["weather-now"]


def test_etag_304_and_cors(client, catalogue):
    response, _ = call(client, "package_show", id="rainfall")
    tag = response["ETag"]
    assert tag.startswith('"') and response["Access-Control-Allow-Origin"] == "*"
    again, _ = call(client, "package_show", expect=304, headers={"If-None-Match": tag}, id="rainfall")
    assert again["ETag"] == tag
    search, _ = call(client, "package_search", q="rain")
    call(client, "package_search", expect=304, headers={"If-None-Match": search["ETag"]}, q="rain")
    other, _ = call(client, "package_search", headers={"If-None-Match": search["ETag"]}, q="weather")
    assert other["ETag"] != search["ETag"]
    zh, _ = call(client, "package_show", prefix="tc-data/", id="rainfall")
    assert zh["ETag"] != tag
    preflight = client.options("/api/3/action/package_search")
    assert preflight.status_code == 204 and preflight["Access-Control-Allow-Origin"] == "*"


def test_resource_show(client, catalogue, officer):
    res = catalogue["parking"].resources.get()
    waiting = publishing.add_resource(
        officer, catalogue["parking"], name_en="Next", name_zh="下一個", filename="next.csv"
    )
    call(client, "resource_show", expect=404, id=str(waiting.id))  # not approved yet: not public
    _, pkg = call(client, "package_show", id="parking-vacancy")
    assert [r["id"] for r in pkg["result"]["resources"]] == [str(res.id)]
    _, body = call(client, "resource_show", id=str(res.id))
    assert body["result"]["package_id"] == str(catalogue["parking"].id)
    assert body["result"]["format"] == "JSON" and body["result"]["datastore_active"] is False


def test_organizations_groups_tags(client, catalogue):
    _, orgs = call(client, "organization_list")
    assert orgs["result"] == ["hk-hko", "hk-td"]
    _, full = call(client, "organization_list", all_fields="true", limit=1, offset=1)
    assert [o["name"] for o in full["result"]] == ["hk-td"] and full["result"][0]["package_count"] == 2
    _, show = call(client, "organization_show", prefix="tc-data/", id="hk-hko", include_datasets="true")
    assert show["result"]["title"] == "香港天文台" and show["result"]["package_count"] == 2
    assert sorted(p["name"] for p in show["result"]["packages"]) == ["rainfall", "weather-now"]
    _, groups = call(client, "group_list", all_fields=True)
    counts = {g["name"]: g["package_count"] for g in groups["result"]}
    assert counts["transport"] == 2 and counts["climate-and-weather"] == 2 and len(counts) == 19
    _, group = call(client, "group_show", id="transport")
    assert group["result"]["package_count"] == 2 and "packages" not in group["result"]
    _, tags = call(client, "tag_list")
    assert tags["result"] == sorted({"traffic", "交通", "parking", "weather", "天氣"})
    _, some = call(client, "tag_list", query="wea")
    assert some["result"] == ["weather"]


def test_status_and_help(client, catalogue):
    _, status = call(client, "status_show")
    assert status["result"]["api_version"] == 3 and "datastore_search" in status["result"]["actions"]
    _, help_ = call(client, "help_show", name="package_search")
    assert "facet.field" in help_["result"]
    call(client, "help_show", expect=404, name="nothing_here")


def test_openapi_document(client):
    doc = client.get("/api/3/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert set(api_ckan.ACTIONS) == {p.rsplit("/", 1)[1] for p in doc["paths"]}
    assert "invalid_fq" in {c["code"] for c in doc["x-error-codes"]}


BIG = b"district,date,count\n" + b"".join(
    f"{d},2026-11-{day:02d},{n}\n".encode()
    for day in range(1, 11)
    for n, d in enumerate(["Central", "Wan Chai", "Sha Tin"])
)


def test_datastore_search(client, groups, officer, ddo, org):
    ds, res, version = make_published(officer, ddo, org, data=BIG)
    _, body = call(client, "datastore_search", resource_id=str(res.id))
    r = body["result"]
    assert [f["id"] for f in r["fields"]] == ["_id", "district", "date", "count"]
    assert [f["type"] for f in r["fields"]] == ["int", "text", "date", "int"]
    assert r["total"] == 30 and len(r["records"]) == 30 and r["records"][0]["_id"] == 1
    assert r["records"][0] == {"_id": 1, "district": "Central", "date": "2026-11-01", "count": 0}
    _, flt = call(
        client, "datastore_search", resource_id=str(res.id), filters='{"district": "Sha Tin"}', limit=3, offset=1
    )
    assert flt["result"]["total"] == 10 and len(flt["result"]["records"]) == 3
    assert all(rec["district"] == "Sha Tin" for rec in flt["result"]["records"])
    assert "offset=4" in flt["result"]["_links"]["next"]
    _, q = call(client, "datastore_search", resource_id=str(res.id), q="wan", fields="district,count", sort="date desc")
    assert q["result"]["total"] == 10 and set(q["result"]["records"][0]) == {"district", "count"}
    _, srt = call(client, "datastore_search", resource_id=str(res.id), sort="count desc, date asc", limit=1)
    assert srt["result"]["records"][0]["count"] == 2 and srt["result"]["records"][0]["date"] == "2026-11-01"
    _, post = call(
        client,
        "datastore_search",
        method="post",
        resource_id=str(res.id),
        filters={"district": ["Central", "Wan Chai"]},
    )
    assert post["result"]["total"] == 20
    _, bad = call(client, "datastore_search", expect=409, resource_id=str(res.id), filters='{"colour": "red"}')
    assert bad["error"]["code"] == "unknown_datastore_field"
    call(client, "datastore_search", expect=409, resource_id=str(res.id), limit=32001)
    call(client, "datastore_search", expect=409, resource_id=str(res.id), sort="count sideways")
    call(client, "datastore_search", expect=404, resource_id="00000000-0000-0000-0000-000000000000")


def test_datastore_search_follows_the_current_version(client, groups, officer, ddo, org):
    from tungban.opendata.services import versions

    ds, res, _ = make_published(officer, ddo, org)
    _, first = call(client, "datastore_search", resource_id=str(res.id))
    assert first["result"]["total"] == 2
    versions.add_version(officer, res, BIG)
    publishing.approve(ddo, publishing.submit(officer, ds).pk)
    _, second = call(client, "datastore_search", resource_id=str(res.id))
    assert second["result"]["total"] == 30
