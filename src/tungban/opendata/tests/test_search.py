"""The catalogue search (issue 21, part oapi): English, Traditional and Simplified Chinese
queries, two-character words, ranking, facets over the matching set, sorts and paging —
on whichever database the run uses (SQLite FTS5 or PostgreSQL full text)."""

import pytest

from tungban.opendata.constants import Format
from tungban.opendata.models import Organization
from tungban.opendata.services import publishing, search, versions
from tungban.testing.factories import staff_user


def publish(
    officer,
    ddo,
    org,
    name,
    title_en,
    title_zh,
    *,
    notes_en="",
    notes_zh="",
    groups=(),
    tags=(),
    fmt="CSV",
    license_id="hk-dgu",
):
    ds = publishing.create_dataset(
        officer,
        org,
        name=name,
        title_en=title_en,
        title_zh=title_zh,
        notes_en=notes_en,
        notes_zh=notes_zh,
        groups=groups,
        tags=tags,
        license_id=license_id,
    )
    res = publishing.add_resource(officer, ds, name_en="Data", name_zh="數據", filename=f"{name}.csv", format=fmt)
    versions.add_version(officer, res, f"a,b\n1,{name}\n".encode())
    publishing.approve(ddo, publishing.submit(officer, ds).pk)
    ds.refresh_from_db()
    return ds


@pytest.fixture
def catalogue(groups, officer, ddo, org):
    return build_catalogue(officer, ddo, org)


def build_catalogue(officer, ddo, org):
    """Four published datasets of two providers (運輸署 and 香港天文台) in two categories."""
    from tungban.opendata.constants import Role
    from tungban.opendata.models import DataOfficer

    other = Organization.objects.create(name="hk-hko", title_en="Hong Kong Observatory", title_zh="香港天文台")
    o2 = staff_user("none", username="hko-officer")
    d2 = staff_user("none", username="hko-ddo")
    DataOfficer.objects.create(user=o2, organization=other, role=Role.DATA_OFFICER)
    DataOfficer.objects.create(user=d2, organization=other, role=Role.DDO)
    return {
        "traffic": publish(
            officer,
            ddo,
            org,
            "traffic-counts",
            "Traffic counts",
            "交通流量",
            notes_zh="按地區統計的車輛數目",
            groups=["transport"],
            tags=["traffic", "交通"],
        ),
        "parking": publish(
            officer,
            ddo,
            org,
            "parking-vacancy",
            "Parking vacancy",
            "停車場空位",
            notes_en="Traffic related car park data",
            groups=["transport"],
            tags=["parking"],
            fmt=Format.JSON,
            license_id="cc-by-4.0",
        ),
        "weather": publish(
            o2,
            d2,
            other,
            "weather-now",
            "Current weather report",
            "本港地區天氣報告",
            notes_zh="天氣數據",
            groups=["climate-and-weather"],
            tags=["weather", "天氣"],
        ),
        "rain": publish(
            o2,
            d2,
            other,
            "rainfall",
            "Rainfall",
            "雨量",
            notes_zh="各區雨量及天氣",
            groups=["climate-and-weather"],
            tags=["weather"],
        ),
    }


def names(result):
    return [d.name for d in result.datasets]


def test_english_query_matches_words_and_prefixes(catalogue):
    assert set(names(search.query("traffic"))) == {"traffic-counts", "parking-vacancy"}
    assert names(search.query("rainfall")) == ["rainfall"]
    assert names(search.query("rain")) == ["rainfall"]  # a prefix
    assert search.query("traffic weather").count == 0  # every word must match


def test_ranking_puts_the_title_match_first(catalogue):
    result = search.query("traffic")
    assert names(result)[0] == "traffic-counts"  # in its title (and tags), not only its notes


def test_two_character_chinese_words(catalogue):
    assert set(names(search.query("天氣"))) == {"weather-now", "rainfall"}
    assert names(search.query("交通")) == ["traffic-counts"]
    assert names(search.query("天氣報告")) == ["weather-now"]
    assert names(search.query("流")) == ["traffic-counts"]  # one character
    assert search.query("交報").count == 0  # not a word of any text: bigrams, not bags of characters


def test_simplified_chinese_queries_find_traditional_text(catalogue):
    assert set(names(search.query("天气"))) == {"weather-now", "rainfall"}
    assert names(search.query("交通流量")) == ["traffic-counts"]
    assert names(search.query("停车场")) == ["parking-vacancy"]
    assert set(names(search.query("香港天文台"))) == {"rainfall", "weather-now"}


def test_tokens_and_conversion():
    assert search.to_traditional("资料一线通") == "資料一線通"
    assert search.to_simplified("運輸署") == "运输署"
    toks = search.tokens("Traffic 交通數據")
    assert "traffic" in toks and "交通" in toks and "數據" in toks and "通數" in toks
    assert search.query_terms("*:*") == []


def test_facets_are_counted_over_the_matching_set(catalogue):
    result = search.query("", facet_fields=search.FACET_FIELDS, rows=1)
    assert result.count == 4 and len(result.datasets) == 1
    assert dict(result.facets["organization"]) == {"hk-td": 2, "hk-hko": 2}
    assert dict(result.facets["groups"]) == {"transport": 2, "climate-and-weather": 2}
    assert dict(result.facets["res_format"]) == {"CSV": 3, "JSON": 1}
    assert dict(result.facets["license_id"]) == {"hk-dgu": 3, "cc-by-4.0": 1}
    assert dict(result.facets["tags"])["weather"] == 2
    narrowed = search.query("天氣", facet_fields=["organization", "tags"])
    assert dict(narrowed.facets["organization"]) == {"hk-hko": 2}
    assert dict(narrowed.facets["tags"]) == {"weather": 2, "天氣": 1}


def test_filters_are_anded(catalogue):
    assert set(names(search.query(filters={"organization": ["hk-td"]}))) == {"traffic-counts", "parking-vacancy"}
    assert names(search.query(filters={"organization": ["hk-td"], "res_format": ["JSON"]})) == ["parking-vacancy"]
    assert names(search.query(filters={"tags": ["weather", "天氣"]})) == ["weather-now"]
    assert names(search.query("traffic", filters={"license_id": ["cc-by-4.0"]})) == ["parking-vacancy"]
    assert search.query(filters={"groups": ["transport", "climate-and-weather"]}).count == 0


def test_sorts_and_paging(catalogue):
    by_name = names(search.query(sort="name asc", rows=10))
    assert by_name == sorted(by_name) and len(by_name) == 4
    assert names(search.query(sort="name asc", rows=2, start=1)) == by_name[1:3]
    assert names(search.query(sort="name asc", rows=2, start=4)) == []
    by_title = search.query(sort="title_string asc", rows=10)
    titles = [d.title_en for d in by_title.datasets]
    assert titles == sorted(titles)
    newest = search.query(sort="metadata_modified desc", rows=10).datasets
    stamps = [d.metadata_modified for d in newest]
    assert stamps == sorted(stamps, reverse=True)
    with pytest.raises(ValueError):
        search.query(sort="bogus asc")
    with pytest.raises(ValueError):
        search.query(facet_fields=["bogus"])


def test_only_active_datasets_and_withdrawal_leaves_the_index(catalogue, ddo):
    publishing.create_dataset(ddo, "hk-td", name="draft-traffic", title_en="Traffic draft", title_zh="交通草稿")
    assert "draft-traffic" not in names(search.query("traffic"))
    publishing.withdraw(ddo, catalogue["traffic"], reason_en="Old", reason_zh="過時")
    assert names(search.query("交通")) == []


def test_reindex_all_rebuilds(catalogue):
    assert search.reindex_all() == 4
    assert set(names(search.query("天气"))) == {"weather-now", "rainfall"}


def test_the_one_search_follows_publish_and_withdraw(published, ddo):
    """Issue 22: an approved dataset is a ``dataset`` document of the one search, with
    "Download" pointing at its current file; withdrawing it takes it out."""
    from tungban.search import services as one_search
    from tungban.search.models import SearchDocument

    ds, res, _version = published
    doc = SearchDocument.objects.get(kind="dataset", ref=ds.name)
    assert doc.title_zh == ds.title_zh and doc.url == f"/data/dataset/{ds.name}/"
    assert doc.actions[0]["kind"] == "download" and str(res.pk) in doc.actions[0]["url"]
    assert [h.ref for h in one_search.query("交通流量", language="zh").hits] == [ds.name]
    publishing.withdraw(ddo, ds, reason_en="Replaced.", reason_zh="已被取代。")
    assert not SearchDocument.objects.filter(kind="dataset", ref=ds.name).exists()
