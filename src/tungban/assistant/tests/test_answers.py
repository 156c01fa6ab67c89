"""How the assistant chooses (tungban.assistant.services.decide): the thresholds at their edges,
best bets, duplicates; the optional model endpoint only rephrases, keeping the source; the
greeting and answers in the question's language; the wallet card."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tungban.assistant import services
from tungban.assistant.services import MARGIN, MIN_SCORE, MIN_SCORE_CORRECTED, Candidate, decide

API = "/api/v1/assistant/conversations"


def cand(ref: str, score: float, *, title: str | None = None, text: str | None = None, url: str = "") -> Candidate:
    return Candidate(
        kind="faq",
        ref=ref,
        title=title or f"Title {ref}",
        text=text if text is not None else f"Text {ref}",
        url=url or f"/services/{ref}/",
        department="",
        score=score,
    )


def test_nothing_below_the_floor():
    assert decide([]) == ("none", [])
    assert decide([cand("a", MIN_SCORE - 0.01)]) == ("none", [])
    assert decide([cand("a", MIN_SCORE)])[0] == "answer"


def test_a_corrected_question_needs_a_better_match():
    score = (MIN_SCORE + MIN_SCORE_CORRECTED) / 2
    assert decide([cand("a", score)])[0] == "answer"
    assert decide([cand("a", score)], corrected=True) == ("none", [])
    assert decide([cand("a", MIN_SCORE_CORRECTED)], corrected=True)[0] == "answer"


def test_clearly_ahead_is_answered():
    action, chosen = decide([cand("a", 3.0), cand("b", 3.0 - MARGIN), cand("c", 2.1)])
    assert action == "answer" and [c.ref for c in chosen] == ["a"]


def test_close_and_different_asks_which_one_with_at_most_three():
    hits = [cand("a", 3.0), cand("b", 2.9), cand("c", 2.85), cand("d", 2.8), cand("e", 2.0)]
    action, chosen = decide(hits)
    assert action == "clarify"
    assert [c.ref for c in chosen] == ["a", "b", "c"]


def test_close_candidates_below_the_floor_are_not_choices():
    action, chosen = decide([cand("a", MIN_SCORE + 0.1), cand("b", MIN_SCORE - 0.05)])
    assert action == "answer" and chosen[0].ref == "a"


def test_the_same_passage_or_page_counts_once():
    same_text = [cand("a", 3.0, text="At most two."), cand("b", 2.95, text="At most two.")]
    assert decide(same_text)[0] == "answer"
    same_page = [cand("a", 3.0, title="Fees", url="/x/"), cand("b", 2.95, title="Fees", url="/x/")]
    assert decide(same_page)[0] == "answer"


def test_a_best_bet_is_the_answer():
    # best bets come first with score 0: staff chose them for these words
    action, chosen = decide([cand("bet", 0.0), cand("a", 3.0)])
    assert action == "answer" and chosen[0].ref == "bet"


def test_empty_passages_are_never_quoted():
    assert decide([cand("a", 3.5, text=" "), cand("b", 2.4)]) == ("answer", [cand("b", 2.4)])


def _ask(client, text, lang="en"):
    cid = client.post(API, json.dumps({"language": lang}), content_type="application/json").json()["id"]
    response = client.post(f"{API}/{cid}/messages", json.dumps({"text": text}), content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def test_no_model_is_called_by_default(faqs, monkeypatch):
    calls = []
    monkeypatch.setattr(services.requests, "post", lambda *a, **k: calls.append(a))
    out = _ask(Client(), "what kind of photo for the senior citizen card")
    assert out["answer"]["kind"] == "answer"
    assert calls == []


def test_a_model_endpoint_only_rephrases_and_the_source_stays(faqs, settings, monkeypatch):
    from tungban.assistant.models import Turn
    from tungban.hotline.models import Faq

    settings.TUNGBAN_ASSISTANT_MODEL_URL = "http://model.invalid/rephrase"
    sent = {}

    class Reply:
        def raise_for_status(self):
            pass

        def json(self):
            return {"text": "Upload a face photo (JPEG or PNG, up to 2 MB)."}

    def fake_post(url, json, timeout):
        sent.update(url=url, body=json)
        return Reply()

    monkeypatch.setattr(services.requests, "post", fake_post)
    faq = Faq.objects.get(slug="scc-photo")
    out = _ask(Client(), "what kind of photo for the senior citizen card")
    assert sent["body"]["passage"] == faq.answer_en
    assert out["answer"]["text"] == "Upload a face photo (JPEG or PNG, up to 2 MB)."
    assert out["answer"]["sources"][0]["url"] == faq.source_url
    turn = Turn.objects.get(pk=out["answer"]["id"])
    assert turn.sources[0]["text"] == faq.answer_en and turn.sources[0]["rephrased"] is True

    # any failure: the passage is quoted as it is
    def broken(*a, **k):
        raise services.requests.ConnectionError("down")

    monkeypatch.setattr(services.requests, "post", broken)
    assert _ask(Client(), "what kind of photo for the senior citizen card")["answer"]["text"] == faq.answer_en


@pytest.mark.parametrize(("lang", "greeting"), [("en", "Hello."), ("zh-hant", "你好")])
def test_greeting_in_the_pages_language(db, lang, greeting):
    out = Client().post(API, json.dumps({"language": lang}), content_type="application/json").json()
    assert out["language"] == lang
    assert out["turns"][0]["text"].startswith(greeting)


def test_the_answer_follows_the_questions_language(faqs):
    from tungban.hotline.models import Faq

    faq = Faq.objects.get(slug="scc-how-long")
    out = _ask(Client(), "長者咭要等幾多個工作天", lang="en")
    assert out["answer"]["language"] == "zh-hant"
    assert out["answer"]["text"] == faq.answer_zh
    assert out["answer"]["sources"][0]["title"] == faq.question_zh


def test_the_wallet_panel_links_to_the_assistant(resident):
    from tungban.wallet import cards

    kind = cards.get("assistant.ask")
    assert kind is not None
    card = kind.load(resident)
    assert card["state"] == "ok"
    assert card["items"][0]["href"] == "/assistant/"
