from pathlib import Path

import pytest

#: Applying for a company (CorpID): the register the CR provider serves, the sample company, the
#: business e-service.
REGISTER = Path(__file__).resolve().parents[4] / "examples" / "providers" / "cr_register.json"
BRN = "21812345"  # Tai Man Demo Trading Company Limited; director A1234563
SLUG = "certificate-of-resident-status-company"
NAME_EN = "Tai Man Demo Trading Company Limited"
NAME_ZH = "大文示範貿易有限公司"


@pytest.fixture
def catalogue(db, settings, tmp_path):
    """The shipped catalogue loaded (with the bundled credential issuers and types and the fee
    schedule), documents stored under a temporary folder."""
    from tungban.credentials import catalogue as credential_catalogue
    from tungban.eservices import services
    from tungban.payments import services as payments

    settings.TUNGBAN_ESERVICES_FILES = tmp_path / "files"
    credential_catalogue.register_bundled()
    payments.load_fees()
    services.load_catalogue()
    return services


@pytest.fixture
def swd_officer(db):
    from tungban.eservices.tests.helpers import department_user

    return department_user("swd-officer", "SWD", "officer")


@pytest.fixture
def swd_approver(db):
    from tungban.eservices.tests.helpers import department_user

    return department_user("swd-approver", "SWD", "approver")


@pytest.fixture
def portal_client(client, resident, catalogue):
    """A browser logged in to the e-services portal as ``resident`` (the session set directly;
    the login itself is the e2e tests')."""
    from tungban.eservices import login

    session = client.session
    session[login.SESSION_KEY] = {"resident": str(resident.public_id), "sub": "sub-for-tests"}
    session.save()
    return client


@pytest.fixture
def director(catalogue, officer):
    """CHAN Tai Man, director of :data:`BRN` on the register, who set up its CorpID (its
    administrator: every service and action)."""
    from tungban.corpid import services as corpid
    from tungban.testing.factories import make_resident

    corpid.load_register(REGISTER)
    boss = make_resident(officer, hkid="A1234563")
    corpid.bootstrap(boss, BRN)
    return boss


@pytest.fixture
def employee(officer):
    """WONG Siu Ling: on the register for no company."""
    from tungban.testing.factories import make_resident

    return make_resident(officer, hkid="G123456A", family_name_en="WONG", given_name_en="Siu Ling", name_zh="黃小玲")
