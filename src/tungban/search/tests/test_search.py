"""The one search (issue 22): analyser, index/remove/reindex, ranking, corrections, facets,
best bets, bad input, the vocabulary's generation, the page (English and Chinese), the API,
the best-bets staff page and the owners' sources."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from tungban.search import analysis, editors, errors, services, sources
from tungban.search.models import BestBet, IndexState, SearchDocument, SearchEditor
from tungban.search.sources import Document
from tungban.testing.factories import login_staff, staff_user

pytestmark = pytest.mark.django_db


def _doc(kind, ref, title_en, title_zh, text_en="", text_zh="", dept="", popularity=0, **kw) -> Document:
    names = {"IMMD": ("Immigration Department", "入境事務處"), "TD": ("Transport Department", "運輸署")}
    en, zh = names.get(dept, ("", ""))
    return Document(
        kind=kind,
        ref=ref,
        title_en=title_en,
        title_zh=title_zh,
        text_en=text_en,
        text_zh=text_zh,
        department=dept,
        department_en=en,
        department_zh=zh,
        url=f"/x/{ref}/",
        actions=({"kind": "read", "url": f"/x/{ref}/", "label_en": "Read", "label_zh": "閱讀"},),
        popularity=popularity,
        **kw,
    )


@pytest.fixture
def docs(db):
    items = [
        _doc(
            "service",
            "passport",
            "Apply for a passport",
            "申請護照",
            "Apply for a new or replacement passport.",
            "申請新護照或補領護照。",
            "IMMD",
        ),
        _doc(
            "dataset",
            "passport-stats",
            "Passports issued, 2024",
            "2024年簽發護照",
            "Monthly counts.",
            "每月數字。",
            "IMMD",
        ),
        _doc(
            "service",
            "driving-licence",
            "Renewal of a full driving licence",
            "續領正式駕駛執照",
            "Renew your driving licence.",
            "續領駕駛執照。",
            "TD",
        ),
        _doc("form", "driving-form", "Driving licence renewal form", "續領駕駛執照表格", "Form TD-1.", "", "TD"),
        _doc(
            "dataset",
            "recycling",
            "Community recycling points",
            "社區回收點",
            "Where recycling stations are.",
            "回收站位置。",
        ),
    ]
    services.index(items)
    return items


# --- analyser ----------------------------------------------------------------------------------


def test_analyser_chinese_bigrams_simplified_and_extension_b():
    toks = analysis.tokens("Traffic 交通數據")
    assert "traffic" in toks and "交通" in toks and "通數" in toks and "交" in toks
    assert analysis.to_traditional("护照") == "護照"
    assert analysis.tokens("長者咭") == analysis.tokens("長者卡")  # the Cantonese "card" matches the standard one
    assert analysis.to_simplified("護照") == "护照"
    assert "𨋢" in analysis.tokens("𨋢檢驗")  # CJK Extension B (HKSCS): lift
    assert analysis.chinese_terms("申請護照") == ["申請", "請護", "護照"]
    assert analysis.chinese_terms("车") == ["車"]


def test_analyser_stems_and_spellings():
    assert analysis.stem("renewal") == analysis.stem("renew")
    assert analysis.stem("license") == analysis.stem("licence") == analysis.stem("licences")
    assert analysis.index_tokens("Ｒｅｎｅｗ Licences") == [analysis.stem("renew"), analysis.stem("licence")]


def test_opendata_uses_the_shared_analyser():
    from tungban.opendata.services import search as opendata_search

    assert opendata_search.tokens is analysis.tokens
    assert opendata_search.to_traditional is analysis.to_traditional


def test_normalise_query():
    assert services.normalise_query("  Renew   PASSPORT?! ") == "renew passport"
    assert services.normalise_query("护照") == "護照"


# --- index, remove, reindex --------------------------------------------------------------------


def test_index_is_an_upsert_and_remove_takes_it_out(docs):
    before = services.generation()
    assert services.index(docs) == 0  # nothing changed: nothing written, same generation
    assert services.generation() == before
    changed = _doc("service", "passport", "Apply for an HKSAR passport", "申請特區護照", dept="IMMD")
    assert services.index([changed]) == 1
    assert services.generation() == before + 1
    assert SearchDocument.objects.get(kind="service", ref="passport").title_en == "Apply for an HKSAR passport"
    assert services.query("hksar").hits[0].ref == "passport"
    assert services.remove("service", "passport") is True
    assert services.remove("service", "passport") is False
    assert [h.ref for h in services.query("passport").hits] == ["passport-stats"]
    if connection.vendor == "sqlite":
        with connection.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM search_fts")
            assert cur.fetchone()[0] == SearchDocument.objects.count()


def test_index_refuses_bad_documents(db):
    with pytest.raises(ValueError):
        services.index([_doc("nonsense", "x", "X", "X")])
    bad = Document(kind="faq", ref="x", title_en="X", title_zh="X", actions=({"kind": "fly", "url": "/"},))
    with pytest.raises(ValueError):
        services.index([bad])
    assert not SearchDocument.objects.exists()


def test_reindex_rebuilds_a_kind_from_its_source(db, monkeypatch):
    registry = dict(sources._SOURCES)
    monkeypatch.setattr(sources, "_SOURCES", registry)
    listed = [_doc("faq", "a", "Lost identity card", "遺失身份證"), _doc("faq", "b", "Change address", "更改地址")]
    sources.register("faq", label_en="FAQ", label_zh="常見問題", documents=lambda: list(listed))
    assert services.reindex("faq") == {"faq": 2}
    listed.pop()
    call_command("search_reindex", "--kind", "faq")
    assert list(SearchDocument.objects.filter(kind="faq").values_list("ref", flat=True)) == ["a"]
    with pytest.raises(errors.UnknownKind):
        services.reindex("nonsense")


def test_reindex_task_records_its_state(db, monkeypatch):
    from tungban.search import tasks

    registry = dict(sources._SOURCES)
    monkeypatch.setattr(sources, "_SOURCES", registry)
    sources.register("faq", label_en="FAQ", label_zh="常見問題", documents=lambda: [_doc("faq", "a", "Tax", "稅")])
    counts = tasks.reindex_task.call("faq")
    state = IndexState.objects.get(pk=1)
    assert counts == {"faq": 1} and state.reindex_state == "done" and state.reindex_counts == {"faq": 1}


# --- ranking, corrections, Chinese -------------------------------------------------------------


def test_service_before_dataset_and_form(docs):
    assert [h.ref for h in services.query("passport").hits] == ["passport", "passport-stats"]
    hits = services.query("renew driving licence").hits
    assert [h.ref for h in hits][:2] == ["driving-licence", "driving-form"]


def test_title_match_weighs_more_than_text(db):
    services.index(
        [
            _doc(
                "dataset", "in-text", "Monthly figures", "每月數字", "Counts of vehicles on the cross harbour tunnel."
            ),
            _doc("dataset", "in-title", "Cross harbour tunnel traffic", "過海隧道交通", "Counts per hour."),
        ]
    )
    assert [h.ref for h in services.query("tunnel").hits] == ["in-title", "in-text"]


def test_typo_is_corrected_and_said(docs):
    r = services.query("pasport")
    assert r.corrected == "passport"
    assert r.hits[0].ref == "passport"
    r = services.query("recyling")
    assert r.corrected == "recycling" and r.hits[0].ref == "recycling"
    assert services.query("passport").corrected is None
    r = services.query("zzzzqqq")
    assert r.count == 0 and r.corrected is None


def test_prefix_before_correction(docs):
    r = services.query("recycl")
    assert r.corrected is None and r.hits[0].ref == "recycling"


def test_simplified_and_traditional_find_the_same(docs):
    trad = [h.ref for h in services.query("護照", language="zh").hits]
    simp = [h.ref for h in services.query("护照", language="zh").hits]
    assert trad == simp and trad[0] == "passport"
    hit = services.query("护照", language="zh").hits[0]
    assert hit.title == "申請護照" and hit.department_name == "入境事務處" and hit.actions[0]["label"] == "閱讀"
    assert services.query("passport", language="en").hits[0].title == "Apply for a passport"


def test_a_query_of_symbols_finds_nothing(docs):
    r = services.query("!!! ???")
    assert r.count == 0 and r.hits == []


def test_stopwords_do_not_block_a_question(docs):
    assert services.query("how do I renew my driving licence").hits[0].ref == "driving-licence"


def test_paging(docs):
    first = services.query("passport OR driving", rows=1)
    second = services.query("passport OR driving", rows=1, start=1)
    assert first.count == second.count >= 2
    assert first.hits[0].ref != second.hits[0].ref


# --- facets ------------------------------------------------------------------------------------


def test_facets_count_kinds_and_departments(docs):
    r = services.query("passport")
    assert r.facets["kind"] == [("service", "Services", 1), ("dataset", "Open data", 1)]
    assert r.facets["department"] == [("IMMD", "Immigration Department", 2)]
    only = services.query("passport", kinds=["dataset"], language="zh")
    assert [h.ref for h in only.hits] == ["passport-stats"] and only.count == 1
    # the kind facet keeps the other kinds' counts (it is not filtered by itself)
    assert ("service", "服務", 1) in only.facets["kind"]
    assert only.facets["department"] == [("IMMD", "入境事務處", 1)]
    td = services.query("licence", departments=["TD"])
    assert {h.department for h in td.hits} == {"TD"}
    assert services.query("passport", departments=["TD"]).count == 0


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "q,kwargs,error",
    [
        ("", {}, errors.QueryEmpty),
        ("   ", {}, errors.QueryEmpty),
        ("x" * 201, {}, errors.QueryTooLong),
        ("passport", {"kinds": ["nonsense"]}, errors.UnknownKind),
        ("passport", {"departments": ["no such; code"]}, errors.UnknownDepartment),
    ],
)
def test_bad_input(docs, q, kwargs, error):
    with pytest.raises(error):
        services.query(q, **kwargs)


# --- best bets ---------------------------------------------------------------------------------


@pytest.fixture
def editor(db):
    user = staff_user("counter_officer", username="search-editor")
    SearchEditor.objects.create(user=user)
    return user


def test_best_bet_is_first_for_its_query_even_without_the_words(docs, editor):
    editors.add(editor, query="  ID Card!! ", kind="service", ref="passport", position=1)
    assert BestBet.objects.get().query == "id card"
    r = services.query("id card")
    assert r.hits[0].ref == "passport" and r.hits[0].best_bet
    assert r.count == 1
    assert services.query("passport").hits[0].best_bet is False  # only for the curated query
    # a best bet outside the kinds asked for is not shown
    assert services.query("id card", kinds=["dataset"]).count == 0


def test_best_bet_reorders_matching_results_and_is_not_repeated(docs, editor):
    editors.add(editor, query="passport", kind="dataset", ref="passport-stats")
    hits = services.query("passport").hits
    assert [(h.ref, h.best_bet) for h in hits] == [("passport-stats", True), ("passport", False)]
    assert services.query("pasport").hits[0].ref == "passport-stats"  # and for the corrected query


def test_best_bet_errors(docs, editor):
    with pytest.raises(errors.NotSearchEditor):
        editors.add(staff_user("counter_officer", username="not-editor"), query="x", kind="service", ref="passport")
    with pytest.raises(errors.BestBetQueryInvalid):
        editors.add(editor, query="?!", kind="service", ref="passport")
    with pytest.raises(errors.DocumentUnknown):
        editors.add(editor, query="x", kind="service", ref="nope")
    with pytest.raises(errors.PositionInvalid):
        editors.add(editor, query="x", kind="service", ref="passport", position="first")
    editors.add(editor, query="x", kind="service", ref="passport")
    with pytest.raises(errors.BestBetExists):
        editors.add(editor, query="X", kind="service", ref="passport")
    assert BestBet.objects.count() == 1
    with pytest.raises(errors.BestBetUnknown):
        editors.remove(editor, 999999)


# --- the vocabulary is never stale --------------------------------------------------------------


def test_vocabulary_follows_the_generation(docs):
    v1 = services.vocabulary()
    assert services.vocabulary() is v1  # kept while the index does not change
    assert "zebra" not in v1.frequency
    services.index([_doc("dataset", "zebra", "Zebra crossings", "斑馬線")])
    v2 = services.vocabulary()
    assert v2 is not v1 and "zebra" in v2.frequency
    assert services.query("zebar crossings").corrected == "zebra crossings"


# --- the page ----------------------------------------------------------------------------------


def test_page_without_a_query_offers_the_box(client, docs):
    resp = client.get("/search/", HTTP_ACCEPT_LANGUAGE="en")
    body = resp.content.decode()
    assert resp.status_code == 200 and 'name="q"' in body and 'id="results-heading"' not in body


def test_page_results_facets_actions_and_correction_en(client, docs):
    resp = client.get("/search/", {"q": "pasport"}, HTTP_ACCEPT_LANGUAGE="en")
    body = resp.content.decode()
    assert resp.status_code == 200
    assert "Showing results for “passport”" in body
    assert 'data-ref="passport"' in body and 'href="/x/passport/"' in body
    assert 'name="kind" value="service"' in body and 'name="department" value="IMMD"' in body
    assert body.index('data-ref="passport"') < body.index('data-ref="passport-stats"')


def test_page_in_chinese_with_a_filter(client, docs):
    resp = client.get("/search/", {"q": "护照", "kind": "dataset"}, HTTP_ACCEPT_LANGUAGE="zh-hant")
    body = resp.content.decode()
    assert resp.status_code == 200
    assert "2024年簽發護照" in body and 'data-ref="passport"' not in body
    assert 'value="dataset" id="kind-dataset" checked' in body


def test_page_best_bet_is_marked(client, docs, editor):
    editors.add(editor, query="passport", kind="dataset", ref="passport-stats")
    body = client.get("/search/", {"q": "passport"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 's-best" data-kind="dataset" data-ref="passport-stats"' in body


def test_page_empty_state_offers_assistant_and_1823(client, docs):
    body = client.get("/search/", {"q": "qqqqzzzz"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="no-results"' in body and 'href="/assistant/"' in body and 'href="/1823/new/"' in body


@pytest.mark.parametrize(
    "lang,params,text",
    [
        ("en", {"q": ""}, "Type what you are looking for."),
        ("zh-hant", {"q": ""}, "請輸入你要找的內容。"),
        ("en", {"q": "x" * 201}, "at most 200 characters"),
        ("zh-hant", {"q": "passport", "kind": "nonsense"}, "沒有這類結果"),
        ("en", {"q": "passport", "page": "abc"}, "The page must be a whole number"),
    ],
)
def test_page_bad_input_in_both_languages(client, docs, lang, params, text):
    resp = client.get("/search/", params, HTTP_ACCEPT_LANGUAGE=lang)
    assert resp.status_code == 400
    assert text in resp.content.decode()


def test_header_links_to_the_search(client, docs):
    assert 'id="header-search"' in client.get("/search/").content.decode()


# --- the API -----------------------------------------------------------------------------------


def test_api_search(client, docs):
    resp = client.get("/api/v1/search/", {"q": "pasport", "lang": "en"})
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["corrected"] == "passport" and body["count"] == 2 and body["pages"] == 1
    assert body["hits"][0]["ref"] == "passport" and body["hits"][0]["actions"][0]["kind"] == "read"
    assert {"value": "IMMD", "label": "Immigration Department", "count": 2} in body["facets"]["department"]
    zh = client.get("/api/v1/search/", {"q": "passport", "lang": "zh-hant", "kind": ["dataset"]}).json()
    assert [h["title"] for h in zh["hits"]] == ["2024年簽發護照"]


@pytest.mark.parametrize(
    "params,code",
    [
        ({"q": ""}, "query_empty"),
        ({"q": "x" * 201}, "query_too_long"),
        ({"q": "passport", "kind": "nonsense"}, "unknown_kind"),
        ({"q": "passport", "page": "0"}, "page_invalid"),
    ],
)
def test_api_errors(client, docs, params, code):
    resp = client.get("/api/v1/search/", params, HTTP_ACCEPT_LANGUAGE="zh-hant")
    assert resp.status_code == 422
    assert resp.json()["error"] == code


def test_api_is_in_the_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/search/" in doc["paths"]
    codes = {c["code"] for t in doc["tags"] if t["name"] == "search" for c in t.get("x-error-codes", [])}
    assert {"query_empty", "query_too_long", "unknown_kind"} <= codes


# --- staff: best bets --------------------------------------------------------------------------


def test_best_bets_page_for_editors_only(client, docs, editor):
    assert client.get("/staff/search/best-bets/").status_code == 302  # to the staff login
    login_staff(client, staff_user("counter_officer", username="plain"))
    assert client.get("/staff/search/best-bets/").status_code == 403
    login_staff(client, editor)
    assert client.get("/staff/search/best-bets/").status_code == 200


def test_best_bets_page_adds_and_removes(client, docs, editor):
    login_staff(client, editor)
    resp = client.post(
        "/staff/search/best-bets/", {"query": "Passport", "kind": "dataset", "ref": "passport-stats", "position": "1"}
    )
    assert resp.status_code == 302
    bet = BestBet.objects.get()
    assert (bet.query, bet.created_by) == ("passport", editor)
    resp = client.post(f"/staff/search/best-bets/{bet.pk}/remove")
    assert resp.status_code == 302 and not BestBet.objects.exists()


@pytest.mark.parametrize("lang,text", [("en", "There is no such search result"), ("zh-hant", "沒有這個搜尋結果")])
def test_best_bets_page_errors_in_both_languages(client, docs, editor, lang, text):
    login_staff(client, editor)
    resp = client.post(
        "/staff/search/best-bets/",
        {"query": "passport", "kind": "service", "ref": "nope", "position": "1"},
        HTTP_ACCEPT_LANGUAGE=lang,
    )
    assert resp.status_code == 400 and text in resp.content.decode()
    assert not BestBet.objects.exists()


# --- the owners' sources -----------------------------------------------------------------------


def test_catalogue_loader_indexes_services_forms_and_field_help(db):
    from tungban.credentials import catalogue as credential_catalogue
    from tungban.eservices.services.catalogue import load_catalogue

    credential_catalogue.register_bundled()
    load_catalogue()
    kinds = set(SearchDocument.objects.values_list("kind", flat=True))
    assert kinds == {"service", "form", "field_help"}
    card = services.query("senior citizen card").hits[0]
    assert (card.kind, card.ref) == ("service", "senior-citizen-card")
    assert [a["kind"] for a in card.actions] == ["apply", "read", "ask"]
    assert card.actions[0]["url"] == "/services/senior-citizen-card/apply"
    help_ = SearchDocument.objects.get(kind="field_help", ref="swd-senior-citizen-card.hkid")
    assert "A123456(3)" in help_.text_en and help_.url == "/services/senior-citizen-card/"
    form = SearchDocument.objects.get(kind="form", ref="swd-senior-citizen-card")
    assert form.actions[0]["kind"] == "apply"
    before = services.generation()
    load_catalogue()  # idempotent: the same files change nothing in the index either
    assert services.generation() == before
