"""Issue 16, polish16 item 9: the app's dates and times in Hong Kong time, whatever the phone's zone."""

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_app_dates_are_in_hong_kong_time_whatever_the_phone_zone(issuer, e2e_browser):
    """Item 9: the app wrote times in the browser's zone next to the server's Hong Kong time.
    09:46 UTC is 17:46 in Hong Kong, 09:46 in London."""
    from django.templatetags.static import static

    context = e2e_browser.new_context(locale="en-GB", timezone_id="Europe/London")
    try:
        page = context.new_page()
        page.goto(f"{issuer}/app/")
        text = page.evaluate(
            "async (url) => (await import(url)).dateTime('2026-12-05T09:46:00Z')", static("wallet/js/ui/format.js")
        )
        assert "5:46" in text and "9:46" not in text, text
    finally:
        context.close()


def test_chinese_labels_take_a_full_width_colon_and_lists_an_ideographic_comma(issuer, e2e_browser):
    """Item 8: "姓名: 陳大文, 帳戶級別: …" on the personal code screen; Chinese takes "：" and "、"."""
    from django.templatetags.static import static

    context = e2e_browser.new_context(locale="zh-HK")
    try:
        page = context.new_page()
        page.goto(f"{issuer}/app/")
        text = page.evaluate(
            "async (url) => { const f = await import(url);"
            " return f.listText([f.labelled('姓名', '陳大文'), f.labelled('帳戶級別', '通辦+'), f.labelled('英文姓名', 'CHAN')]); }",
            static("wallet/js/ui/format.js"),
        )
        assert text.startswith("姓名：陳大文、帳戶級別：通辦+") and ", " not in text, text
    finally:
        context.close()
