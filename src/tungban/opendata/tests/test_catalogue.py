"""The departmental data catalogue (部門數據目錄; seed 002 ITIB156): its services and staff pages.
Roles: another department's officer reads and searches but changes nothing; a data officer
cannot approve; personal or classified data is not proposed as open data; bad attribute lines
are refused in both languages with nothing stored; the dashboard's figures are the rows'."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from tungban.core.errors import DomainError
from tungban.exchange import catalogue as exchange_catalogue
from tungban.opendata import errors
from tungban.opendata.constants import Classification, DatasetState, Disposition, Role
from tungban.opendata.models import CatalogueEntry, DataOfficer, Dataset, Organization
from tungban.opendata.services import catalogue, publishing
from tungban.testing.factories import login_staff, staff_user

from .conftest import make_published

pytestmark = pytest.mark.django_db

ATTRS = "district | string | District | 地區\ncount | integer | Vehicles counted | 車輛數目\n"


def values(**over):
    v = dict(
        title_en="Traffic counts",
        title_zh="交通流量",
        data_type="time_series",
        scope_en="Vehicles counted at each station, daily since 2001.",
        scope_zh="自2001年起各站每日點算的車輛數目。",
        attributes=ATTRS,
        classification=Classification.UNCLASSIFIED,
        personal_data=False,
        owner="Traffic Survey Section",
        update_frequency="daily",
        sharing_conditions_en="Open to every department.",
        sharing_conditions_zh="所有部門均可使用。",
    )
    v.update(over)
    return v


@pytest.fixture
def other_org(db):
    return Organization.objects.create(
        name="hk-epd", title_en="Environmental Protection Department", title_zh="環境保護署", department_code="EPD"
    )


@pytest.fixture
def other_officer(other_org):
    user = staff_user("none", username="epd-data-officer")
    DataOfficer.objects.create(user=user, organization=other_org, role=Role.DATA_OFFICER)
    return user


@pytest.fixture
def entry(officer, org):
    return catalogue.create_entry(officer, org, **values())


# --- services ----------------------------------------------------------------------------------


def test_attributes_are_parsed_from_lines():
    parsed = catalogue.parse_attributes("\n  a | String | A | 甲 \n\nb_2|integer|B|乙\n")
    assert parsed == [
        {"name": "a", "type": "string", "description_en": "A", "description_zh": "甲"},
        {"name": "b_2", "type": "integer", "description_en": "B", "description_zh": "乙"},
    ]
    assert catalogue.parse_attributes(catalogue.format_attributes(parsed)) == parsed


@pytest.mark.parametrize(
    "text, code, en, zh",
    [
        ("", "attributes_required", "at least one attribute", "至少列出一項屬性"),
        ("a | string | A | 甲\nb | string | B", "attribute_line", "Line 2", "第2行"),
        ("2a | string | A | 甲", "attribute_name", "“2a” is not a field name", "“2a”不是有效的欄位名稱"),
        ("a | text | A | 甲", "attribute_type", "“text” is not a field type", "“text”不是欄位類型"),
        ("a | string | A | ", "attribute_description", "describe the field “a”", "以英文及中文說明欄位“a”"),
        ("a | string | A | 甲\nA | date | B | 乙", "attribute_duplicate", "listed twice", "重複列出"),
    ],
)
def test_bad_attribute_lines_are_refused_in_both_languages_and_nothing_stored(officer, org, text, code, en, zh):
    for lang, expected in (("en", en), ("zh-hant", zh)):
        with translation.override(lang):
            with pytest.raises(DomainError) as exc:
                catalogue.create_entry(officer, org, **values(attributes=text))
            message = str(exc.value.message)  # in the language of the request
        assert exc.value.code == code and exc.value.field == "attributes"
        assert expected in message, (lang, message)
    assert not CatalogueEntry.objects.exists()


def test_another_department_edits_nothing(entry, other_officer):
    with pytest.raises(errors.NotDataOfficer):
        catalogue.update_entry(other_officer, entry, **values(title_en="Changed"))
    for action in (
        lambda: catalogue.approve_entry(other_officer, entry),
        lambda: catalogue.propose_open(other_officer, entry, name="traffic-counts"),
        lambda: catalogue.keep_internal(other_officer, entry, reason_en="x", reason_zh="乙"),
        lambda: catalogue.offer_exchange(other_officer, entry, "ird.tax-return-status.v1"),
    ):
        with pytest.raises((errors.NotDataOfficer, errors.UnknownProduct)):
            action()
    entry.refresh_from_db()
    assert entry.title_en == "Traffic counts" and entry.disposition == Disposition.CATALOGUED
    assert entry.ddo_approved_at is None and not Dataset.objects.exists()
    # ... but finds it: the catalogue is searched across departments.
    assert list(catalogue.search("車輛")) == [entry]
    assert list(catalogue.search("vehicles", organization="hk-td")) == [entry]
    assert not catalogue.search("vehicles", organization="hk-epd").exists()


def test_a_data_officer_cannot_approve_and_the_ddo_can(entry, officer, ddo):
    with pytest.raises(errors.NotDDO):
        catalogue.approve_entry(officer, entry)
    entry.refresh_from_db()
    assert entry.ddo_approved_at is None
    catalogue.approve_entry(ddo, entry)
    entry.refresh_from_db()
    assert entry.ddo_approved_at and entry.ddo_approved_by == ddo
    # A change withdraws the approval; saving the same values keeps it.
    catalogue.update_entry(officer, entry, **values())
    entry.refresh_from_db()
    assert entry.ddo_approved_at
    catalogue.update_entry(officer, entry, **values(owner="Another section"))
    entry.refresh_from_db()
    assert entry.ddo_approved_at is None and entry.owner == "Another section"


@pytest.mark.parametrize(
    "over, error",
    [
        ({"personal_data": True}, errors.PersonalDataNotOpened),
        ({"classification": Classification.RESTRICTED}, errors.ClassifiedNotOpened),
    ],
)
def test_personal_or_classified_data_is_not_proposed_as_open_data(officer, org, groups, over, error):
    e = catalogue.create_entry(officer, org, **values(**over))
    with pytest.raises(error):
        catalogue.propose_open(officer, e, name="traffic-counts", groups=["transport"])
    e.refresh_from_db()
    assert e.disposition == Disposition.CATALOGUED and e.dataset is None
    assert not Dataset.objects.exists()


def test_proposed_entry_is_open_once_the_ddo_approves_its_dataset(entry, officer, ddo, groups):
    from tungban.opendata.services import versions

    from .conftest import CSV, SCHEMA

    ds = catalogue.propose_open(officer, entry, name="traffic-counts", groups=["transport"])
    entry.refresh_from_db()
    assert ds.state == DatasetState.DRAFT and ds.title_zh == "交通流量" and ds.notes_en == entry.scope_en
    assert catalogue.disposition_of(entry) == Disposition.PROPOSED_OPEN
    assert catalogue.entry(entry.pk).state == Disposition.PROPOSED_OPEN
    with pytest.raises(errors.AlreadyOpen):
        catalogue.propose_open(officer, entry, name="traffic-counts-2")
    res = publishing.add_resource(officer, ds, name_en="Counts", name_zh="流量", filename="c.csv", table_schema=SCHEMA)
    versions.add_version(officer, res, CSV)
    publishing.approve(ddo, publishing.submit(officer, ds).pk)
    entry.refresh_from_db()
    assert catalogue.disposition_of(entry) == Disposition.OPEN
    assert catalogue.entry(entry.pk).state == Disposition.OPEN
    assert list(catalogue.search(disposition=Disposition.OPEN)) == [entry]


def test_offer_through_the_exchange_checks_the_product(officer, org, other_officer, other_org):
    exchange_catalogue.register_bundled({})
    ird = Organization.objects.create(
        name="hk-ird", title_en="Inland Revenue Department", title_zh="稅務局", department_code="IRD"
    )
    DataOfficer.objects.create(user=officer, organization=ird, role=Role.DATA_OFFICER)
    e = catalogue.create_entry(officer, ird, **values(personal_data=True))
    with pytest.raises(errors.UnknownProduct):
        catalogue.offer_exchange(officer, e, "ird.no-such-product.v1")
    with pytest.raises(errors.ProductOfAnotherProvider):
        catalogue.offer_exchange(officer, e, "wsd.water-bill.v1")
    e.refresh_from_db()
    assert e.disposition == Disposition.CATALOGUED and not e.product_id
    catalogue.offer_exchange(officer, e, "ird.tax-return-status.v1")
    e.refresh_from_db()
    assert e.disposition == Disposition.EXCHANGE and e.product_id == "ird.tax-return-status.v1"
    assert [p.id for p in catalogue.exchange_products(ird)] == [
        "ird.business-tax-status.v1",
        "ird.tax-return-status.v1",
    ]


def test_keep_internal_needs_a_reason_in_both_languages(entry, officer):
    with pytest.raises(errors.ReasonRequired):
        catalogue.keep_internal(officer, entry, reason_en="Operational data", reason_zh=" ")
    entry.refresh_from_db()
    assert entry.disposition == Disposition.CATALOGUED
    catalogue.keep_internal(officer, entry, reason_en="Operational data", reason_zh="運作數據")
    entry.refresh_from_db()
    assert (entry.disposition, entry.reason_zh) == (Disposition.INTERNAL, "運作數據")


def test_progress_figures_are_the_rows(officer, ddo, org, other_org, other_officer, groups):
    make_published(officer, ddo, org)  # one published dataset of hk-td
    a = catalogue.create_entry(officer, org, **values())
    b = catalogue.create_entry(officer, org, **values(title_en="Licences", personal_data=True))
    catalogue.create_entry(other_officer, other_org, **values(title_en="Air"))
    catalogue.approve_entry(ddo, a)
    catalogue.keep_internal(officer, b, reason_en="Personal data", reason_zh="個人資料")
    CatalogueEntry.objects.filter(pk=a.pk).update(dataset=Dataset.objects.get(), disposition=Disposition.PROPOSED_OPEN)
    rows = {p.organization.name: p for p in catalogue.progress()}
    # Recomputed from the rows themselves.
    for name, p in rows.items():
        mine = catalogue.with_disposition().filter(organization__name=name)
        assert p.entries == mine.count()
        assert p.approved == mine.filter(ddo_approved_at__isnull=False).count()
        assert p.entries_pending == mine.filter(ddo_approved_at__isnull=True).count()
        for d in Disposition.values:
            assert p.by_disposition[d] == mine.filter(state=d).count()
        assert (
            p.datasets_published == Dataset.objects.filter(organization__name=name, state=DatasetState.ACTIVE).count()
        )
    td = rows["hk-td"]
    assert (td.entries, td.approved, td.by_disposition[Disposition.OPEN], td.by_disposition[Disposition.INTERNAL]) == (
        2,
        1,
        1,
        1,
    )
    assert td.open_share == 0.5 and td.datasets_published == 1 and td.submissions_pending == 0
    assert rows["hk-epd"].open_share == 0


# --- pages -------------------------------------------------------------------------------------


def test_pages_let_in_data_officers_only(client, entry):
    login_staff(client, staff_user("counter_officer"))
    for url in (
        reverse("opendata_catalogue:index"),
        reverse("opendata_catalogue:progress"),
        reverse("opendata_catalogue:entry", args=[entry.pk]),
    ):
        assert client.get(url).status_code == 403


def test_another_departments_officer_reads_but_cannot_change(client, entry, other_officer):
    login_staff(client, other_officer)
    resp = client.get(reverse("opendata_catalogue:index"), {"q": "車輛"})
    assert resp.status_code == 200 and f'data-entry="{entry.pk}"' in resp.content.decode()
    resp = client.get(reverse("opendata_catalogue:entry", args=[entry.pk]))
    assert resp.status_code == 200 and 'id="edit-entry"' not in resp.content.decode()
    for name in ("edit", "propose", "offer", "internal"):
        assert client.get(reverse(f"opendata_catalogue:{name}", args=[entry.pk])).status_code == 403
    data = values(title_en="Changed") | {"reason_en": "x", "reason_zh": "乙", "name": "x-y"}
    for name in ("edit", "approve", "propose", "internal"):
        assert client.post(reverse(f"opendata_catalogue:{name}", args=[entry.pk]), data).status_code == 403
    entry.refresh_from_db()
    assert (
        entry.title_en == "Traffic counts"
        and entry.ddo_approved_at is None
        and entry.disposition == Disposition.CATALOGUED
    )


def test_data_officer_creates_an_entry_and_cannot_approve_it(client, officer, ddo, org):
    login_staff(client, officer)
    resp = client.post(reverse("opendata_catalogue:new"), values() | {"organization": "hk-td"})
    assert resp.status_code == 302
    e = CatalogueEntry.objects.get()
    assert e.attributes[1]["description_zh"] == "車輛數目" and e.organization == org
    page = client.get(resp["Location"]).content.decode()
    assert 'id="approve-entry"' not in page
    assert client.post(reverse("opendata_catalogue:approve", args=[e.pk])).status_code == 403
    e.refresh_from_db()
    assert e.ddo_approved_at is None
    login_staff(client, ddo)
    assert 'id="approve-entry"' in client.get(reverse("opendata_catalogue:entry", args=[e.pk])).content.decode()
    assert client.post(reverse("opendata_catalogue:approve", args=[e.pk])).status_code == 302
    e.refresh_from_db()
    assert e.ddo_approved_by == ddo


@pytest.mark.parametrize("lang, text", [("en", "Line 2: write four parts"), ("zh-hant", "第2行")])
def test_bad_attributes_on_the_page_in_the_users_language(client, officer, org, lang, text):
    login_staff(client, officer)
    client.cookies["django_language"] = lang
    resp = client.post(
        reverse("opendata_catalogue:new"),
        values(attributes="a | string | A | 甲\nbroken line") | {"organization": "hk-td"},
        HTTP_ACCEPT_LANGUAGE=lang,
    )
    assert resp.status_code == 400
    assert text in resp.content.decode()
    assert not CatalogueEntry.objects.exists()


def test_personal_data_entry_cannot_be_proposed_on_the_page(client, officer, org, groups):
    e = catalogue.create_entry(officer, org, **values(personal_data=True))
    login_staff(client, officer)
    resp = client.post(
        reverse("opendata_catalogue:propose", args=[e.pk]), {"name": "traffic-counts", "groups": ["transport"]}
    )
    assert resp.status_code == 400 and "此數據載有個人資料，不會以開放數據形式開放" in resp.content.decode()
    assert not Dataset.objects.exists()
    resp = client.post(reverse("opendata_catalogue:internal", args=[e.pk]), {"reason_en": "PDPO", "reason_zh": "私隱"})
    assert resp.status_code == 302
    e.refresh_from_db()
    assert e.disposition == Disposition.INTERNAL


def test_progress_page_shows_every_department(client, officer, other_org, entry):
    login_staff(client, officer)
    page = client.get(reverse("opendata_catalogue:progress")).content.decode()
    assert 'data-organization="hk-td"' in page and 'data-organization="hk-epd"' in page
    assert '<td data-col="entries">1</td>' in page


def test_progress_chart_is_an_svg_without_script(client, officer, entry):
    login_staff(client, officer)
    resp = client.get(reverse("opendata_catalogue:progress-svg"), HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 200 and resp["Content-Type"] == "image/svg+xml"
    svg = resp.content.decode()
    assert "Transport Department" in svg and "<script" not in svg
