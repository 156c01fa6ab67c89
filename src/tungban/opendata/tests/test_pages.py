"""The public pages under /data/ (issue 21, part opages): search with Chinese (Traditional and
Simplified) and English queries, facets that work without JavaScript, paging, the dataset
page with its downloads, data dictionary, preview and schema.org JSON-LD, providers and
categories with counts, and bilingual 404 pages. Only active datasets are ever shown."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest

from tungban.opendata.constants import Format
from tungban.opendata.models import Organization
from tungban.opendata.services import publishing, search

from .conftest import make_published

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hant"}


@pytest.fixture(autouse=True)
def _files(settings, tmp_path):
    settings.TUNGBAN_OPENDATA_FILES = tmp_path / "opendata"


def names(resp) -> list[str]:
    return re.findall(r'class="od-result" data-name="([^"]+)"', resp.content.decode())


def test_search_finds_by_traditional_simplified_and_english_words(client, published):
    ds, _res, _v = published
    assert names(client.get("/data/", {"q": "交通"}, **EN)) == [ds.name]
    assert names(client.get("/data/", {"q": "流量"}, **ZH)) == [ds.name]  # a two-character word of the title
    assert names(client.get("/data/", {"q": "车辆"}, **EN)) == [ds.name]  # Simplified: 車輛 in the description
    assert names(client.get("/data/", {"q": "Traffic"}, **EN)) == [ds.name]
    resp = client.get("/data/", {"q": "天氣"}, **EN)
    assert names(resp) == []
    assert 'id="no-results"' in resp.content.decode()
    assert "No dataset matches your search." in resp.content.decode()
    assert "沒有數據集符合你的搜尋。" in client.get("/data/", {"q": "天氣"}, **ZH).content.decode()


def test_drafts_and_withdrawn_datasets_are_not_public(client, published, officer, ddo, org):
    ds, _res, _v = published
    draft = publishing.create_dataset(officer, org, name="draft-one", title_en="Draft counts", title_zh="草稿流量")
    assert names(client.get("/data/", **EN)) == [ds.name]
    assert client.get(f"/data/dataset/{draft.name}/", **EN).status_code == 404
    publishing.withdraw(ddo, ds, reason_en="Replaced.", reason_zh="已被取代。")
    assert names(client.get("/data/", **EN)) == []
    resp = client.get(f"/data/dataset/{ds.name}/", **EN)
    assert resp.status_code == 404
    assert "No dataset is called “traffic-counts”." in resp.content.decode()


def test_facets_filter_without_javascript(client, groups, officer, ddo, org):
    other = Organization.objects.create(name="hk-hko", title_en="Hong Kong Observatory", title_zh="香港天文台")
    from tungban.opendata.constants import Role
    from tungban.opendata.models import DataOfficer

    DataOfficer.objects.create(user=officer, organization=other, role=Role.DATA_OFFICER)
    DataOfficer.objects.create(user=ddo, organization=other, role=Role.DDO)
    make_published(officer, ddo, org, name="traffic-a", groups=("transport",))
    make_published(officer, ddo, org, name="traffic-b", groups=("transport",))
    make_published(officer, ddo, other, name="rain", groups=("climate-and-weather",))
    page = client.get("/data/", **EN).content.decode()
    # Checkboxes in the search form (GET) with their counts.
    assert re.search(r'name="organization" value="hk-td" id="[^"]+">\s*<label[^>]*>Transport Department', page)
    assert re.search(r"Transport Department <span class=\"od-count\">\(2\)</span>", page)
    assert re.search(r"Hong Kong Observatory <span class=\"od-count\">\(1\)</span>", page)
    assert names(client.get("/data/", {"organization": "hk-hko"}, **EN)) == ["rain"]
    assert sorted(names(client.get("/data/", {"groups": "transport"}, **EN))) == ["traffic-a", "traffic-b"]
    # Ticked values of one facet: either; of different facets: both.
    assert sorted(names(client.get("/data/", {"organization": ["hk-td", "hk-hko"]}, **EN))) == [
        "rain",
        "traffic-a",
        "traffic-b",
    ]
    assert names(client.get("/data/", {"organization": "hk-hko", "groups": "transport"}, **EN)) == []
    assert len(names(client.get("/data/", {"res_format": Format.CSV.value}, **EN))) == 3
    checked = client.get("/data/", {"organization": "hk-hko"}, **EN).content.decode()
    assert re.search(r'value="hk-hko" id="[^"]+" checked', checked)


def test_paging(client, groups, officer, ddo, org, monkeypatch):
    from tungban.opendata import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    made = sorted(make_published(officer, ddo, org, name=f"counts-{i}")[0].name for i in range(5))
    seen = []
    url, pages = "/data/?q=traffic", 0
    while url:
        resp = client.get(url, **EN)
        page = resp.content.decode()
        seen += names(resp)
        pages += 1
        m = re.search(r'href="([^"]+)" rel="next"', page)
        url = "/data/" + unescape(m.group(1)) if m else ""
        assert pages <= 3
    assert pages == 3
    assert sorted(seen) == made
    assert "Page 3 of 3" in page and 'rel="prev"' in page
    assert "q=traffic" in re.search(r'href="([^"]+)" rel="prev"', page).group(1)
    # A page past the last shows the last page, not "no results".
    beyond = client.get("/data/", {"q": "traffic", "page": "99"}, **EN)
    assert len(names(beyond)) == 1 and "Page 3 of 3" in beyond.content.decode()


def test_dataset_page_in_both_languages(client, published):
    ds, res, version = published
    en = client.get(f"/data/dataset/{ds.name}/", **EN).content.decode()
    zh = client.get(f"/data/dataset/{ds.name}/", **ZH).content.decode()
    assert '<h1 id="dataset-title">Traffic counts</h1>' in en
    assert '<h1 id="dataset-title">交通流量</h1>' in zh
    assert "Transport Department" in en and "運輸署" in zh
    for page in (en, zh):
        for suffix in ("counts.csv", "counts.json", "counts.xml"):
            assert f'href="http://testserver/data/files/{res.id}/{suffix}"' in page
        assert "list-file-versions?url=http%3A%2F%2Ftestserver%2Fdata%2Ffiles%2F" in page
        assert f'href="/api/3/action/package_show?id={ds.name}"' in page
        assert f'rel="alternate" type="text/turtle" href="/data/dataset/{ds.name}.ttl"' in page
        # The data dictionary (Table Schema fields) and the first rows of the CSV.
        assert "<code>district</code></th><td>string</td>" in page
        assert "<td>Central and Western</td><td>2026-11-01</td><td>12</td>" in page
    assert "Data dictionary" in en and "數據字典" in zh


def test_schema_org_json_ld(client, published):
    ds, res, version = published
    page = client.get(f"/data/dataset/{ds.name}/", **EN).content.decode()
    raw = re.search(r'<script type="application/ld\+json" id="schema-org">(.*?)</script>', page, re.S).group(1)
    doc = json.loads(raw)
    assert doc["@type"] == "Dataset" and doc["@context"] == "https://schema.org/"
    assert doc["name"] == "Traffic counts" and doc["alternateName"] == "交通流量"
    assert doc["url"] == f"http://testserver/data/dataset/{ds.name}/"
    assert doc["description"].startswith("Vehicles counted")
    assert doc["creator"]["name"] == "Transport Department" == doc["publisher"]["name"]
    assert "交通" in doc["keywords"] and "traffic" in doc["keywords"]
    assert doc["dateModified"].startswith(ds.metadata_modified.date().isoformat()[:4])
    assert doc["license"] == "http://testserver/data/terms/"
    formats = {d["encodingFormat"]: d["contentUrl"] for d in doc["distribution"]}
    assert formats == {
        "text/csv": f"http://testserver/data/files/{res.id}/counts.csv",
        "application/json": f"http://testserver/data/files/{res.id}/counts.json",
        "application/xml": f"http://testserver/data/files/{res.id}/counts.xml",
    }
    assert all(d["@type"] == "DataDownload" for d in doc["distribution"])


def test_organizations_and_groups_with_counts(client, published, officer, ddo, org):
    make_published(officer, ddo, org, name="second")
    Organization.objects.create(name="hk-empty", title_en="Empty Office", title_zh="空辦公室")
    page = client.get("/data/organization/", **EN).content.decode()
    assert re.search(
        r'data-name="hk-td"><a href="/data/organization/hk-td/">Transport Department</a> '
        r'<span class="od-count">2 datasets</span>',
        page,
    )
    assert re.search(r'data-name="hk-empty">.*0 datasets', page)
    assert "運輸署" in client.get("/data/organization/", **ZH).content.decode()
    org_page = client.get("/data/organization/hk-td/", **EN)
    assert sorted(names(org_page)) == ["second", "traffic-counts"]
    groups = client.get("/data/group/", **ZH).content.decode()
    assert re.search(
        r'data-name="transport"><a href="/data/group/transport/">運輸</a> <span class="od-count">2', groups
    )
    assert sorted(names(client.get("/data/group/transport/", **EN))) == ["second", "traffic-counts"]
    assert names(client.get("/data/group/health/", **EN)) == []


@pytest.mark.parametrize(
    ("url", "en", "zh"),
    [
        ("/data/dataset/no-such/", "No dataset is called “no-such”.", "沒有名為「no-such」的數據集。"),
        ("/data/organization/no-such/", "No data provider is called “no-such”.", "沒有名為「no-such」的數據提供者。"),
        ("/data/group/no-such/", "No category is called “no-such”.", "沒有名為「no-such」的類別。"),
        ("/data/dataset/no-such.ttl", "No dataset is called “no-such”.", "沒有名為「no-such」的數據集。"),
    ],
)
def test_unknown_names_are_404_pages_in_both_languages(client, groups, url, en, zh):
    resp = client.get(url, **EN)
    assert resp.status_code == 404 and en in resp.content.decode()
    resp = client.get(url, **ZH)
    assert resp.status_code == 404 and zh in resp.content.decode()
    assert '<html lang="zh-Hant-HK">' in resp.content.decode()


def test_home_page_links_to_open_data(client):
    page = client.get("/", **EN).content.decode()
    assert 'href="/data/"' in page


def test_search_query_interface_the_pages_use(published):
    ds, _res, _v = published
    result = search.query("交通", facet_fields=["organization", "res_format"], rows=5)
    assert result.count == 1 and [d.name for d in result.datasets] == [ds.name]
    assert result.facets["organization"] == [("hk-td", 1)]
    assert result.facets["res_format"] == [("CSV", 1)]
