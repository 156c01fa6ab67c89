"""Issue 13 item 17: API messages follow ``Accept-Language`` and default to English for
machine clients; pages keep their language behaviour (Traditional Chinese by default)."""

import json

import pytest

pytestmark = pytest.mark.django_db

BAD_BINDING = json.dumps({"hkid": "A123456", "activation_code": "x"})
ENGLISH = "An HKID number is 1 or 2 letters, 6 digits and a check digit, e.g. A123456(3)."


def _bind(client, body=BAD_BINDING, **headers):
    return client.post("/api/v1/wallet/bindings", body, content_type="application/json", **headers)


def test_api_messages_default_to_english(client):
    assert _bind(client).json()["message"] == ENGLISH


@pytest.mark.parametrize("accept", ["fr", "de-DE,ja;q=0.5", "*"])
def test_api_messages_in_english_for_a_language_the_platform_does_not_speak(client, accept):
    assert _bind(client, HTTP_ACCEPT_LANGUAGE=accept).json()["message"] == ENGLISH


@pytest.mark.parametrize("accept", ["zh-HK", "zh-Hant", "zh-TW,en;q=0.5", "fr, zh-HK;q=0.8"])
def test_api_messages_follow_accept_language(client, accept):
    message = _bind(client, HTTP_ACCEPT_LANGUAGE=accept).json()["message"]
    assert message != ENGLISH and any("\u4e00" <= c <= "\u9fff" for c in message)
    assert _bind(client, HTTP_ACCEPT_LANGUAGE="en-GB").json()["message"] == ENGLISH


def test_malformed_json_is_the_documented_error_body_in_the_requests_language(client):
    english = _bind(client, "{not json")
    assert english.status_code == 400
    body = english.json()
    assert set(body) == {"error", "message", "field"} and body["error"] == "invalid_request" and body["field"] is None
    assert "detail" not in body and "JSON" in body["message"]
    chinese = _bind(client, "{not json", HTTP_ACCEPT_LANGUAGE="zh-HK").json()
    assert chinese["error"] == "invalid_request" and chinese["message"] != body["message"]


def test_pages_keep_chinese_by_default(client):
    page = client.get("/")
    assert 'lang="zh-Hant' in page.content.decode()
    assert 'lang="en' in client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
