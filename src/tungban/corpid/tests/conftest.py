"""Fixtures for CorpID's tests: the register (the same file the CR data provider serves), its
directors and an employee as tungban residents, and a device-authenticated API caller."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
import requests
from django.utils import translation

from tungban.corpid import services
from tungban.signing.tests.test_seal import nss_db  # noqa: F401  (a fixture: NSS trusting the tungban root, for pdfsig)
from tungban.testing.factories import PIN, bind_cli, make_resident
from tungban.wallet.client import device_proof

REGISTER = Path(__file__).resolve().parents[4] / "examples" / "providers" / "cr_register.json"
TAI_MAN_BRN = "21812345"  # director: A1234563 CHAN Tai Man
KEUNG_KEE_BRN = "65201587"  # director: Y6543217 CHEUNG Chi Keung


@pytest.fixture(autouse=True)
def _english():
    """Messages in English unless a test asks otherwise (the platform's default is Chinese)."""
    with translation.override("en"):
        yield


@pytest.fixture
def register(db):
    services.load_register(REGISTER)


@pytest.fixture
def director(register, officer):
    return make_resident(officer, hkid="A1234563")


@pytest.fixture
def employee(officer):
    """WONG Siu Ling: on the register for no company."""
    return make_resident(officer, hkid="G123456A", family_name_en="WONG", given_name_en="Siu Ling", name_zh="黃小玲")


@pytest.fixture
def third(officer):
    return make_resident(officer, hkid="K5432103", family_name_en="LEE", given_name_en="Ka Yan", name_zh="李嘉欣")


def year_from_today() -> tuple[dt.date, dt.date]:
    start = services.today()
    return start, services.years_later(start, 1) - dt.timedelta(days=1)


def offer(actor, holder, *, br=TAI_MAN_BRN, role="user", services_=("*",), actions=("view", "apply"), **kw):
    start, end = year_from_today()
    return services.grant(
        actor,
        br,
        holder_hkid=holder.hkid,
        role=role,
        services=list(services_),
        actions=list(actions),
        valid_from=kw.pop("valid_from", start),
        valid_until=kw.pop("valid_until", end),
        **kw,
    )


class Caller:
    """A resident's bound CLI app calling CorpID's API with device proofs (and an
    ``Idempotency-Key`` when asked)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, method: str, path: str, body: dict | None = None, *, key: str | None = None, lang="en"):
        url = self.app.server + "/api/v1/corpid" + path
        proof = device_proof(self.app.load_key(PIN), self.app.meta["device_id"], method, url.split("?")[0])
        headers = {"Authorization": f"Device {proof}", "Accept-Language": lang}
        if key is not None:
            headers["Idempotency-Key"] = f'"{key}"'
        return requests.request(method, url, json=body, headers=headers, timeout=30)

    def accept(self, approval_id: str, decision: str = "approve") -> None:
        self.app.decide(approval_id, PIN, decision)


@pytest.fixture
def app_of(issuer, tmp_path):
    """``app_of(resident) -> Caller``: the resident's CLI app, bound."""

    def make(resident):
        return Caller(bind_cli(issuer, resident, tmp_path / f"app-{uuid.uuid4().hex[:8]}"))

    return make
