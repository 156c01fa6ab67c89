"""Issue 22 review findings (reviewer srev): each test failed before its fix and states the
behaviour expected."""

from __future__ import annotations

from django.test import Client

from tungban.assistant.models import Conversation


def test_a_rate_limited_question_on_the_page_stores_nothing(faqs, settings):
    """Past the per-address limit, the page without JavaScript answers 429 — but it has
    already started (stored) a new conversation with its greeting: ``views.chat`` calls
    ``services.start`` before ``services.count_question``. Nothing may be stored on an error,
    and a flood of refused posts must not grow the table."""
    settings.TUNGBAN_RATELIMITS = {**settings.TUNGBAN_RATELIMITS, "assistant": "1/h"}
    client = Client()
    assert client.post("/assistant/", {"text": "passport"}, HTTP_ACCEPT_LANGUAGE="en").status_code == 302
    before = Conversation.objects.count()
    limited = Client().post("/assistant/", {"text": "passport"}, HTTP_ACCEPT_LANGUAGE="en")
    assert limited.status_code == 429
    assert Conversation.objects.count() == before
