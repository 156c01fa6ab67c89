"""Test data for the officers' and department systems' tests (es-staff)."""

from __future__ import annotations

from tungban.eservices import services
from tungban.eservices.models import Service
from tungban.eservices.tests.helpers import fill_senior_card


def submitted_senior_cards(resident, n: int = 1) -> list:
    """``n`` Senior Citizen Card applications of ``resident``, filled and submitted."""
    service = Service.objects.get(slug="senior-citizen-card")
    out = []
    for _ in range(n):
        app = services.start_application(resident, service)
        fill_senior_card(services, app, resident)
        out.append(services.submit(app, resident))
    return out
