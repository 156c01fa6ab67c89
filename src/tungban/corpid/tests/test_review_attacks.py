"""Review of issue 19's CorpID as an attacker (the crev review): each test is an attack that
must be refused, with nothing stored."""

from __future__ import annotations

from tungban.exchange.models import Consent

from .conftest import offer
from .test_company_consents import ask, bank, company, refused  # noqa: F401  (fixtures)
from .test_mandates import accepted


def test_a_joint_approval_mandate_alone_does_not_give_the_companys_consent(company, director, employee, bank, app_of):  # noqa: F811  (fixtures)
    """The company asked that a second person approve each action of this mandate: one
    person cannot share the company's data with a bank alone."""
    accepted(
        employee,
        offer(director, employee, services_=["sme-bank-client"], actions=["view", "apply"], joint_approval=True),
        app_of,
    )
    before = Consent.objects.count()
    refused("joint_approval_required", lambda: ask(employee, bank))
    assert Consent.objects.count() == before
