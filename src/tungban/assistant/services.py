"""The e-form assistant (issue 22; seed 002 ITIB211/232: 1823's chatbot 一一 joined with GovHK's
Bonny "以加強1823聊天機械人解答有關電子表格查詢的能力"; anchor study §4.2–4.3: Ask Jamie's failure
— answering outside its domain — is why this assistant never writes its own answer).

How an answer is chosen (:func:`ask`):

1. A question is 1–:data:`~tungban.assistant.errors.MAX_QUESTION` characters (else
   ``question_empty`` / ``question_too_long``; nothing is stored).
2. While the last turn asked "which one?" (``clarifying``), a reply naming a choice (its number
   ``1``–``3``, or its title) is answered from that choice.
3. Words of an emergency (:data:`EMERGENCY_WORDS`: someone in danger, hurt, on fire …) → the
   fixed advice to call 999 now, before anything else, with the hand-off offered for the rest.
4. Asking for a person or 1823 (:data:`HANDOFF_WORDS`) → a ``handoff`` turn offering the case.
5. A question about something the platform does not cover (:data:`OUT_OF_SCOPE_WORDS`: weather,
   politics, the person's private life …) → ``refuse``, with the hand-off offered.
6. Otherwise the one search (:func:`tungban.search.services.query`, kinds :data:`KINDS`; it
   converts Simplified Chinese and corrects typos) gives the candidates, and :func:`decide`:

   * no hit scoring at least :data:`MIN_SCORE` (:data:`MIN_SCORE_CORRECTED` when the search
     corrected a word of the question) → ``handoff`` (nothing matched well);
   * the best hit ahead of every other *different* candidate by at least :data:`MARGIN` →
     ``answer``: the hit's text (the FAQ's answer, the field's help, the service's summary)
     quoted exactly, with its title and link;
   * two or three different candidates within :data:`MARGIN` of the best → ``clarify``: they
     are offered as choices. Candidates with the same text, or the same title and page, count
     as one.

Never done: text that is not a source's passage or one of this module's fixed bilingual phrases;
an answer without its source's link; a model download. A generative model
(``TUNGBAN_ASSISTANT_MODEL_URL``, off by default) may only rephrase the chosen passage, whose
source and exact text stay with the turn (:func:`rephrase`).

Who may see a conversation: the logged-in resident who started it, or the browser session that
started it (its id is kept in that session under :data:`SESSION_KEY`); anyone else is told
``conversation_unknown``, as for an id that does not exist.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass

import requests
from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from tungban.core import ratelimit
from tungban.core.errors import DomainError
from tungban.eservices import login
from tungban.search import services as search

from .errors import MAX_QUESTION, ChoiceUnknown, ConversationUnknown, QuestionEmpty, QuestionTooLong
from .models import Conversation, ConversationState, Turn, TurnKind, TurnRole

logger = logging.getLogger(__name__)

#: The kinds of search document the assistant answers from (not datasets).
KINDS = ("faq", "field_help", "service", "form")
#: The lowest search score (``Hit.score``) an answer may come from. The search's score of its
#: best hit is 1 (its BM25 / ts_rank scaled to the best) + 1.2 × the share of the question's
#: terms in the title + 1.0 × their share anywhere (+ 0.5–1 when the title contains or equals
#: the question; + the kind's boost, 0–0.35; + popularity, ≤ 0.2). Below 2.0 the best hit has
#: most of the question's words nowhere — the search fell back to documents matching *any*
#: word ("the best football team" → a page that mentions football): not an answer. Measured on
#: the shipped FAQ (docs/architecture.md, "The e-form assistant"): the questions it answers
#: score 2.1–3.9, unrelated ones 1.2–1.95.
MIN_SCORE = 2.0
#: The same when the search corrected a word of the question (``Results.corrected``: "email"
#: searched as "mail"): a guessed word must be matched better.
MIN_SCORE_CORRECTED = 2.5
#: How far ahead of the next *different* candidate the best must be to be answered at once;
#: candidates within it are offered as a choice.
MARGIN = 0.25
#: At most this many choices in a clarifying question.
MAX_CHOICES = 3
#: How many hits are read from the search.
ROWS = 8
#: The search's longest query (its ``query_too_long``): a longer question is searched by its start.
SEARCH_MAX = 200
#: The session key holding the ids of the conversations the browser started (newest last).
SESSION_KEY = "assistant.conversations"
#: How many conversation ids a session remembers.
SESSION_KEEP = 20

#: Words asking for a person (1823) rather than an answer (whole words, or Chinese substrings).
HANDOFF_WORDS = (
    "1823",
    "human",
    "real person",
    "officer",
    "operator",
    "complain",
    "complaint",
    "talk to someone",
    "真人",
    "人工",
    "職員",
    "职员",
    "投訴",
    "投诉",
    "客服",
)
#: Someone may be in danger now (review finding): before anything else the assistant says to
#: call 999 — the Hong Kong emergency number for the Police, the Fire Services and ambulances —
#: and offers 1823 only for what is not an emergency (whole words, or Chinese substrings).
EMERGENCY_WORDS = (
    "in danger",
    "beating",
    "beaten",
    "hitting me",
    "hit me",
    "abuse",
    "abused",
    "suicide",
    "kill myself",
    "killing myself",
    "on fire",
    "bleeding",
    "unconscious",
    "collapsed",
    "heart attack",
    "can't breathe",
    "cannot breathe",
    "救命",
    "被打",
    "打人",
    "毆打",
    "殴打",
    "虐待",
    "家暴",
    "自殺",
    "自杀",
    "想死",
    "輕生",
    "轻生",
    "火警",
    "著火",
    "着火",
    "起火",
    "流血",
    "暈倒",
    "晕倒",
    "昏迷",
    "唔識郁",
    "呼吸困難",
    "呼吸困难",
)
#: Subjects outside government services and e-forms: the assistant says so and offers 1823
#: instead of searching (the search would find some page with a shared word).
OUT_OF_SCOPE_WORDS = (
    "weather",
    "typhoon signal",
    "rain",
    "politics",
    "political",
    "election",
    "vote for",
    "chief executive",
    "legco",
    "stock",
    "shares price",
    "bitcoin",
    "mark six",
    "lottery",
    "horoscope",
    "girlfriend",
    "boyfriend",
    "my wife",
    "my husband",
    "divorce",
    "love",
    "joke",
    "recipe",
    "football score",
    "天氣",
    "天气",
    "颱風",
    "台风",
    "落雨",
    "下雨",
    "政治",
    "選舉",
    "选举",
    "投票",
    "特首",
    "立法會",
    "立法会",
    "股票",
    "股價",
    "股价",
    "比特幣",
    "比特币",
    "六合彩",
    "彩票",
    "星座",
    "女朋友",
    "男朋友",
    "老婆",
    "老公",
    "離婚",
    "离婚",
    "拍拖",
    "戀愛",
    "恋爱",
    "笑話",
    "笑话",
    "食譜",
    "食谱",
)

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


# --- fixed phrases (the only text the assistant writes itself) ----------------------------------


def _greeting() -> str:
    return _(
        "Hello. I answer questions about government services and e-forms with the platform's own "
        "pages, and show you where each answer comes from. For example: “How do I save a draft?”"
    )


def _clarify() -> str:
    return _("Which one do you mean? Choose one:")


def _nothing_found() -> str:
    return _(
        "Sorry, I could not find an answer to that in the platform's pages. You can ask 1823: "
        "this conversation goes with your case, so you need not repeat it."
    )


def _out_of_scope() -> str:
    return _(
        "Sorry, I can only answer questions about government services and e-forms. For anything "
        "else you can ask 1823: this conversation goes with your case."
    )


def _emergency() -> str:
    return _(
        "If someone is in danger or hurt now, call 999 (Police, Fire Services, ambulance) at once. "
        "This assistant cannot send help. For a matter that is not an emergency you can ask 1823: "
        "this conversation goes with your case."
    )


def _handoff() -> str:
    return _("You can pass your question to 1823: this conversation goes with your case, so you need not repeat it.")


# --- conversations and who may see them -----------------------------------------------------------


def normalise_language(language: str | None) -> str:
    """``en`` or ``zh-hant`` (anything starting with ``zh``; default ``zh-hant``)."""
    return "en" if (language or "").lower().startswith("en") else "zh-hant"


def _remember(request, conversation: Conversation) -> None:
    ids = [i for i in request.session.get(SESSION_KEY, []) if i != str(conversation.id)]
    request.session[SESSION_KEY] = [*ids, str(conversation.id)][-SESSION_KEEP:]


def start(request, language: str | None = None) -> Conversation:
    """A new conversation for ``request``'s person (the logged-in resident, if any; it is
    remembered in the session either way), opened with a greeting in ``language`` (``en`` or
    ``zh-hant``; default the request's)."""
    language = normalise_language(language or translation.get_language())
    with transaction.atomic():
        conversation = Conversation.objects.create(language=language, resident=login.resident_of(request))
        with translation.override(language):
            Turn.objects.create(
                conversation=conversation,
                role=TurnRole.ASSISTANT,
                kind=TurnKind.GREETING,
                text=_greeting(),
                language=language,
            )
    _remember(request, conversation)
    return conversation


def may_see(request, conversation: Conversation) -> bool:
    """Whether ``request``'s person may see ``conversation``: it is in their session's list, or
    it belongs to the resident logged in."""
    if str(conversation.id) in request.session.get(SESSION_KEY, []):
        return True
    if conversation.resident_id is None:
        return False
    resident = login.resident_of(request)
    return resident is not None and resident.pk == conversation.resident_id


def conversation_for(request, conversation_id) -> Conversation:
    """The conversation ``conversation_id`` if ``request``'s person may see it.

    :raises ConversationUnknown: (404) not a UUID, no such conversation, or another person's."""
    try:
        pk = uuid.UUID(str(conversation_id))
    except (ValueError, TypeError, AttributeError):
        raise ConversationUnknown() from None
    conversation = Conversation.objects.filter(pk=pk).first()
    if conversation is None or not may_see(request, conversation):
        raise ConversationUnknown()
    return conversation


def latest_for(request) -> Conversation | None:
    """The newest conversation of the request's session that still exists, or ``None``."""
    for cid in reversed(request.session.get(SESSION_KEY, [])):
        conversation = Conversation.objects.filter(pk=cid).first()
        if conversation is not None:
            return conversation
    return None


def count_question(request, conversation: Conversation) -> None:
    """Count a question against the rate limits ``assistant`` (per client address) and
    ``assistant_conversation`` (per conversation), :mod:`tungban.core.ratelimit`.

    :raises tungban.core.ratelimit.RateLimited: (429) past either limit."""
    ratelimit.count("assistant", ratelimit.client_ip(request))
    ratelimit.count("assistant_conversation", str(conversation.id))


# --- choosing an answer ------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A search hit as the assistant keeps it (``sources`` of a turn)."""

    kind: str
    ref: str
    title: str
    text: str
    url: str
    department: str
    score: float

    @classmethod
    def of(cls, hit) -> Candidate:
        return cls(
            kind=hit.kind,
            ref=hit.ref,
            title=hit.title,
            text=hit.text,
            url=hit.url,
            department=getattr(hit, "department_name", "") or "",
            score=float(hit.score),
        )

    def as_source(self) -> dict:
        return {
            "kind": self.kind,
            "ref": self.ref,
            "title": self.title,
            "url": self.url,
            "department": self.department,
            "text": self.text,
        }


def _same(a: Candidate, b: Candidate) -> bool:
    """Two candidates are one answer: the same passage, or the same title on the same page."""
    return (a.text.strip() and a.text.strip() == b.text.strip()) or (a.title == b.title and a.url == b.url)


def decide(candidates: list[Candidate], *, corrected: bool = False) -> tuple[str, list[Candidate]]:
    """What to do with the search's candidates (best first; best bets may come first with a
    score of 0 and are ranked as the best).

    :param corrected: the search corrected a word of the question (:data:`MIN_SCORE_CORRECTED`).
    :returns: ``("answer", [best])``, ``("clarify", [2–3 different candidates])`` or
        ``("none", [])`` — the rules in the module's docstring (:data:`MIN_SCORE`,
        :data:`MARGIN`, :data:`MAX_CHOICES`): a candidate exactly :data:`MARGIN` behind the best
        is not close."""
    usable = [c for c in candidates if c.text.strip()]
    if not usable:
        return "none", []
    # A best bet (score 0, first) is staff's choice for the words: it counts as the best.
    top_score = max(c.score for c in usable)
    scored = [Candidate(**{**c.__dict__, "score": top_score + MARGIN}) if c.score == 0 else c for c in usable]
    best = scored[0]
    floor = MIN_SCORE_CORRECTED if corrected else MIN_SCORE
    if best.score < floor:
        return "none", []
    distinct: list[Candidate] = [best]
    for c in scored[1:]:
        if c.score <= best.score - MARGIN or c.score < floor:
            continue
        if any(_same(c, d) for d in distinct):
            continue
        distinct.append(c)
        if len(distinct) == MAX_CHOICES:
            break
    if len(distinct) == 1:
        return "answer", [usable[0]]
    originals = {(c.kind, c.ref): c for c in usable}
    return "clarify", [originals[(c.kind, c.ref)] for c in distinct]


def _matches(text: str, words) -> bool:
    low = text.lower()
    for w in words:
        if _CJK.search(w):
            if w in text:
                return True
        elif re.search(rf"(?<![a-z0-9]){re.escape(w)}(?![a-z0-9])", low):
            return True
    return False


def _language_of(text: str, conversation: Conversation) -> str:
    """The answer's language: Chinese for a question with Han characters, English for one
    without any when the conversation is English, else the conversation's."""
    if _CJK.search(text):
        return "zh-hant"
    if re.search(r"[A-Za-z]", text):
        return "en"
    return conversation.language


def _pick_choice(text: str, choice: int | None, sources: list[dict]) -> dict | None:
    """The choice the reply names: ``choice`` (1-based), a reply that is just its number, or
    its exact title; ``None`` when the reply names none (a new question)."""
    if choice is not None:
        if 1 <= choice <= len(sources):
            return sources[choice - 1]
        raise ChoiceUnknown()
    stripped = text.strip().rstrip(".。").strip()
    if stripped.isdigit():
        n = int(stripped)
        if 1 <= n <= len(sources):
            return sources[n - 1]
        raise ChoiceUnknown()
    for s in sources:
        if stripped.casefold() == s["title"].strip().casefold():
            return s
    return None


def rephrase(passage: str, question: str, language: str) -> str | None:
    """Ask the model endpoint ``TUNGBAN_ASSISTANT_MODEL_URL`` (off when empty, the default) to
    rephrase ``passage`` for ``question``: ``POST {"question", "passage", "language"}`` →
    ``{"text": str}``. The caller keeps the source and the exact passage with the turn.

    :returns: the rephrased text, or ``None`` (no endpoint, or any failure: the passage is then
        quoted as it is)."""
    url = settings.TUNGBAN_ASSISTANT_MODEL_URL
    if not url:
        return None
    try:
        response = requests.post(
            url,
            json={"question": question, "passage": passage, "language": language},
            timeout=settings.TUNGBAN_ASSISTANT_MODEL_TIMEOUT,
        )
        response.raise_for_status()
        text = response.json().get("text")
    except (requests.RequestException, ValueError, AttributeError):
        logger.warning("assistant model endpoint failed; quoting the passage", exc_info=True)
        return None
    return text.strip() if isinstance(text, str) and text.strip() else None


def _answer_turn(conversation: Conversation, source: dict, question: str, language: str) -> Turn:
    text = source["text"]
    kept = dict(source)
    rephrased = rephrase(text, question, language)
    if rephrased:
        kept["rephrased"] = True
        text = rephrased
    return Turn(
        conversation=conversation,
        role=TurnRole.ASSISTANT,
        kind=TurnKind.ANSWER,
        text=text,
        language=language,
        sources=[kept],
    )


def check_question(text) -> str:
    """``text`` stripped.

    :raises QuestionEmpty: blank. :raises QuestionTooLong: over :data:`MAX_QUESTION`."""
    text = (text or "").strip() if isinstance(text, str) else ""
    if not text:
        raise QuestionEmpty()
    if len(text) > MAX_QUESTION:
        raise QuestionTooLong(max=MAX_QUESTION)
    return text


def ask(conversation: Conversation, text: str, *, choice: int | None = None) -> Turn:
    """Answer ``text`` (or the ``choice``-th choice of the last clarifying question) in
    ``conversation``: both turns are stored in one transaction and the assistant's is returned.
    Rules: the module's docstring.

    :raises QuestionEmpty: (400) blank ``text`` without a ``choice``.
    :raises QuestionTooLong: (400) over :data:`~tungban.assistant.errors.MAX_QUESTION` characters.
    :raises ChoiceUnknown: (400) a ``choice`` (or a bare number while choices are offered) that
        is not one of them, or a ``choice`` when none are offered."""
    last = conversation.turns.filter(role=TurnRole.ASSISTANT).order_by("-created_at", "-id").first()
    offered = last.sources if (last and last.kind == TurnKind.CLARIFY) else []
    if choice is not None and not offered:
        raise ChoiceUnknown()
    if choice is not None and not (text or "").strip():
        text = ""
        picked = _pick_choice("", choice, offered)
        question = picked["title"]
    else:
        question = check_question(text)
        picked = _pick_choice(question, choice, offered) if offered else None
    language = (
        _language_of(question, conversation) if not picked else (last.language if last else conversation.language)
    )

    with translation.override(language):
        if picked is not None:
            reply = _answer_turn(conversation, picked, question, language)
        elif _matches(question, EMERGENCY_WORDS):
            reply = Turn(kind=TurnKind.REFUSE, text=_emergency())
        elif _matches(question, HANDOFF_WORDS):
            reply = Turn(kind=TurnKind.HANDOFF, text=_handoff())
        elif _matches(question, OUT_OF_SCOPE_WORDS):
            reply = Turn(kind=TurnKind.REFUSE, text=_out_of_scope())
        else:
            reply = _search_turn(conversation, question, language)
    reply.conversation = conversation
    reply.role = TurnRole.ASSISTANT
    reply.language = language

    with transaction.atomic():
        Turn.objects.create(
            conversation=conversation, role=TurnRole.PERSON, kind=TurnKind.QUESTION, text=question, language=language
        )
        reply.save()
        state = ConversationState.CLARIFYING if reply.kind == TurnKind.CLARIFY else ConversationState.OPEN
        if conversation.state != ConversationState.HANDED_OFF:
            conversation.state = state
        conversation.save(update_fields=["state", "updated_at"])
    return reply


def _search_turn(conversation: Conversation, question: str, language: str) -> Turn:
    try:
        results = search.query(question[:SEARCH_MAX], kinds=KINDS, language=language, rows=ROWS)
    except DomainError:  # e.g. a question of symbols only: nothing to search
        return Turn(kind=TurnKind.HANDOFF, text=_nothing_found())
    action, chosen = decide([Candidate.of(h) for h in results.hits], corrected=bool(results.corrected))
    if action == "answer":
        return _answer_turn(conversation, chosen[0].as_source(), question, language)
    if action == "clarify":
        return Turn(kind=TurnKind.CLARIFY, text=_clarify(), sources=[c.as_source() for c in chosen])
    return Turn(kind=TurnKind.HANDOFF, text=_nothing_found())


# --- showing and handing over --------------------------------------------------------------------


def turns(conversation: Conversation) -> list[Turn]:
    return list(conversation.turns.order_by("created_at", "id"))


def transcript_text(conversation: Conversation) -> str:
    """The conversation as plain text for a 1823 case: a first line naming it (its id, which
    :func:`record_handoff` reads back), then each turn; an answer with ``From: <title> <url>``,
    a clarifying question with its numbered choices."""
    lines = [f"tungban assistant conversation {conversation.id}"]
    with translation.override(conversation.language):
        for t in turns(conversation):
            who = _("Person") if t.role == TurnRole.PERSON else _("Assistant")
            lines.append(f"{who}: {t.text}")
            if t.kind == TurnKind.ANSWER:
                for s in t.sources:
                    lines.append(f"  {_('From:')} {s['title']} {s['url']}")
            elif t.kind == TurnKind.CLARIFY:
                for n, s in enumerate(t.sources, start=1):
                    lines.append(f"  {n}. {s['title']} {s['url']}")
    return "\n".join(lines)


def transcript_source(conversation_id: str, request) -> str | None:
    """The transcript source registered with 1823's hand-off
    (:func:`tungban.hotline.services.handoff.register_transcript_source`): the transcript of
    ``conversation_id`` when ``request``'s person may see it, else ``None``."""
    try:
        conversation = conversation_for(request, conversation_id)
    except ConversationUnknown:
        return None
    return transcript_text(conversation)


_TRANSCRIPT_ID = re.compile(r"^tungban assistant conversation ([0-9a-f-]{36})$", re.MULTILINE)


def record_handoff(transcript: str, reference: str) -> bool:
    """Mark the conversation a case's ``transcript`` came from as handed off to the case
    ``reference`` (called when a case with a transcript is created). :returns: whether one was."""
    match = _TRANSCRIPT_ID.search(transcript or "")
    if not match:
        return False
    return bool(
        Conversation.objects.filter(pk=match.group(1)).update(
            state=ConversationState.HANDED_OFF, handoff_reference=reference[:24]
        )
    )


def panel_card(resident) -> dict:
    """The wallet panel card ``assistant.ask`` (:mod:`tungban.wallet.cards`): a link to the
    assistant."""
    return {
        "state": "ok",
        "items": [
            {
                "label": _("Ask the e-form assistant"),
                "value": _("Which form, which document, how to pay or sign: answers from the platform's pages."),
                "href": "/assistant/",
            }
        ],
        "sources": [],
        "message": "",
    }
