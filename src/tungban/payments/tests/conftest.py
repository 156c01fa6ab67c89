"""Fixtures shared by the payments' tests."""

import pytest


@pytest.fixture
def psp(settings):
    """The mock card provider (``psp/mock.py``) in process, its webhook sent after the payer's
    return."""
    settings.TUNGBAN_PAYMENTS_PSP = "mock"
    settings.TUNGBAN_PAYMENTS_MOCK_PSP_WEBHOOKS = "after_redirect"
    return settings


@pytest.fixture
def api_order(issuer, db):
    """A HK$350 payment made by FEHD's payment system through the department API."""
    from tungban.payments.models import PaymentOrder
    from tungban.payments.tests.departments import new_payment, payment_system

    system = payment_system(issuer, "FEHD")
    return PaymentOrder.objects.get(pk=new_payment(system, amount=35000).json()["payment_id"])
