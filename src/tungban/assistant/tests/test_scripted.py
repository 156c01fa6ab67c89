"""Acceptance 2 of issue 22: the e-form assistant answers residents' questions about e-forms by
quoting the platform's own content with its link, asks which one when a question fits several,
says so and offers 1823 when it has no answer or the question is out of scope, and hands the
transcript to a 1823 case. Through the API (as the page's script calls it) and the page (without
JavaScript). Questions are worded as residents ask, not copied from the FAQ, in English,
Traditional and Simplified Chinese.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client

from tungban.assistant import services
from tungban.assistant.models import Conversation, ConversationState, Turn
from tungban.hotline.models import Faq

API = "/api/v1/assistant/conversations"

#: (question, the FAQ entry whose answer must be quoted)
SCRIPT = [
    # English
    ("I have to stop halfway, will the form keep my answers?", "eform-save-draft"),
    ("lost my application number, how to check it", "eform-forgot-reference"),
    ("pay the application fee with an FPS QR code", "eform-how-to-pay"),
    ("what kind of photo for the senior citizen card", "scc-photo"),
    ("how many helpers can I register for my festive market stall", "hawker-assistants"),
    ("which form for the Mainland, IR1313A or IR1313B?", "cors-company-which-form"),
    ("documents to renew my vehicle licence", "vehicle-licence-renewal-documents"),
    ("can I get a plastic elderly card by post", "scc-collection"),
    ("how do I cancel the application I sent", "eform-withdraw"),
    ("format of the FS 251 contractor report to upload", "fs251-report-file"),
    ("moving into a new flat, water account deposit", "water-account-opening"),
    ("book a badminton court", "smartplay-booking"),
    ("my FPS payment request expired", "eform-payment-expired"),
    # Traditional Chinese (as Hong Kong people type it)
    ("長者咭要等幾多個工作天", "scc-how-long"),
    ("申請公屋有咩資格", "public-housing-eligibility"),
    ("點樣用公司名義申請", "eform-apply-for-company"),
    ("年宵攤位可以登記幾多個助手", "hawker-assistants"),
    ("部門要我補交資料點回覆", "eform-more-information"),
    # Simplified Chinese (the search converts)
    ("怎么保存草稿", "eform-save-draft"),
    ("申请护照需要什么", "passport-apply"),
    ("我忘记了申请编号", "eform-forgot-reference"),
    ("网上报税可以延期吗", "tax-return-efiling"),
    ("怎样签署声明", "eform-sign-declaration"),
]

#: Questions the platform's pages do not answer: out of scope, or nothing there.
OUT_OF_SCOPE = [
    ("What's the weather like tomorrow?", "refuse"),
    ("Who should I vote for in the election?", "refuse"),
    ("聽日會唔會落雨", "refuse"),
    ("my wife is angry with me, what should I do", "refuse"),
    ("tell me a joke", "refuse"),
    ("股票會唔會升", "refuse"),
    ("how to fix my broken washing machine", "handoff"),
    ("xyzzy plugh", "handoff"),
]


@pytest.fixture
def generous_limits(settings):
    """The scripted runs ask more questions from one address than a person would."""
    settings.TUNGBAN_RATELIMITS = {
        **settings.TUNGBAN_RATELIMITS,
        "assistant": "1000/m",
        "assistant_conversation": "1000/m",
    }


def _post(client: Client, url: str, body: dict, lang: str = "en"):
    return client.post(url, json.dumps(body), content_type="application/json", HTTP_ACCEPT_LANGUAGE=lang)


def _ask(client: Client, text: str, lang: str = "en") -> dict:
    started = _post(client, API, {"language": lang}, lang)
    assert started.status_code == 201, started.content
    conversation = started.json()
    assert conversation["turns"][0]["kind"] == "greeting"
    answered = _post(client, f"{API}/{conversation['id']}/messages", {"text": text}, lang)
    assert answered.status_code == 200, answered.content
    return answered.json()


def _zh(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


def test_scripted_questions_are_answered_from_the_expected_source(faqs, generous_limits):
    assert len(SCRIPT) >= 20
    client = Client()
    wrong = []
    for question, slug in SCRIPT:
        faq = Faq.objects.get(slug=slug)
        expected = faq.answer_zh if _zh(question) else faq.answer_en
        out = _ask(client, question, "zh-hant" if _zh(question) else "en")
        answer = out["answer"]
        if answer["kind"] != "answer" or answer["sources"][0]["ref"] != slug:
            wrong.append((question, slug, answer["kind"], [s["ref"] for s in answer["sources"]]))
            continue
        # quoted exactly, nothing added; linked to the page the answer comes from
        assert answer["text"] == expected, question
        assert answer["sources"][0]["url"] == faq.source_url
        assert answer["sources"][0]["title"] in (faq.question_en, faq.question_zh)
        assert out["question"]["text"] == question
    assert not wrong, wrong


def test_the_page_quotes_the_answer_with_its_title_and_link(faqs):
    client = Client()
    faq = Faq.objects.get(slug="scc-photo")
    response = client.post(
        "/assistant/", {"text": "what kind of photo for the senior citizen card"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 302
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert faq.answer_en in html
    assert f'href="{faq.source_url}"' in html
    assert faq.question_en in html
    assert 'aria-live="polite"' in html


@pytest.mark.parametrize(("question", "kind"), OUT_OF_SCOPE)
def test_out_of_scope_offers_1823_and_invents_nothing(faqs, question, kind):
    client = Client()
    lang = "zh-hant" if _zh(question) else "en"
    out = _ask(client, question, lang)
    answer = out["answer"]
    assert answer["kind"] == kind
    assert answer["sources"] == []  # nothing quoted …
    from django.utils import translation

    with translation.override(lang):  # … and only the fixed phrase said
        fixed = services._out_of_scope() if kind == "refuse" else services._nothing_found()
    assert answer["text"] == fixed
    assert "1823" in answer["text"]
    cid = out["conversation"]["id"]
    assert out["conversation"]["handoff_url"] == f"/1823/new/?conversation={cid}"
    page = client.get(f"/assistant/?c={cid}", HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    assert f'href="/1823/new/?conversation={cid}"' in page


def test_asking_for_a_person_offers_the_hand_off(faqs):
    out = _ask(Client(), "I want to talk to a real person at 1823")
    assert out["answer"]["kind"] == "handoff"
    assert out["answer"]["sources"] == []


def test_an_ambiguous_question_asks_which_one_and_the_choice_is_answered(faqs):
    client = Client()
    out = _ask(client, "licence")
    clarify = out["answer"]
    assert clarify["kind"] == "clarify"
    choices = clarify["sources"]
    assert 2 <= len(choices) <= services.MAX_CHOICES
    assert len({c["title"] for c in choices}) == len(choices)  # different candidates
    assert out["conversation"]["state"] == ConversationState.CLARIFYING
    cid = out["conversation"]["id"]

    picked = _post(client, f"{API}/{cid}/messages", {"choice": 2}).json()
    offered = Turn.objects.get(pk=clarify["id"]).sources[1]  # the choice as offered, with its passage
    assert picked["answer"]["kind"] == "answer"
    assert picked["answer"]["text"] == offered["text"]
    assert picked["answer"]["sources"][0]["url"] == offered["url"] == choices[1]["url"]
    if offered["kind"] == "faq":
        assert offered["text"] == Faq.objects.get(slug=offered["ref"]).answer_en
    assert picked["conversation"]["state"] == ConversationState.OPEN

    # Without JavaScript: the choice buttons post the same, and a bare number picks too.
    again = _ask(client, "licence")
    cid2 = again["conversation"]["id"]
    response = client.post("/assistant/", {"c": cid2, "choice": "1"})
    assert response.status_code == 302
    last = Turn.objects.filter(conversation_id=cid2).order_by("-id").first()
    assert last.kind == "answer" and last.sources[0]["ref"] == again["answer"]["sources"][0]["ref"]
    third = _ask(client, "licence")
    replied = _post(client, f"{API}/{third['conversation']['id']}/messages", {"text": "3"}).json()
    assert replied["answer"]["sources"][0]["ref"] == third["answer"]["sources"][2]["ref"]
    # a choice that was not offered
    bad = _post(client, f"{API}/{cid}/messages", {"choice": 2})
    assert bad.status_code == 400 and bad.json()["error"] == "choice_unknown"


def test_the_hand_off_carries_the_transcript_into_a_case(faqs):
    from django.test import RequestFactory

    from tungban.eservices.models import Department
    from tungban.hotline.models import Case, CaseType
    from tungban.hotline.services import handoff

    client = Client()
    out = _ask(client, "what kind of photo for the senior citizen card")
    cid = out["conversation"]["id"]
    _post(client, f"{API}/{cid}/messages", {"text": "tell me a joke"})

    # The 1823 form (/1823/new/?conversation=<id>) asks the registered source, with the
    # person's own request: the transcript is theirs …
    request = RequestFactory().get(f"/1823/new/?conversation={cid}")
    request.session = client.session
    transcript = handoff.transcript_for(cid, request)
    assert transcript.startswith(f"tungban assistant conversation {cid}")
    assert "what kind of photo for the senior citizen card" in transcript
    assert Faq.objects.get(slug="scc-photo").answer_en in transcript
    assert "/services/senior-citizen-card/apply" in transcript
    assert "tell me a joke" in transcript
    # … and nobody else's.
    stranger = RequestFactory().get("/1823/new/")
    stranger.session = Client().session
    assert handoff.transcript_for(cid, stranger) == ""
    assert handoff.transcript_for(str(uuid.uuid4()), request) == ""

    # The case created with it records the hand-off on the conversation.
    case_type = CaseType.objects.create(
        code="general-enquiry",
        name_en="General enquiry",
        name_zh="一般查詢",
        department=Department.objects.get(code="SWD"),
    )
    case = Case.objects.create(
        reference="1823-26-TESTCASE",
        case_type=case_type,
        description="From my conversation with the assistant.",
        channel="assistant",
        transcript=transcript,
    )
    case.refresh_from_db()
    assert case.transcript == transcript
    conversation = Conversation.objects.get(pk=cid)
    assert conversation.state == ConversationState.HANDED_OFF
    assert conversation.handoff_reference == "1823-26-TESTCASE"
