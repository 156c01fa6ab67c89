"""Issue 16, polish16: texts on the app's screens that were not true or not consistent."""

import pytest

pytestmark = pytest.mark.django_db


def app_page(client, language) -> str:
    return client.get("/app/", HTTP_ACCEPT_LANGUAGE=language).content.decode()


def test_personal_code_says_how_often_it_really_changes(client):
    """Item 7: the code is renewed before the verifier's limit (about 40 s, valid at most a
    minute), not "every few seconds"."""
    en, zh = app_page(client, "en"), app_page(client, "zh-hant")
    assert "every few seconds" not in en and "每隔數秒" not in zh
    assert "at most a minute" in en and "最多有效一分鐘" in zh
