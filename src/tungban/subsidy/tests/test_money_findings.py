"""The money and terms findings of the review of issue 20 (branch tmoney): unreadable numbers,
English inside Chinese errors, the rate's precision, the price's range, offers that lapse, and
who may pay the co-payment. Each test names the seed paragraph of the rule it checks."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from tungban.core import retention
from tungban.core.errors import DomainError
from tungban.subsidy import errors, rules
from tungban.subsidy.constants import AwardState, FundingLine
from tungban.subsidy.models import AwardEvent, EntryKind, LedgerEntry, PriceVersion, ServiceClass
from tungban.subsidy.services import awards, capacity, funds

from .conftest import make_application, terms
from .rulebook import covers

JAN = dt.date(2025, 1, 1)
UNREADABLE = [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity")]


def _refused(application, t, code) -> DomainError:
    with pytest.raises(DomainError) as e:
        awards.check_terms(application, t)
    assert e.value.code == code, (e.value.code, str(e.value.message))
    return e.value


# 1 — unreadable numbers are documented errors of the service itself
@pytest.mark.parametrize("value", UNREADABLE)
def test_seed000_s13_s14_check_terms_refuses_non_finite_rate_and_price(application, value):
    """Seed 000 §13 (the rate) and §14 (the price): NaN, sNaN and infinities are ``rate_invalid``
    / ``price_invalid``, never an ArithmeticError or a stored Infinity."""
    _refused(application, terms(rate=value), "rate_invalid")
    _refused(application, terms(price=value), "price_invalid")
    with pytest.raises(DomainError) as e:
        awards.make_award(application, terms(price=value), decided_at=timezone.now(), actor="c")
    assert e.value.code == "price_invalid"
    assert not LedgerEntry.objects.filter(kind=EntryKind.COMMITMENT).exists()


@pytest.mark.parametrize("field", ["price", "rate"])
@pytest.mark.parametrize("text", ["NaN", "sNaN", "Infinity", "-inf"])
def test_seed000_s13_terms_from_dict_refuses_non_finite_numbers(field, text):
    """Seed 000 §13/§14: a terms dict with a non-finite price or rate is its field's error."""
    d = awards.terms_to_dict(terms()) | {field: text}
    with pytest.raises(DomainError) as e:
        awards.terms_from_dict(d)
    assert e.value.code == f"{field}_invalid"


def test_seed000_s13_check_rate_refuses_nan():
    """Seed 000 §13: ``rules.check_rate`` refuses NaN as ``rate_invalid`` (it compared before)."""
    with pytest.raises(rules.RuleError) as e:
        rules.check_rate(Decimal("NaN"), exceptional=False)
    assert e.value.code == "rate_invalid"


# 3 — the stored rate is the rate of the money
def test_seed000_s13_the_stored_rate_is_the_rate_the_money_was_computed_with(application):
    """Seed 000 §13 (the subsidy is a share of the price): the rate is rounded once, half to
    even, to the 3 decimals ``Award.rate`` keeps, before any money is computed."""
    award = awards.make_award(application, terms(rate=Decimal("0.6996")), decided_at=timezone.now(), actor="c")
    award.refresh_from_db()
    assert award.rate == Decimal("0.700")
    recomputed = sum(rules.month_money(m.nodes, award.price, award.rate)[0] for m in award.months.all())
    assert recomputed == award.subsidy_cap == Decimal("5376000.00")  # 24 × 320,000 × 70%
    assert LedgerEntry.objects.get(award=award, kind=EntryKind.COMMITMENT).amount == award.subsidy_cap


def test_seed000_s13_rate_rounding_is_half_to_even():
    """Seed 000 §13: 0.6965 → 0.696 and 0.6975 → 0.698 (half to even); NaN is refused."""
    assert rules.quantize_rate(Decimal("0.6965")) == Decimal("0.696")
    assert rules.quantize_rate(Decimal("0.6975")) == Decimal("0.698")
    with pytest.raises(rules.RuleError):
        rules.quantize_rate(Decimal("NaN"))


# 4 — the price lies within the class's range in the price book
@covers("R23")
def test_seed000_s14_itib229_a_price_above_the_list_price_is_refused(application):
    """Seed 000 §14 and seed 002 ITIB229: the negotiated price lies within the class's range, at
    most the list price of HK$320,000 per node-month; the message shows the range."""
    err = _refused(application, terms(price=Decimal("3200000"), rate=Decimal("0.01")), "price_out_of_range")
    assert "320,000.00" in str(err.message) and "0.00" in str(err.message)
    with translation.override("zh-hant"):
        err = _refused(application, terms(price=Decimal("320000.01")), "price_out_of_range")
    assert "價格範圍" in str(err.message) and "320,000.00" in str(err.message)
    awards.check_terms(application, terms(price=Decimal("320000")))  # the list price itself is in range


@covers("R23")
def test_seed000_s14_the_range_floor_of_the_price_version_in_force(application):
    """Seed 000 §14 (price ranges per class of service): below the version's ``min_price`` is
    refused; the version in force on the decision's day counts."""
    PriceVersion.objects.filter(service_class=application.service_class).update(min_price=Decimal("200000"))
    _refused(application, terms(price=Decimal("199999.99")), "price_out_of_range")
    awards.check_terms(application, terms(price=Decimal("200000")))


# 2 — no English inside Chinese errors, no Chinese inside English ones
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def english_words(text: str) -> list[str]:
    """Words with a lower-case Latin letter (codes such as ITIB153, YYYY-MM, HK$ are allowed)."""
    return [w for w in re.findall(r"[A-Za-z][A-Za-z'-]*", text) if any(c.islower() for c in w)]


def _bad_inputs(application):
    """Every DomainError the subsidy engine raises for a bad input of the terms (seed 000 §13,
    §14, §10, §16, fn 6; seed 002 ITIB153), and the state refusals with their actions."""
    feb, mar, may = dt.date(2025, 2, 1), dt.date(2025, 3, 1), dt.date(2025, 5, 1)
    cases = {
        "price_invalid": terms(price=Decimal("-1")),
        "price_out_of_range": terms(price=Decimal("999999")),
        "rate_invalid": terms(rate=Decimal("NaN")),
        "rate_above_exceptional_ceiling": terms(rate=Decimal("0.95"), exceptional=True),
        "rate_needs_exceptional_decision": terms(rate=Decimal("0.80")),
        "exceptional_reasons_required": terms(rate=Decimal("0.80"), exceptional=True),
        "schedule_invalid": terms(schedule={JAN: 8, mar: 8}),
        "schedule_outside_request": terms(schedule={JAN: 8, feb: 8, mar: 9}),
    }
    for code, t in cases.items():
        with pytest.raises(DomainError) as e:
            awards.check_terms(application, t)
        assert e.value.code == code
        yield e.value
    for schedule in ({}, {JAN: 0}, {add: 1 for add in rules.months_between(JAN, dt.date(2026, 1, 1))}):
        with pytest.raises(DomainError) as e:
            awards.check_terms(application, terms(schedule=schedule))
        assert e.value.code in ("schedule_invalid", "schedule_outside_request")
        yield e.value
    with pytest.raises(DomainError) as e:
        awards.terms_from_dict({"schedule": {"January": "x"}, "price": "1", "rate": "0.5"})
    yield e.value
    far = make_application("AISS-LANG", months={may: 500})
    with pytest.raises(DomainError) as e:
        awards.check_terms(far, terms(schedule={may: 500}))
    assert e.value.code == "capacity_exceeded"
    yield e.value
    with pytest.raises(DomainError) as e:
        awards.end_award(awards.make_award(application, terms(), decided_at=timezone.now(), actor="c"), "x",
                         reason_en="r", reason_zh="理", actor="c")  # fmt: skip
    assert e.value.code == "award_state"
    yield e.value
    with pytest.raises(DomainError) as e:
        funds.release("2024-25", FundingLine.COMPUTE, actor="dpo")  # released already
    assert e.value.code == "release_state"
    yield e.value


@pytest.mark.parametrize("lang", ["zh-hant", "en"])
def test_seed000_s13_every_engine_error_is_in_one_language(application, lang):
    """Seed 000 §13/§14/§10/§16, seed 002 ITIB153: each refusal of the subsidy engine reads in
    the page's language alone — no English word in Chinese (codes, numbers and HK$ allowed),
    no Chinese in English."""
    with translation.override(lang):
        messages = [str(e.message) for e in _bad_inputs(application)]
    assert len(messages) >= 14
    for text in messages:
        if lang == "en":
            assert not CJK.search(text), text
        else:
            assert not english_words(text), text


@pytest.mark.parametrize("lang", ["zh-hant", "en"])
def test_the_interpolated_words_are_translated(lang):
    """Every action and schedule problem interpolated into a message has its own translation."""
    with translation.override(lang):
        words = [str(w) for w in [*errors.ACTIONS.values(), *errors.SCHEDULE_PROBLEMS.values()]]
    for w in words:
        assert (not english_words(w)) if lang != "en" else (not CJK.search(w)), w


# 5 — offers lapse
def test_seed000_s16_s10_an_unsigned_offer_lapses_and_frees_budget_and_capacity(application, director, settings):
    """Seed 000 §16 (commitments within the year's release) and §10 (the capacity cap): an offer
    not signed by its last day (``TUNGBAN_SUBSIDY_OFFER_DAYS`` after the decision) lapses in the
    worker's sweep — reversing ledger entries, capacity freed, an event — and the freed nodes
    and money can be awarded to another application; signing it later is ``offer_lapsed``."""
    settings.TUNGBAN_SUBSIDY_OFFER_DAYS = 10
    sc = ServiceClass.objects.get(code="h800")
    decided = timezone.now()
    award = awards.make_award(application, terms(), decided_at=decided, actor="chair")
    assert award.offer_expires_on == timezone.localdate(decided) + dt.timedelta(days=10)
    held = capacity.remaining(sc, [JAN])[JAN]["committed_subsidised"]
    headroom = funds.headroom("2024-25")
    assert awards.lapse_offers(decided + dt.timedelta(days=10)) == {"subsidy.Award (lapsed offers)": 0}
    assert "subsidy.offers" in retention.registered()
    assert retention.registered()["subsidy.offers"] is awards.lapse_offers
    assert awards.lapse_offers(decided + dt.timedelta(days=11)) == {"subsidy.Award (lapsed offers)": 1}
    award.refresh_from_db()
    assert award.state == AwardState.LAPSED
    entries = list(LedgerEntry.objects.filter(award=award).values_list("kind", "amount"))
    assert sorted(entries) == sorted(
        [(EntryKind.COMMITMENT, award.subsidy_cap), (EntryKind.DECOMMITMENT, award.subsidy_cap)]
    )
    assert funds.headroom("2024-25") == headroom + award.subsidy_cap
    assert capacity.remaining(sc, [JAN])[JAN]["committed_subsidised"] == held - 8
    assert list(AwardEvent.objects.filter(award=award).values_list("action", flat=True)) == ["offered", "lapsed"]
    assert awards.lapse_offers(decided + dt.timedelta(days=12))["subsidy.Award (lapsed offers)"] == 0  # once
    with pytest.raises(DomainError) as e:
        awards.sign_agreement(award, director, award.application.br_number)
    assert e.value.code == "offer_lapsed" and award.offer_expires_on.isoformat() in str(e.value.message)
    # what it held can be committed to another award
    free = capacity.remaining(sc, [JAN])[JAN]["free_subsidised"]
    other = make_application("AISS-0099", months={JAN: free})
    again = awards.make_award(other, terms(schedule={JAN: free}), decided_at=timezone.now(), actor="chair")
    assert capacity.remaining(sc, [JAN])[JAN]["free_subsidised"] == 0 and again.state == AwardState.OFFERED


def test_seed000_s21_signing_on_the_last_day_is_allowed_and_after_it_refused(application, director, monkeypatch):
    """Seed 000 §21 (the grantee signs an agreement): the offer may be signed up to its last
    day; the day after, ``offer_lapsed`` even before the sweep ran, and nothing changes."""
    monkeypatch.setattr(awards, "compute_services", lambda: None)
    award = awards.make_award(application, terms(), decided_at=timezone.now(), actor="chair")
    with pytest.raises(DomainError) as e:
        awards.sign_agreement(
            award, director, award.application.br_number, today=award.offer_expires_on + dt.timedelta(days=1)
        )
    assert e.value.code == "offer_lapsed"
    award.refresh_from_db()
    assert award.state == AwardState.OFFERED
    signed = awards.sign_agreement(award, director, award.application.br_number, today=award.offer_expires_on)
    assert signed.state == AwardState.ACTIVE
    assert awards.lapse_offers(timezone.now() + dt.timedelta(days=400))["subsidy.Award (lapsed offers)"] == 0


# 1, 2 — the secretariat's recommendation form
@pytest.fixture
def complete(settings, tmp_path, officer, client):
    from tungban.subsidy.models import Application
    from tungban.testing.factories import login_staff

    from .intake_helpers import UNIVERSITY, apply, director_of, secretariat, setup_scheme

    setup_scheme(settings, tmp_path)
    person, mandate = director_of(officer, UNIVERSITY)
    app = Application.objects.get(reference=apply(person, mandate, UNIVERSITY).reference)
    login_staff(client, secretariat())
    client.post(f"/staff/subsidy/applications/{app.public_id}/complete")
    return app


GOOD = {"nodes-2027-01": "4", "nodes-2027-02": "5", "price": "300000", "rate": "70",
        "reasons_en": "Strong team.", "reasons_zh": "團隊實力強。"}  # fmt: skip
BAD = [
    {"nodes-2027-01": "Infinity"}, {"nodes-2027-01": "NaN"}, {"nodes-2027-01": "1e40"}, {"nodes-2027-01": "-1"},
    {"price": "NaN"}, {"price": "sNaN"}, {"price": "Infinity"}, {"price": "1e40"}, {"price": "-1"}, {"price": ""},
    {"rate": "NaN"}, {"rate": "Infinity"}, {"rate": "1e40"}, {"rate": "-5"}, {"rate": ""},
]  # fmt: skip


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", ["zh-hant", "en"])
def test_seed000_s13_s14_unreadable_numbers_on_the_recommendation_form_are_clear_errors(client, complete, lang):
    """Seed 000 §13 (rate) and §14 (price): NaN, sNaN, Infinity, 1e40, negatives and empties in
    the price, the rate or a month's nodes are refused on the page — a redirect, a message in
    the page's language, nothing stored — never a 500 or a stored Infinity."""
    from tungban.subsidy.constants import ApplicationState
    from tungban.subsidy.services import intake

    client.raise_request_exception = False
    url = f"/staff/subsidy/applications/{complete.public_id}/"
    for bad in BAD:
        r = client.post(url + "recommend", GOOD | bad, HTTP_ACCEPT_LANGUAGE=lang)
        assert r.status_code == 302, (bad, r.status_code)
        complete.refresh_from_db()
        assert complete.state == ApplicationState.COMPLETE and intake.recommendation(complete) == {}, bad
        page = client.get(url, HTTP_ACCEPT_LANGUAGE=lang).content.decode()
        error = re.search(r'id="action-error"[^>]*>(.*?)</', page, re.S)
        assert error, bad
        text = re.sub(r"<[^>]+>", "", error.group(1))
        assert (CJK.search(text) and not english_words(text)) if lang == "zh-hant" else not CJK.search(text), (
            bad,
            text,
        )
    # the price above the list price (seed 000 §14, seed 002 ITIB229) is refused with the range
    client.post(url + "recommend", GOOD | {"price": "320000.01"}, HTTP_ACCEPT_LANGUAGE=lang)
    page = client.get(url, HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    assert "320,000.00" in page, re.search(r'id="action-error"[^>]*>(.*?)</', page, re.S)
    complete.refresh_from_db()
    assert complete.state == ApplicationState.COMPLETE
    client.post(url + "recommend", GOOD, HTTP_ACCEPT_LANGUAGE=lang)
    complete.refresh_from_db()
    assert complete.state == ApplicationState.RECOMMENDED


@pytest.mark.django_db(transaction=True)
def test_seed000_s13_a_recommendation_problem_is_all_chinese(client, complete):
    """Seed 000 §13: the recommendation's own problems (a month not requested, the rate above
    its ceiling) are translated sentences, not English inside a Chinese message."""
    from tungban.subsidy.services import intake

    from .intake_helpers import secretariat

    officer_user = secretariat("cyberport-officer-2")
    with translation.override("zh-hant"):
        for rec in (
            intake.Recommended(schedule={dt.date(2030, 1, 1): 4}, price=Decimal(1), rate=Decimal("0.5"),
                               reasons_en="r", reasons_zh="理"),
            intake.Recommended(schedule={dt.date(2027, 1, 1): 4}, price=Decimal(1), rate=Decimal("0.85"),
                               reasons_en="r", reasons_zh="理"),
            intake.Recommended(schedule={dt.date(2027, 1, 1): 4}, price=Decimal("NaN"), rate=Decimal("0.5"),
                               reasons_en="r", reasons_zh="理"),
            intake.Recommended(schedule={}, price=Decimal(1), rate=Decimal("0.5"), reasons_en="r", reasons_zh="理"),
        ):  # fmt: skip
            with pytest.raises(DomainError) as e:
                intake.recommend(complete, officer_user, rec)
            assert e.value.code == "subsidy_recommendation_invalid"
            assert not english_words(str(e.value.message)), str(e.value.message)


# 6 — who may pay the co-payment
def _mandate(director, holder, actions):
    from tungban.corpid.constants import Basis, MandateState, Role
    from tungban.corpid.models import Mandate

    org = director.corpid_mandates.get().organisation
    today = timezone.localdate()
    return Mandate.objects.create(
        organisation=org, holder=holder, role=Role.USER, services=[awards.SERVICE_SLUG], actions=actions,
        valid_from=today, valid_until=today + dt.timedelta(days=365), basis=Basis.GRANTED, granted_by=director,
        state=MandateState.ACTIVE, answered_at=timezone.now(),
    )  # fmt: skip


def test_seed000_s13_anyone_whose_mandate_allows_pay_may_pay_the_co_payment(
    application, director, officer, client, monkeypatch, run_tasks
):
    """Seed 000 §13 (the grantee pays the co-payment): not only the signatory — a person whose
    CorpID mandate for the grantee allows ``pay`` goes on to the order's payment page; a person
    whose mandate only allows ``view`` is refused with a clear message, in their language."""
    from tungban.corpid.constants import Role
    from tungban.subsidy.models import CoPaymentInvoice
    from tungban.testing.factories import make_resident, valid_hkid

    from .test_pages import _portal

    monkeypatch.setattr(awards, "compute_services", lambda: None)
    award = awards.make_award(application, terms(), decided_at=timezone.now(), actor="chair")
    awards.sign_agreement(award, director, award.application.br_number)
    run_tasks()
    invoice = CoPaymentInvoice.objects.order_by("month").first()
    pay_url = f"/subsidy/grants/{award.public_id}/invoices/{invoice.pk}/pay/"
    clerk = make_resident(officer, hkid="G123456A", family_name_en="WONG", given_name_en="Siu Ling", name_zh="黃小玲")
    viewer = make_resident(
        officer, hkid=valid_hkid("C"), family_name_en="LEE", given_name_en="Ka Yan", name_zh="李嘉欣"
    )
    _mandate(director, clerk, ["view", "pay"])
    _mandate(director, viewer, ["view"])
    assert director.corpid_mandates.get().role == Role.ADMINISTRATOR
    for who in (director, clerk):  # the administrator (the signatory here) and a clerk with pay
        _portal(client, who)
        r = client.get(pay_url)
        assert r.status_code == 302 and re.fullmatch(r"/pay/[0-9a-f-]+/", r["Location"]), r.get("Location")
        awards.require_payer(award, who)
    _portal(client, viewer)
    r = client.get(pay_url, HTTP_ACCEPT_LANGUAGE="zh-hant", follow=True)
    assert r.redirect_chain[-1][0] == f"/subsidy/grants/{award.public_id}/"
    assert "不包括繳付其發票" in r.content.decode()
    with pytest.raises(DomainError) as e:
        awards.require_payer(award, viewer)
    assert e.value.code == "not_payer"


@pytest.mark.parametrize(
    "bad",
    [{"price": "NaN"}, {"price": "Infinity"}, {"price": "1e40"}, {"price": "-1"}, {"rate_percent": "sNaN"},
     {"rate_percent": "1e40"}, {"rate_percent": ""}, {"schedule": "2025-01 99999999999999999999"}],
)  # fmt: skip
def test_seed000_s13_the_committees_terms_form_refuses_unreadable_numbers(bad):
    """Seed 000 §13/§14: the committee's ``AwardTermsForm`` (Django number fields with bounds)
    refuses non-finite, huge or negative numbers as form errors, before any service runs."""
    from tungban.subsidy.forms import AwardTermsForm

    data = {"schedule": "2025-01 8", "price": "320000", "rate_percent": "70"} | bad
    form = AwardTermsForm(data)
    assert not form.is_valid() and set(form.errors) == {next(iter(bad))}
    assert AwardTermsForm({"schedule": "2025-01 8", "price": "320000", "rate_percent": "70"}).is_valid()


def test_seed000_s21_the_offer_and_its_lapse_are_notified_with_the_last_day(
    application, director, monkeypatch, django_capture_on_commit_callbacks
):
    """Seed 000 §21 (the grantee signs an agreement): the applicant is told of the offer with
    its last day for signing, and again when it lapsed — in both languages, after the commit."""
    from types import SimpleNamespace

    from tungban.eservices import portal
    from tungban.eservices import services as eservices
    from tungban.notify.models import Notification

    portal.ensure_portal()
    monkeypatch.setattr(eservices, "get_application", lambda reference, **kw: SimpleNamespace(resident=director))
    with django_capture_on_commit_callbacks(execute=True):
        award = awards.make_award(application, terms(), decided_at=timezone.now(), actor="chair")
    day = award.offer_expires_on.isoformat()
    offer = Notification.objects.get(resident=director)
    assert day in offer.body_en and day in offer.body_zh and application.reference in offer.subject_en
    with django_capture_on_commit_callbacks(execute=True):
        awards.lapse_offers(timezone.now() + dt.timedelta(days=awards.offer_days() + 1))
    lapsed = Notification.objects.filter(resident=director).exclude(pk=offer.pk).get()
    assert "lapsed" in lapsed.subject_en and "失效" in lapsed.subject_zh and day in lapsed.body_en


def test_seed000_s21_the_grant_page_shows_the_offers_last_day_and_its_lapse(application, director, client):
    """Seed 000 §21: the grant page says by when to sign; once lapsed, it says so and offers no
    signing."""
    from .test_pages import _portal

    award = awards.make_award(application, terms(), decided_at=timezone.now(), actor="chair")
    _portal(client, director)
    url = f"/subsidy/grants/{award.public_id}/"
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    day = award.offer_expires_on.isoformat()
    assert 'id="offer-deadline"' in html and f"Sign by {day}" in html and 'id="sign"' in html
    awards.lapse_offers(timezone.now() + dt.timedelta(days=awards.offer_days() + 1))
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    assert 'id="offer-lapsed"' in html and 'id="sign"' not in html and day in html
    client.raise_request_exception = False
    client.post(url + "sign/")
    award.refresh_from_db()
    assert award.state == AwardState.LAPSED


@pytest.mark.parametrize("lang", ["zh-hant", "en"])
def test_every_declared_subsidy_error_reads_in_one_language(lang):
    """Every error the subsidy app declares, its placeholders filled the way the services fill
    them (numbers, months, codes, the translated actions and problems), reads in one language:
    no English word in Chinese (codes, numbers, HK$ allowed), no Chinese in English."""
    from tungban.core.errors import declared_errors

    samples = {"action": errors.ACTIONS["signed"], "reason": errors.SCHEDULE_PROBLEMS["not_consecutive"],
               "problem": errors.SCHEDULE_PROBLEMS["no_month"], "state": AwardState.OFFERED.label}  # fmt: skip
    checked = 0
    with translation.override(lang):
        for error in declared_errors(errors):
            if error.code == "eligibility_register_invalid":  # the operator's file check: names its lines
                continue
            names = re.findall(r"%\((\w+)\)s", str(error.default_message))
            params = {n: samples.get(n, "2025-01") for n in names}
            text = str(error(**params).message) if params else str(error().message)
            if lang == "en":
                assert not CJK.search(text), (error.code, text)
            else:
                assert not english_words(text), (error.code, text)
            checked += 1
    assert checked >= 40
