"""Issue 19's sandbox: the demo registers the sample companies, their directors and a mandate, so
a person can try "Apply for a company" (README step 15): the demo resident administers his own
company, and Keung Kee Sample Engineering's director (registered by the demo) offers him a user
mandate for the company's Certificate of Resident Status, waiting for his answer in the app."""

import pytest

from tungban.core.errors import DomainError
from tungban.corpid import services as corpid
from tungban.corpid.models import Mandate, Organisation
from tungban.identity.models import Resident
from tungban.setup.demo import DEMO_COMPANY_BRN, DEMO_MANDATE, DEMO_UNIVERSITY_BRN, hkid_of, seed

pytestmark = pytest.mark.django_db


def test_the_demo_sets_up_three_organisations_and_offers_the_demo_resident_a_mandate(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    out = seed(var_dir=tmp_path)
    seed(var_dir=tmp_path)  # idempotent: one organisation per company, one offer
    chan = Resident.objects.by_hkid(hkid_of("A123456")).get()
    cheung = Resident.objects.by_hkid(hkid_of("Y654321")).get()
    assert set(Organisation.objects.values_list("br_number", flat=True)) == {
        DEMO_COMPANY_BRN,
        "65201587",
        DEMO_UNIVERSITY_BRN,
    }
    # He also administers the sample university, an eligible applicant of the AI Subsidy Scheme
    # (issue 20, README step 16), for the scheme's e-service and every other.
    assert corpid.authority(chan, DEMO_UNIVERSITY_BRN, "ai-subsidy-scheme", "sign").role == "administrator"

    # His own company: he is its administrator, in force for every service.
    assert corpid.authority(chan, DEMO_COMPANY_BRN, DEMO_MANDATE["service"], "sign").role == "administrator"
    # Keung Kee's director is its administrator and offered him a user mandate: not in force
    # until he accepts it in the app.
    assert corpid.authority(cheung, "65201587", DEMO_MANDATE["service"], "sign").role == "administrator"
    offer = Mandate.objects.get(holder=chan, organisation__br_number="65201587")
    assert (offer.state, offer.role, offer.services, offer.actions) == (
        "offered",
        "user",
        [DEMO_MANDATE["service"]],
        ["view", "apply", "sign"],
    )
    assert offer.granted_by == cheung
    with pytest.raises(DomainError) as refused:
        corpid.authority(chan, "65201587", DEMO_MANDATE["service"], "apply")
    assert refused.value.code == "mandate_not_accepted"
    assert out["corpid"]["mandate_offer"]["service"] == "certificate-of-resident-status-company"
