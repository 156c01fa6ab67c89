"""What a resident reads on the sample service (issue 16, res16 items 2 and 5): plain
bilingual words, the protocol's values only behind "Technical details"; error pages without a
library's English text, with what to do next; the tungban+ tier explained where signing is
offered to a basic-tier resident."""

from __future__ import annotations

import re

import pytest

from examples.vehicle_licence.app import _KNOWN_OP_ERRORS
from examples.vehicle_licence.i18n import STRINGS
from examples.vehicle_licence.tests.test_app import html, login
from examples.vehicle_licence.tests.test_signing import submit


def _outside_details(page: str) -> str:
    """The page without its ``<details>`` disclosures (what a resident reads at first)."""
    return re.sub(r"<details.*?</details>", "", page, flags=re.S)


@pytest.mark.parametrize("lang", ["en", "zh-HK"])
def test_login_box_in_plain_words_with_technical_details_folded(client, fake_op, lang):
    login(client, fake_op)
    page = html(client.get(f"/form?lang={lang}"))
    shown = re.sub(r"<[^>]+>", " ", _outside_details(page))
    for jargon in ("pairwise-sub-123", "urn:tungban:acr", "amr", "acr", ">sub<", "pwd otp"):
        assert jargon not in shown, jargon
    words = re.search(r'id="login-summary"[^>]*>(.*?)</p>', page, re.S).group(1)
    if lang == "en":
        assert (
            "Signed in with tungban 通辦" in words and "identity checked in person at a registration counter" in words
        )
    else:
        assert "已用 tungban 通辦登入" in words and "登記櫃位" in words
    details = re.search(r'<details[^>]*id="technical-details".*?</details>', page, re.S).group(0)
    assert "pairwise-sub-123" in details and "urn:tungban:acr:plus" in details and "pwd" in details


def test_basic_tier_in_plain_words(client, fake_op):
    fake_op.acr = "urn:tungban:acr:basic"
    login(client, fake_op)
    words = re.search(r'id="login-summary"[^>]*>(.*?)</p>', html(client.get("/form?lang=en")), re.S).group(1)
    assert "basic account" in words and "tungban+" in words


@pytest.mark.parametrize("lang", ["en", "zh-HK"])
def test_access_denied_page_has_no_library_text_and_says_what_to_do(client, lang):
    client.get(f"/?lang={lang}")
    state = re.search(r"state=([^&]+)", client.get("/login").headers["Location"]).group(1)
    resp = client.get(f"/callback?error=access_denied&error_description=User+said+no+(Authlib)&state={state}")
    page = html(resp)
    assert "User said no" not in page  # the OP's or a library's English text is not shown
    assert re.search(r'<small[^>]*id="error-code-note"[^>]*>.*access_denied', page, re.S)
    assert 'id="error-next"' in page
    assert "你可以" in page and "What you can do" in page


def test_every_op_error_has_next_steps_in_both_languages():
    for key in sorted(_KNOWN_OP_ERRORS | {"op_other"}):
        entry = STRINGS.get(key.replace("op_", "next_op_"))
        assert entry and entry["zh-HK"] and entry["en"], key
        assert re.search(r"[\u4e00-\u9fff]", entry["zh-HK"])


def test_basic_tier_is_told_what_tungban_plus_is_where_signing_is_offered(client, fake_op):
    fake_op.acr = "urn:tungban:acr:basic"
    login(client, fake_op)
    reference = submit(client)
    page = html(client.get(f"/confirmation/{reference}?lang=en"))
    box = re.search(r'id="plus-explained".*?</section>|id="plus-explained".*?</div>', page, re.S).group(0)
    assert "registration counter" in box
    assert "identity card" in box  # what to bring
    assert "free" in box.lower()
    # No dead end: no "Sign the declaration" button that can only fail; a way on instead.
    assert 'id="sign-declaration"' not in page
    assert 'id="login-again-to-sign"' in page
    page_zh = html(client.get(f"/confirmation/{reference}?lang=zh-HK"))
    assert "身份證" in page_zh and "登記櫃位" in page_zh


def test_sign_page_shows_a_short_comparison_code_and_folds_the_digest(client, fake_op):
    from examples.vehicle_licence.tests.test_signing import start_signing

    login(client, fake_op)
    reference = submit(client)
    start_signing(client, reference)
    page = html(client.get(f"/sign/{reference}?lang=en"))
    code = re.search(r'id="comparison-code"[^>]*>([^<]+)<', page).group(1)
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{3} [0-9A-HJKMNP-TV-Z]{3}", code), code
    # The 64-character digest is no longer what the resident is asked to compare.
    assert 'id="document-sha256"' in re.search(r"<details.*?</details>", page, re.S).group(0)
    assert "SHA-256" not in re.sub(r"<details.*?</details>", "", page, flags=re.S)
