"""A sub-administrator revokes only user mandates inside its own scope (issue 19, first wave's
loose end; Corppass: a sub-administrator's assignment profile limits it to its e-services):
never another user's mandate for services or actions it may not grant itself."""

from __future__ import annotations

import datetime as dt

from tungban.corpid import services
from tungban.credentials import services as credentials
from tungban.testing.factories import make_resident

from .conftest import TAI_MAN_BRN, offer, year_from_today
from .test_mandates import accepted, refused


def test_a_sub_administrator_revokes_only_inside_its_scope(director, employee, third, officer, app_of):
    services.bootstrap(director, TAI_MAN_BRN)
    _start, end = year_from_today()
    short = end - dt.timedelta(days=30)
    accepted(
        employee,
        offer(
            director,
            employee,
            role="sub_administrator",
            services_=["svc-a", "svc-b"],
            actions=["view", "apply"],
            valid_until=short,
        ),
        app_of,
    )
    # Granted by the administrator, beyond the sub-administrator's scope: another service ...
    other_service = accepted(third, offer(director, third, services_=["svc-c"], actions=["view"]), app_of)
    # ... another action (sign), and every service.
    fourth, fifth, sixth = make_resident(officer), make_resident(officer), make_resident(officer)
    other_action = offer(director, fourth, services_=["svc-a"], actions=["view", "sign"])
    every_service = offer(director, fifth, services_=["*"], actions=["view"])
    for mandate in (other_service, other_action, every_service):
        refused("not_an_administrator", services.revoke, employee, TAI_MAN_BRN, mandate.public_id)
    assert credentials.get_credential(other_service.credential_id).status == "valid"

    # Inside its scope: a user mandate the administrator granted, and one it granted itself.
    inside_by_admin = offer(director, sixth, services_=["svc-b"], actions=["apply"])
    services.revoke(employee, TAI_MAN_BRN, inside_by_admin.public_id)
    own_grant = accepted(fourth, other_action, app_of)
    assert own_grant.state == "active"
    services.revoke(director, TAI_MAN_BRN, own_grant.public_id)
    mine = offer(employee, own_grant.holder, services_=["svc-a"], actions=["view"], valid_until=short)
    mine = accepted(own_grant.holder, mine, app_of)
    revoked = services.revoke(employee, TAI_MAN_BRN, mine.public_id)
    assert revoked.state == "revoked"
    assert credentials.get_credential(mine.credential_id).status == "revoked"
    # The administrator still revokes anything.
    services.revoke(director, TAI_MAN_BRN, other_service.public_id)
    assert credentials.get_credential(other_service.credential_id).status == "revoked"
