"""The public catalogue (issue 17, "Catalogue"; es-cat): the shipped catalogue files (at least
30 services from at least 8 departments, all valid), the pages ``/services/`` and
``/services/<slug>/`` in both languages, filters, search in either language (Chinese
substrings included), pagination with a bounded number of queries whatever the catalogue's
size, and the JSON API with its documented errors and strong ETags."""

from __future__ import annotations

import shutil

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tungban.eservices import services
from tungban.eservices.models import Department, Service
from tungban.eservices.services import browse, fees

API = "/api/v1/eservices/catalogue"
WORKING = {
    "senior-citizen-card",
    "fire-service-installation-certificate",
    "temporary-hawker-licence",
    "certificate-of-resident-status-company",
    "ai-subsidy-scheme",  # Cyberport, for the AI Subsidy Scheme (issue 20)
}


def _lang(client, lang):
    client.cookies["tungban_language"] = "zh-hant" if lang == "zh" else "en"


def _slugs(response) -> list[str]:
    return [item["slug"] for item in response.json()["items"]]


def _synthetic(n: int, department: str = "TD") -> None:
    """``n`` more listed services (rows, as the bench's files would load them)."""
    Service.objects.bulk_create(
        Service(
            slug=f"synthetic-{i:04d}",
            department_id=department,
            name_en=f"Synthetic service {i}",
            name_zh=f"合成服務{i}",
            summary_en="For counting queries.",
            summary_zh="用於計算查詢。",
            category="transport",
            channels=["counter"],
            external_url="https://www.td.gov.hk",
            gba_cities=["Shenzhen"] if i % 2 else [],
            source_path=f"services/td/synthetic-{i:04d}.toml",
            source_digest="0" * 64,
        )
        for i in range(n)
    )


# --- the files ---
def test_the_shipped_files_are_valid_with_30_services_from_8_departments(catalogue):
    departments, files, _versions, problems = services.read_catalogue(services.DEFAULT_ROOT)
    assert problems == []
    assert len(files) >= 30 and len({f["department"] for f in files}) >= 8
    loaded = Service.objects.filter(listed=True)
    assert loaded.count() == len(files) and Department.objects.count() == len(departments)
    assert set(loaded.filter(online=True).values_list("slug", flat=True)) == WORKING
    for svc in loaded.exclude(slug__in=WORKING):
        # honestly marked: not online here, with the department's page and its channels
        assert svc.online is False and svc.form_id is None and svc.external_url.startswith("https://"), svc.slug
        assert svc.channels, svc.slug
    business = loaded.filter(category__in=["business", "business-licences"])
    assert business.exists() and not business.filter(corpid="no").exists()  # the seeds: business e-services take CorpID
    assert loaded.filter(kiosk=True).exists() and loaded.exclude(gba_cities=[]).exists()
    passport = loaded.get(slug="hksar-passport")
    assert passport.department_id == "IMMD" and passport.kiosk and "Shenzhen" in passport.gba_cities
    assert [f["amount_cents"] for f in fees.fee_rows(passport)] == [46000, 37000]


def test_loading_records_the_revision_and_a_changed_file_changes_it(catalogue, tmp_path):
    first = browse.revision()
    assert first == browse.compute_revision()
    root = tmp_path / "catalogue"
    shutil.copytree(services.DEFAULT_ROOT, root)
    path = root / "services" / "td" / "international-driving-permit.toml"
    path.write_text(path.read_text().replace("valid for one year", "valid for twelve months"))
    services.load_catalogue(root)
    assert browse.revision() != first
    assert "twelve months" in Service.objects.get(slug="international-driving-permit").summary_en


# --- the pages ---
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_catalogue_page_lists_services_with_their_badges_in_the_pages_language(client, catalogue, lang):
    _lang(client, lang)
    response = client.get("/services/", {"department": "SWD"})
    assert response.status_code == 200
    html = response.content.decode()
    if lang == "zh":
        assert "電子服務目錄" in html and "社會福利署" in html and "申請長者咭" in html
    else:
        assert "e-Services catalogue" in html and "Senior Citizen Card application" in html
    assert 'data-slug="senior-citizen-card"' in html


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("護照", {"hksar-passport"}),  # a Chinese substring, no word boundaries
        ("特別行政區", {"hksar-passport"}),
        ("PASSPORT", {"hksar-passport"}),  # case-insensitive
        ("ｐａｓｓｐｏｒｔ", {"hksar-passport"}),  # full-width letters (NFKC)
        ("driving licence", {"driving-licence-renewal", "international-driving-permit"}),  # every word
        ("長者咭", {"senior-citizen-card"}),
        ("%", set()),  # LIKE wildcards are searched for, not expanded
    ],
)
def test_search_by_name_in_either_language(client, catalogue, q, expected):
    response = client.get(f"{API}/services", {"q": q, "per_page": 100})
    assert response.status_code == 200
    assert set(_slugs(response)) == expected
    page = client.get("/services/", {"q": q}).content.decode()
    for slug in expected:
        assert f'data-slug="{slug}"' in page


def test_filters_online_cross_boundary_corpid_department_and_category(client, catalogue):
    def slugs(**params):
        return set(_slugs(client.get(f"{API}/services", {"per_page": 100, **params})))

    assert slugs(online="true") == WORKING
    cross = slugs(cross_boundary="true")
    assert cross and all(Service.objects.get(slug=s).cross_boundary for s in cross)
    assert cross == {s.slug for s in Service.objects.all() if s.cross_boundary}
    corp = slugs(corpid="true")
    assert corp == set(Service.objects.exclude(corpid="no").values_list("slug", flat=True))
    assert slugs(department="td") == set(Service.objects.filter(department_id="TD").values_list("slug", flat=True))
    assert slugs(category="tax", cross_boundary="true") == {"salaries-tax-return", "certificate-of-resident-status"}
    assert slugs(online="true", corpid="true") == {
        "fire-service-installation-certificate",
        "temporary-hawker-licence",
        "certificate-of-resident-status-company",
        "ai-subsidy-scheme",
    }
    page = client.get("/services/", {"online": "1"}).content.decode()
    assert page.count('class="service-item"') == len(WORKING)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_an_unknown_department_is_said_on_the_page_and_in_the_api(client, catalogue, lang):
    _lang(client, lang)
    page = client.get("/services/", {"department": "NOPE"})
    assert page.status_code == 400
    text = page.content.decode()
    assert ("目錄中沒有部門或類別 NOPE" if lang == "zh" else "The catalogue has no department or category NOPE") in text
    response = client.get(f"{API}/services", {"department": "NOPE"})
    assert response.status_code == 422
    assert response.json()["error"] == "catalogue_filter_unknown" and response.json()["field"] == "department"
    too_long = client.get(f"{API}/services", {"q": "x" * 101})
    assert too_long.status_code == 422 and too_long.json()["error"] == "catalogue_query_too_long"
    bad = client.get(f"{API}/services", {"per_page": 1000})
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_request"


def test_pages_of_results_and_the_same_number_of_queries_for_10_or_200_services(client, catalogue):
    def queries(url, params):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url, params)
        assert response.status_code == 200
        return len(ctx.captured_queries), response

    small_page, _ = queries("/services/", {"department": "TD"})
    small_api, _ = queries(f"{API}/services", {"department": "TD"})
    _synthetic(200)
    big_page, response = queries("/services/", {"department": "TD", "page": 3})
    big_api, api = queries(f"{API}/services", {"department": "TD", "page": 3})
    assert (big_page, big_api) == (small_page, small_api)  # no query per service
    assert big_page <= 8 and big_api <= 6
    body = api.json()
    assert body["total"] == 204 and body["pages"] == 11 and len(body["items"]) == 20
    html = response.content.decode()
    assert html.count('class="service-item"') == 20 and 'rel="next"' in html and 'rel="prev"' in html
    last = client.get(f"{API}/services", {"department": "TD", "page": 99}).json()
    assert last["items"] == [] and last["total"] == 204


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_working_service_page_offers_apply_online(client, catalogue, lang):
    _lang(client, lang)
    html = client.get("/services/senior-citizen-card/").content.decode()
    assert 'href="/services/senior-citizen-card/apply"' in html and 'id="apply-online"' in html
    assert ("10 個工作天" if lang == "zh" else "10 working days") in html
    # the form's upload field is a document needed
    assert ("近照" if lang == "zh" else "recent photo") in html.lower()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_service_not_online_here_says_how_to_apply(client, catalogue, lang):
    _lang(client, lang)
    html = client.get("/services/driving-licence-renewal/").content.decode()
    assert 'id="apply-online"' not in html and 'href="https://www.td.gov.hk"' in html
    assert "HK$900" in html
    if lang == "zh":
        assert "續領正式駕駛執照" in html and "親臨櫃位" in html and "深圳" in html and "香港身份證" in html
    else:
        assert "In person at a counter" in html and "Shenzhen" in html and "Hong Kong Identity Card" in html


def test_a_withdrawn_or_unknown_service_is_not_found(client, catalogue):
    Service.objects.filter(slug="library-card").update(listed=False)
    assert client.get("/services/library-card/").status_code == 404
    assert client.get("/services/no-such-service/").status_code == 404
    response = client.get(f"{API}/services/library-card")
    assert response.status_code == 404 and response.json()["error"] == "service_unknown"
    assert "library-card" not in _slugs(client.get(f"{API}/services", {"per_page": 100}))


# --- the API ---
def test_one_service_carries_its_current_form_version(client, catalogue):
    body = client.get(f"{API}/services/fire-service-installation-certificate").json()
    svc = Service.objects.get(slug="fire-service-installation-certificate")
    version = svc.form.current_version()
    assert body["form"]["version"] == version.number and body["form"]["digest"] == version.digest
    assert body["form"]["answers_schema"] == version.schema and body["form"]["layout"] == version.layout
    assert body["apply_url"].endswith("/services/fire-service-installation-certificate/apply")
    assert body["department"] == "FSD" and body["fee_items"][0]["amount_cents"] == 0  # free (fee schedule)
    offline = client.get(f"{API}/services/company-search").json()
    assert offline["form"] is None and offline["apply_url"] is None and offline["corpid"] == "allowed"


def test_departments_and_categories_with_their_counts(client, catalogue):
    departments = {d["code"]: d for d in client.get(f"{API}/departments").json()}
    assert len(departments) >= 8
    assert departments["TD"]["services"] == Service.objects.filter(department_id="TD").count()
    assert departments["IMMD"]["name_zh"] == "入境事務處"
    categories = {c["code"]: c for c in client.get(f"{API}/categories").json()}
    assert categories["tax"]["label_zh"] == "稅務" and categories["tax"]["services"] == 3


def test_strong_etags_answer_304_until_the_files_are_loaded_again(client, catalogue, tmp_path):
    urls = [
        (f"{API}/services", {"q": "licence"}),
        (f"{API}/services/senior-citizen-card", {}),
        (f"{API}/departments", {}),
        (f"{API}/categories", {}),
    ]
    tags = {}
    for url, params in urls:
        response = client.get(url, params)
        tag = response["ETag"]
        assert tag.startswith('"') and not tag.startswith("W/") and "public" in response["Cache-Control"]
        again = client.get(url, params, headers={"If-None-Match": tag})
        assert again.status_code == 304 and again.content == b"" and again["ETag"] == tag
        tags[url] = tag
    other = client.get(f"{API}/services", {"q": "passport"})["ETag"]
    assert other != tags[f"{API}/services"]  # another query, another representation
    root = tmp_path / "catalogue"
    shutil.copytree(services.DEFAULT_ROOT, root)
    path = root / "services" / "lcsd" / "library-card.toml"
    path.write_text(path.read_text().replace("borrow with", "borrow books with"))
    services.load_catalogue(root)
    for url, params in urls:
        response = client.get(url, params, headers={"If-None-Match": tags[url]})
        assert response.status_code == 200 and response["ETag"] != tags[url]


def test_the_openapi_document_describes_the_catalogue(client):
    doc = client.get("/api/v1/openapi.json").json()
    listing = doc["paths"][f"{API}/services"]["get"]
    assert {"200", "304", "422"} <= set(listing["responses"])
    assert {p["name"] for p in listing["parameters"]} >= {"q", "department", "online", "cross_boundary", "corpid"}
    assert "404" in doc["paths"][f"{API}/services/{{slug}}"]["get"]["responses"]
    tag = next(t for t in doc["tags"] if t["name"] == "eservices catalogue")
    assert {"catalogue_filter_unknown", "catalogue_query_too_long", "service_unknown"} <= {
        c["code"] for c in tag["x-error-codes"]
    }


def test_corpid_has_one_chinese_term_the_seeds_one():
    """CorpID is 「數碼企業身份」 (the seed: 「數碼企業身份」平台) everywhere, never 企業數碼身份."""
    from pathlib import Path

    from django.utils import translation

    import tungban

    with translation.override("zh-hant"):
        assert translation.gettext("CorpID") == "數碼企業身份"
    root = Path(tungban.__file__).resolve().parent
    texts = [root / "locale/zh_Hant/LC_MESSAGES/django.po", *root.rglob("*.html"), *root.rglob("*.toml")]
    assert [str(p) for p in texts if "企業數碼身份" in p.read_text(encoding="utf-8")] == []
