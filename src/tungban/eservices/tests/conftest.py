import pytest


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
