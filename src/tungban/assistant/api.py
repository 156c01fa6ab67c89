"""The assistant's API (issue 22), used by the chat page's script and open to any client that
keeps the session cookie: ``POST /api/v1/assistant/conversations`` starts a conversation (its
id is remembered in the session), ``GET …/{id}`` shows it, ``POST …/{id}/messages`` asks.

A conversation is visible only to the session that started it or the resident logged in who
started it; anyone else gets ``conversation_unknown`` (404), as for an id that does not exist.
A request carrying the session cookie must carry the CSRF token too (``X-CSRFToken``, as
Django's pages do: a page of another site cannot ask in someone's name) — ``csrf_failed`` (403).
"""

from __future__ import annotations

from datetime import datetime

from django.middleware.csrf import CsrfViewMiddleware
from ninja import Field, Router, Schema, Status

from tungban.core import ratelimit
from tungban.core.api import ErrorOut, error_responses

from . import services
from .errors import MAX_QUESTION, CsrfFailed
from .models import Conversation, Turn
from .views import handoff_url

router = Router(tags=["assistant"])


class SourceOut(Schema):
    kind: str = Field(description="search document kind: faq, field_help, service or form")
    ref: str
    title: str
    url: str = Field(description="the page the passage comes from (a path on the platform)")
    department: str = ""


class TurnOut(Schema):
    id: int
    role: str = Field(description="person or assistant")
    kind: str = Field(description="question (the person's); answer, clarify, handoff, greeting or refuse")
    text: str = Field(description="an answer's text is its source's passage exactly")
    language: str = Field(description="en or zh-hant")
    sources: list[SourceOut] = Field(description="an answer: its source; a clarifying question: its choices, in order")
    created_at: datetime


class ConversationOut(Schema):
    id: str
    language: str
    state: str = Field(description="open, clarifying or handed_off")
    handoff_reference: str = Field(description="the 1823 case the transcript went to, once it did")
    handoff_url: str = Field(description="the 1823 case form that receives this conversation's transcript")
    turns: list[TurnOut]


class StartIn(Schema):
    language: str = Field("zh-hant", description="en or zh-hant (anything starting with zh)")


class MessageIn(Schema):
    text: str = Field("", description=f"the question, 1–{MAX_QUESTION} characters (blank when choice is given)")
    choice: int | None = Field(None, description="the number (from 1) of a choice the last clarifying question offered")


class MessageOut(Schema):
    question: TurnOut
    answer: TurnOut
    conversation: ConversationOut


def _turn(t: Turn) -> dict:
    return {
        "id": t.id,
        "role": t.role,
        "kind": t.kind,
        "text": t.text,
        "language": t.language,
        "sources": [{k: s.get(k, "") for k in ("kind", "ref", "title", "url", "department")} for s in t.sources],
        "created_at": t.created_at,
    }


def _conversation(c: Conversation, *, with_turns: bool = True) -> dict:
    return {
        "id": str(c.id),
        "language": c.language,
        "state": c.state,
        "handoff_reference": c.handoff_reference,
        "handoff_url": handoff_url(c),
        "turns": [_turn(t) for t in services.turns(c)] if with_turns else [],
    }


def _check_csrf(request) -> None:
    """A cookie-carrying request must pass Django's CSRF check (the page's token)."""
    from django.conf import settings

    if request.COOKIES.get(settings.SESSION_COOKIE_NAME):
        refused = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
        if refused is not None:
            raise CsrfFailed()


@router.post(
    "/conversations",
    response={201: ConversationOut, **error_responses(403, 429)},
    summary="Start a conversation",
)
@ratelimit.limit_operation("assistant")
def start(request, body: StartIn | None = None):
    """A new conversation (its greeting is the first turn), remembered in the session; for the
    resident logged in to e-services, also theirs. Rate-limited per client address
    (``assistant``)."""
    _check_csrf(request)
    conversation = services.start(request, body.language if body else None)
    return Status(201, _conversation(conversation))


@router.get(
    "/conversations/{conversation_id}",
    response={200: ConversationOut, **error_responses(404)},
    summary="A conversation and its turns",
)
def show(request, conversation_id: str):
    """``conversation_unknown`` (404): no such conversation, or not this session's or resident's."""
    return _conversation(services.conversation_for(request, conversation_id))


@router.post(
    "/conversations/{conversation_id}/messages",
    response={200: MessageOut, 400: ErrorOut, **error_responses(403, 404, 429)},
    summary="Ask a question (or pick a choice)",
)
def message(request, conversation_id: str, body: MessageIn):
    """Ask ``text`` (or pick ``choice``). The answer is a source's passage quoted exactly with
    its link (``answer``), a clarifying question with 2–3 choices (``clarify``), or, when nothing
    matches well or the question is out of scope, the offer of a 1823 case carrying the
    transcript (``handoff``/``refuse``; ``conversation.handoff_url``). Errors: ``question_empty``,
    ``question_too_long`` (over 500 characters), ``choice_unknown`` (400); ``csrf_failed`` (403);
    ``conversation_unknown`` (404); ``rate_limited`` (429: per client address ``assistant``, per
    conversation ``assistant_conversation``). Nothing is stored on an error."""
    _check_csrf(request)
    conversation = services.conversation_for(request, conversation_id)
    if body.choice is None:
        services.check_question(body.text)
    services.count_question(request, conversation)
    reply = services.ask(conversation, body.text, choice=body.choice)
    question = conversation.turns.filter(id__lt=reply.id).order_by("-id").first()
    conversation.refresh_from_db()
    return {
        "question": _turn(question),
        "answer": _turn(reply),
        "conversation": _conversation(conversation, with_turns=False),
    }
