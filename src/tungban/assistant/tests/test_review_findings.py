"""Issue 22 review findings (reviewer srev): each test failed before its fix and states the
behaviour expected."""

from __future__ import annotations

import pytest
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


@pytest.mark.parametrize(
    "question",
    [
        "My neighbour is beating his child, what do I do?",
        "someone collapsed on the street and is unconscious",
        "隔離屋有人暈倒咗",
        "我想自殺",
    ],
)
def test_an_emergency_gets_999_before_anything_else(faqs, question):
    """Someone may be in danger now (review finding: such a question got the ordinary 1823
    hand-off): the fixed advice to call 999, no answer quoted, the hand-off still offered."""
    from tungban.assistant import services

    conversation = services.Conversation.objects.create(language="en")
    turn = services.ask(conversation, question)
    assert turn.kind == "refuse" and "999" in turn.text and not turn.sources


def test_a_form_question_with_a_word_near_an_emergency_is_still_answered(faqs):
    """The emergency words are whole words or phrases: a question about the emergency contact
    on a form, or a fire service certificate, is not taken for an emergency."""
    from tungban.assistant import services

    conversation = services.Conversation.objects.create(language="en")
    turn = services.ask(conversation, "format of the FS 251 contractor report to upload")
    assert "999" not in turn.text
