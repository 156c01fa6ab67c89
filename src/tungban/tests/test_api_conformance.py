"""Every operation of the JSON API answers what its OpenAPI document says (schemathesis).

Runs in-process (WSGI) on the test database: each operation gets ``EXAMPLES`` generated requests,
valid and invalid, with credentials that get past its auth class (a bound device's proof,
or a bearer token with the operation's scope), and each answer is checked with
schemathesis's ``not_a_server_error``, ``status_code_conformance`` and
``response_schema_conformance``: the status is declared and the body, errors included,
matches the declared schema. Derandomized, so a run is reproducible.
"""

from __future__ import annotations

import secrets
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from joserfc.jwk import ECKey
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
#: Generated requests per operation: bounded so this file stays well under a minute on two
#: cores (it runs in ``.ci/run`` through the suite, on SQLite and on PostgreSQL).
EXAMPLES = 30
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _load_schema():
    from tungban.wsgi import application  # pytest-django has set Django up before collection

    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


schema = _load_schema()


@pytest.fixture
def keep_connection():
    """The WSGI app closes the database connection after each request, which would end the
    test's transaction (PostgreSQL); Django's test client suspends that the same way."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _token(client, scope: str) -> str:
    from tungban.oidc.models import Token, access_token_digest

    value = secrets.token_urlsafe(32)
    Token.objects.create(
        access_token=access_token_digest(value), client=client, scope=scope, issued_at=int(time.time()), expires_in=3600
    )
    return value


@pytest.fixture
def credentials(db, officer, keep_connection):
    """``{security scheme: callable(case) -> headers}``: a bound device, and client tokens for
    signing, the exchange (a registered data user), credentials (the SWD issuer system) and
    the departments' systems (SWD's e-services, issue 17; FEHD's payments, issue 18)."""
    from django.conf import settings as django_settings

    from tungban.credentials import catalogue
    from tungban.credentials import services as credentials
    from tungban.credentials.models import Issuer
    from tungban.exchange import services as exchange
    from tungban.oidc import services as oidc
    from tungban.testing.factories import make_resident
    from tungban.wallet.cli import device_proof
    from tungban.wallet.models import Device

    resident = make_resident(officer)
    key = ECKey.generate_key("P-256", auto_kid=False)
    device = Device.objects.create(
        resident=resident,
        platform="cli",
        name="conformance phone",
        public_jwk=key.as_dict(private=False),
        jwk_thumbprint=key.thumbprint(),
    )
    client_keys = {"keys": [ECKey.generate_key("P-256", auto_kid=True).as_dict(private=False)]}
    signer, _ = oidc.register_client(
        client_id="conformance-signing",
        name_en="Signer",
        name_zh="簽署",
        redirect_uris=["https://signer.example/cb"],
        allowed_scopes=["openid", "signing"],
    )
    data_user, _ = oidc.register_client(
        client_id="conformance-cdeg",
        name_en="Data user",
        name_zh="資料使用者",
        redirect_uris=["https://cdeg.example/cb"],
        allowed_scopes=["openid", "cdeg"],
        jwks=client_keys,
    )
    exchange.register_organisation(id="conformance", name_en="Data user", name_zh="資料使用者", client=data_user)
    catalogue.register_bundled()
    department, _ = oidc.register_client(
        client_id="conformance-swd",
        name_en="SWD system",
        name_zh="社署系統",
        redirect_uris=["https://swd.example/cb"],
        jwks=client_keys,
    )
    credentials.register_issuer_system(Issuer.objects.get(id="swd"), department)
    from tungban.notify import services as notify

    notifier = notify.create_sender("conformance", "Notifier", "通知者", signer.client_id)
    from tungban.payments.services import webhooks as payment_systems

    cashier, _ = oidc.register_client(
        client_id="conformance-pay",
        name_en="FEHD payment system",
        name_zh="食環署收費系統",
        redirect_uris=["https://fehd.example/cb"],
        jwks=client_keys,
    )
    payment_systems.register_system("FEHD", cashier)
    from tungban.eservices.models import Department
    from tungban.eservices.services import webhooks as eservices_systems

    Department.objects.get_or_create(
        code="SWD", defaults={"name_en": "Social Welfare Department", "name_zh": "社會福利署", "source_path": "tests"}
    )
    eservices_systems.register_system("SWD", department)
    # Issue 20: the AI Subsidy Scheme's secretariat system (Cyberport, scope ``subsidy``).
    from tungban.subsidy.services import systems as subsidy_systems

    Department.objects.get_or_create(
        code="CYBERPORT", defaults={"name_en": "Cyberport", "name_zh": "數碼港", "source_path": "tests"}
    )
    secretariat, _ = oidc.register_client(
        client_id="conformance-cyberport",
        name_en="Cyberport case system",
        name_zh="數碼港個案系統",
        redirect_uris=["https://cyberport.example/cb"],
        jwks=client_keys,
    )
    subsidy_systems.register_secretariat_system(secretariat)
    tokens = {
        "ApiKeyBearer": notify.create_api_key(notifier, "conformance", "live")[1],
        "ServiceBearer": _token(signer, "signing"),
        "ScopedBearer": _token(signer, "signing"),  # issue 19: signing for a company (corpid)
        "DataUserBearer": _token(data_user, "cdeg"),
        "IssuerBearer": _token(department, "credentials"),
        "PaymentSystemBearer": _token(cashier, "payments"),  # issue 18: the payments API for departments
        "SystemBearer": _token(department, "eservices"),  # issue 17: the e-services API for departments
        "SecretariatBearer": _token(secretariat, "subsidy"),  # issue 20: the subsidy API for Cyberport
    }

    def headers(case) -> dict:
        schemes = [name for requirement in case.operation.definition.raw.get("security", []) for name in requirement]
        if "DeviceAuth" in schemes:
            url = django_settings.TUNGBAN_ISSUER + case.formatted_path
            return {"Authorization": "Device " + device_proof(key, str(device.id), case.method.upper(), url)}
        for name in schemes:
            return {"Authorization": f"Bearer {tokens[name]}"}
        return {}

    return headers


def test_every_operation_of_the_document_is_exercised():
    """Acceptance 3 of issue 13: every operation, with ``not_a_server_error`` and
    ``response_schema_conformance``, a bounded number of examples each. An operation
    schemathesis could not load (``Err``) would silently go untested: none is allowed."""
    documented = {
        (method.upper(), path)
        for path, item in schema.raw_schema["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }
    loaded = [result.ok() for result in schema.get_all_operations()]  # .ok() raises on an Err
    assert {(op.method.upper(), op.path) for op in loaded} == documented
    assert len(loaded) == len(documented) >= 38
    assert not_a_server_error in CHECKS and response_schema_conformance in CHECKS
    assert 0 < EXAMPLES <= 50


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_operation_conforms_to_the_openapi_document(case, credentials):
    case.call_and_validate(headers=credentials(case), checks=CHECKS)
