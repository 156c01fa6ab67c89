"""What the catalogue's services cost (issue 18): every fee item is priced today by the payments
app's fee schedule, the pages and the API show those amounts, and submitting asks for a payment
only when something is due."""

from __future__ import annotations

import pytest

from tungban.eservices.models import Service, State
from tungban.eservices.services import fees
from tungban.eservices.tests.helpers import fill_senior_card

pytestmark = pytest.mark.django_db


def test_every_catalogue_fee_item_is_priced_today(catalogue):
    unpriced = [
        f"{s.slug}/{row['code']}"
        for s in Service.objects.all()
        for row in fees.fee_rows(s)
        if row["amount_cents"] is None
    ]
    assert unpriced == []
    hawker = Service.objects.get(slug="temporary-hawker-licence")
    assert fees.fees_due(hawker) and [line.total_cents for line in fees.fee_lines(hawker)] == [35000]
    assert not fees.fees_due(Service.objects.get(slug="senior-citizen-card"))  # no fee item: free
    assert not fees.fees_due(Service.objects.get(slug="fire-service-installation-certificate"))  # HK$0


def test_the_service_page_and_the_api_show_the_schedules_amounts(client, catalogue):
    client.cookies["tungban_language"] = "en"
    html = client.get("/services/temporary-hawker-licence/").content.decode()
    assert "HK$350" in html and "Apply, pay and receive" in html
    leisure = client.get("/services/leisure-facility-booking/").content.decode()
    assert "Aged 60 or over: HK$29" in leisure and "example amount" in leisure
    body = client.get("/api/v1/eservices/catalogue/services/temporary-hawker-licence").json()
    assert body["fee_items"] == [
        {
            "code": "licence",
            "label_en": "Temporary hawker licence fee",
            "label_zh": "臨時小販牌照費",
            "amount_cents": 35000,
            "illustrative": False,
            "concessions": [],
        }
    ]


def test_a_free_service_is_submitted_without_payment(catalogue, resident):
    s = catalogue
    app = s.start_application(resident, Service.objects.get(slug="senior-citizen-card"))
    fill_senior_card(s, app, resident)
    assert s.submit(app, resident).state == State.SUBMITTED


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("en", "There is a fee of HK$350, paid online after you submit."),
        ("zh", "本服務須繳費 HK$350，遞交申請後在網上繳付。"),
    ],
)
def test_the_start_page_says_the_fee_before_the_resident_starts(client, catalogue, lang, said):
    client.cookies["tungban_language"] = lang
    html = client.get("/services/temporary-hawker-licence/apply").content.decode()
    assert said in html and 'href="/services/temporary-hawker-licence/#fees"' in html
    free = client.get("/services/senior-citizen-card/apply").content.decode()
    assert 'id="fee-notice"' not in free
