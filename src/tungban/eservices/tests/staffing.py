"""Test data for the officers' and department systems' tests (es-staff)."""

from __future__ import annotations

from joserfc.jwk import ECKey

from examples.data_user import DataUser
from tungban.eservices import services
from tungban.eservices.models import Service
from tungban.eservices.services import webhooks
from tungban.eservices.tests.helpers import fill_senior_card
from tungban.oidc import services as oidc


def submitted_senior_cards(resident, n: int = 1) -> list:
    """``n`` Senior Citizen Card applications of ``resident``, filled and submitted."""
    service = Service.objects.get(slug="senior-citizen-card")
    out = []
    for _ in range(n):
        app = services.start_application(resident, service)
        fill_senior_card(services, app, resident)
        out.append(services.submit(app, resident))
    return out


def department_system(issuer_url: str, department: str) -> DataUser:
    """A department's case system: an OIDC client ``<department>-cases`` with a key of its own,
    registered for ``department`` (``webhooks.register_system``), as a client that takes
    ``client_credentials`` tokens with scope ``eservices`` (``private_key_jwt``)."""
    key = ECKey.generate_key("P-256", {"alg": "ES256"}, auto_kid=True)
    client, _secret = oidc.register_client(
        client_id=f"{department.lower()}-cases",
        name_en=f"{department} case system",
        name_zh=f"{department} 個案系統",
        redirect_uris=[f"https://{department.lower()}.example/cb"],
        jwks={"keys": [key.as_dict(private=False)]},
    )
    webhooks.register_system(department, client)
    return DataUser(issuer_url, client.client_id, key.as_dict(private=True), scope="eservices")


# The officer's steps on the workbench pages (Playwright ``page``, logged in with
# ``tungban.testing.factories.staff_login_page``): shared by the workbench's e2e test and the
# acceptance flow (test_e2e_senior_card).


def open_case_from_queue(page, issuer: str, department: str, reference: str, queue: str = "new") -> None:
    """Open ``queue`` of ``department``'s workbench, find the row of ``reference`` and follow it
    to the case page (waits until the case page has loaded)."""
    page.goto(f"{issuer}/staff/eservices/{department}/?queue={queue}")
    page.click(f'#queue tr[data-reference="{reference}"] a')
    page.wait_for_url(f"{issuer}/staff/eservices/cases/{reference}/")


def request_information_on_page(page, text_en: str, text_zh: str) -> None:
    """On a case page: ask the resident for more information in both languages and wait for
    the case to show the state ``information_requested``."""
    page.fill("#id_ri-text_en", text_en)
    page.fill("#id_ri-text_zh", text_zh)
    page.click("#request-information")
    page.wait_for_selector('#case-state[data-state="information_requested"]')


def approve_on_page(page) -> None:
    """On a case page in review: approve and wait for the e-licence to be issued."""
    page.click("#approve")
    page.wait_for_selector('#case-state[data-state="licence_issued"]')
