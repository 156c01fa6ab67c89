"""Bad input on the assistant's page and API (issue 22 item 4): an empty question, one over 500
characters, an unknown conversation, another person's conversation, a forged cross-site call and
too many questions — each a clear error in the person's language (pages) or a documented JSON
error (API), with nothing stored."""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client

from tungban.assistant.models import Conversation, Turn

API = "/api/v1/assistant/conversations"


def _post(client, url, body, lang="en"):
    return client.post(url, json.dumps(body), content_type="application/json", HTTP_ACCEPT_LANGUAGE=lang)


def _start(client) -> str:
    response = _post(client, API, {"language": "en"})
    assert response.status_code == 201
    return response.json()["id"]


@pytest.mark.parametrize(
    ("text", "code", "en", "zh"),
    [
        ("", "question_empty", "Type a question first.", "請先輸入問題。"),
        ("   ", "question_empty", "Type a question first.", "請先輸入問題。"),
        ("x" * 501, "question_too_long", "at most 500 characters", "最多 500 個字元"),
    ],
)
def test_bad_questions_are_refused_and_nothing_is_stored(db, text, code, en, zh):
    client = Client()
    cid = _start(client)
    before = Turn.objects.count()
    for lang, message in (("en", en), ("zh-hant", zh)):
        response = _post(client, f"{API}/{cid}/messages", {"text": text}, lang)
        assert response.status_code == 400
        body = response.json()
        assert body["error"] == code and body["field"] == "text"
        assert message in body["message"]
        page = client.post("/assistant/", {"c": cid, "text": text}, HTTP_ACCEPT_LANGUAGE=lang)
        assert page.status_code == 400
        assert message in page.content.decode()
        assert 'role="alert"' in page.content.decode()
    assert Turn.objects.count() == before
    # a first question that is bad starts no conversation either
    count = Conversation.objects.count()
    assert Client().post("/assistant/", {"text": text}).status_code == 400
    assert Conversation.objects.count() == count


def test_exactly_500_characters_is_a_question(faqs):
    client = Client()
    cid = _start(client)
    response = _post(client, f"{API}/{cid}/messages", {"text": "passport " * 55 + "x" * 5})
    assert response.status_code == 200, response.content


def test_unknown_conversation(db):
    client = Client()
    for cid in (str(uuid.uuid4()), "not-a-uuid"):
        response = _post(client, f"{API}/{cid}/messages", {"text": "passport"})
        assert response.status_code == 404
        assert response.json()["error"] == "conversation_unknown"
        assert client.get(f"{API}/{cid}").status_code == 404
        page = client.get(f"/assistant/?c={cid}", HTTP_ACCEPT_LANGUAGE="zh-hant")
        assert page.status_code == 404
        assert "沒有這個對話" in page.content.decode()
        assert client.post("/assistant/", {"c": cid, "text": "passport"}).status_code == 404
    assert Turn.objects.count() == 0


def test_another_persons_conversation_is_unknown_to_them(faqs):
    owner, other = Client(), Client()
    cid = _start(owner)
    assert _post(owner, f"{API}/{cid}/messages", {"text": "passport fee"}).status_code == 200
    turns = Turn.objects.filter(conversation_id=cid).count()

    response = _post(other, f"{API}/{cid}/messages", {"text": "passport fee"})
    assert response.status_code == 404 and response.json()["error"] == "conversation_unknown"
    assert other.get(f"{API}/{cid}").status_code == 404
    page = other.get(f"/assistant/?c={cid}", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 404
    assert "passport fee" not in page.content.decode()
    assert other.post("/assistant/", {"c": cid, "text": "hello"}).status_code == 404
    assert Turn.objects.filter(conversation_id=cid).count() == turns
    # the owner still sees it
    assert owner.get(f"{API}/{cid}").json()["turns"][1]["text"] == "passport fee"


def test_a_residents_conversation_follows_the_resident_not_the_browser(faqs, resident, monkeypatch):
    from tungban.eservices import login

    client = Client()
    monkeypatch.setattr(login, "resident_of", lambda request: resident)
    cid = _start(client)
    assert Conversation.objects.get(pk=cid).resident == resident
    # the same resident in another browser
    assert Client().get(f"{API}/{cid}").status_code == 200
    monkeypatch.setattr(login, "resident_of", lambda request: None)
    assert Client().get(f"{API}/{cid}").status_code == 404


def test_a_cross_site_call_with_the_session_cookie_needs_the_csrf_token(db):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/assistant/")
    token = page.cookies["csrftoken"].value if "csrftoken" in page.cookies else None
    assert token, "the page sets the CSRF cookie its script sends back"
    client.post("/assistant/new", {"csrfmiddlewaretoken": token})  # a session cookie now
    cid = client.session["assistant.conversations"][-1]
    forged = client.post(f"{API}/{cid}/messages", json.dumps({"text": "passport"}), content_type="application/json")
    assert forged.status_code == 403 and forged.json()["error"] == "csrf_failed"
    honest = client.post(
        f"{API}/{cid}/messages",
        json.dumps({"text": "passport"}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert honest.status_code == 200


def test_questions_are_rate_limited_per_conversation(faqs, settings):
    settings.TUNGBAN_RATELIMITS = {**settings.TUNGBAN_RATELIMITS, "assistant_conversation": "2/h"}
    client = Client()
    cid = _start(client)
    for _ in range(2):
        assert _post(client, f"{API}/{cid}/messages", {"text": "passport"}).status_code == 200
    limited = _post(client, f"{API}/{cid}/messages", {"text": "passport"})
    assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
    assert "Retry-After" in limited or limited.json()["details"]["retry_after"] > 0
    assert client.post("/assistant/", {"c": cid, "text": "passport"}).status_code == 429
    assert Turn.objects.filter(conversation_id=cid, role="person").count() == 2
    # another conversation from the same address goes on
    assert _post(client, f"{API}/{_start(client)}/messages", {"text": "passport"}).status_code == 200


def test_questions_are_rate_limited_per_address(faqs, settings):
    settings.TUNGBAN_RATELIMITS = {**settings.TUNGBAN_RATELIMITS, "assistant": "3/h"}
    client = Client()
    cid = _start(client)  # 1
    assert _post(client, f"{API}/{cid}/messages", {"text": "passport"}).status_code == 200  # 2
    assert _post(client, f"{API}/{cid}/messages", {"text": "passport"}).status_code == 200  # 3
    assert _post(client, f"{API}/{cid}/messages", {"text": "passport"}).status_code == 429
    assert _post(Client(), API, {"language": "en"}).status_code == 429  # a new browser, same address
