"""The credential type's card on the officers' pages (``_type_header.html``) in the department's
colours with no style attribute (the CSP refuses those): data attributes painted by
``credentials/type-card.js`` through the CSSOM."""

from __future__ import annotations

import pytest

from tungban.credentials.models import Issuer
from tungban.testing.factories import login_staff, staff_login_page

PAGE = "/staff/credentials/issue/senior-citizen-card"


@pytest.fixture
def swd_officer(officer, bundled):
    Issuer.objects.get(id="swd").officers.add(officer)
    return officer


@pytest.mark.django_db
def test_type_card_carries_its_colours_as_data(client, swd_officer):
    login_staff(client, swd_officer)
    html = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<div class="type-card" data-background="#7a1f1f" data-color="#ffffff">' in html
    assert "credentials/type-card.js" in html
    assert "style=" not in html


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_type_card_is_painted_in_chromium(issuer, swd_officer, e2e_browser):
    page = e2e_browser.new_context(locale="en-GB").new_page()
    staff_login_page(page, issuer, swd_officer, PAGE)
    page.wait_for_function(
        "() => getComputedStyle(document.querySelector('.type-card')).backgroundColor === 'rgb(122, 31, 31)'"
    )
    assert page.evaluate("getComputedStyle(document.querySelector('.type-card')).color") == "rgb(255, 255, 255)"
