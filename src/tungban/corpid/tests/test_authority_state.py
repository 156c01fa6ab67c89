"""authority() also follows the register and the holder's account: a company dissolved on the
register, a suspended tungban account, an administrator's mandate that ended (the stored
status is worked out again)."""

from __future__ import annotations

import datetime as dt

import pytest

from tungban.core.errors import DomainError
from tungban.corpid import services
from tungban.corpid.models import Mandate, RegisteredCompany
from tungban.identity import services as identity

from .conftest import TAI_MAN_BRN, offer


def code_of(call, *args, **kwargs) -> str:
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    return caught.value.code


def test_a_company_dissolved_on_the_register(director, employee, app_of):
    services.bootstrap(director, TAI_MAN_BRN)
    mandate = offer(director, employee)
    app_of(employee).accept(services.ask_holder(employee)["approval_id"])
    assert services.authority(employee, TAI_MAN_BRN, "svc", "view").pk == mandate.pk
    RegisteredCompany.objects.filter(br_number=TAI_MAN_BRN).update(status="dissolved")
    assert code_of(services.authority, employee, TAI_MAN_BRN, "svc", "view") == "company_not_live"


def test_a_suspended_account_acts_for_nobody(director):
    services.bootstrap(director, TAI_MAN_BRN)
    identity.set_status(director, "suspended", reason="test")
    assert code_of(services.authority, director, TAI_MAN_BRN, "svc", "view") == "account_suspended"


def test_the_status_is_worked_out_when_the_last_administrator_mandate_ended(director):
    own = services.bootstrap(director, TAI_MAN_BRN)
    org = own.organisation
    assert services.current_status(org) == "active"
    Mandate.objects.filter(pk=own.pk).update(valid_until=services.today() - dt.timedelta(days=1))
    assert services.current_status(org) == "suspended"
