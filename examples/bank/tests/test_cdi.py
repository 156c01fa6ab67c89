"""The demo bank's HKMA CDI client (``examples/bank/cdi.py``) without a platform: what it asks
the gateway for, and the loan officer's first look at the answers. (Through the gateway and the
demo providers: ``src/tungban/corpid/tests/test_cdi_gateway.py``.)"""

from __future__ import annotations

from examples.bank import cdi


class _Recorder:
    """A data user that records the consents asked and answers the fetches from ``data``."""

    def __init__(self, data: dict):
        self.data, self.asked = data, []

    def request_consent(self, product, purpose, duration_seconds, *, sub=None, subject=None):
        self.asked.append((product, purpose, duration_seconds, sub, subject))
        return {"id": f"consent-{product}", "status": "requested", "approval_uri": f"https://p/app/approve/{product}"}

    def fetch(self, consent_id, product):
        assert consent_id == f"consent-{product}"
        return {"data": self.data[product]}


PARTICULARS = {
    "company_number": "2201587",
    "br_number": "65201587",
    "name_en": "Keung Kee Sample Engineering Limited",
    "status": "live",
    "incorporated_on": "2015-02-11",
    "directors": [{"name_en": "CHEUNG Chi Keung", "name_zh": "張志強"}],
}
TAX = {
    "br_number": "65201587",
    "business_registration_valid_until": "2027-02-10",
    "last_year_of_assessment": "2025/26",
    "profits_tax_return_filed": False,
    "no_outstanding_tax": True,
}


def test_one_consent_per_product_for_the_company():
    user = _Recorder({})
    consents = cdi.ask(user, "65201587", sub="pairwise-sub")
    assert list(consents) == list(cdi.PRODUCTS) == ["cr.company-particulars.v1", "ird.business-tax-status.v1"]
    assert [a[3:] for a in user.asked] == [("pairwise-sub", {"kind": "organisation", "id": "65201587"})] * 2


def test_a_company_that_has_not_filed_its_return_is_not_eligible():
    user = _Recorder({"cr.company-particulars.v1": PARTICULARS, "ird.business-tax-status.v1": TAX})
    data = cdi.fetch(user, cdi.ask(user, "65201587"))
    seen = cdi.assessment(data)
    assert seen["directors"] == ["CHEUNG Chi Keung"] and seen["live"] is True
    assert seen["tax_return_filed"] is False and seen["eligible"] is False
    filed = cdi.assessment({**data, "ird.business-tax-status.v1": {**TAX, "profits_tax_return_filed": True}})
    assert filed["eligible"] is True
