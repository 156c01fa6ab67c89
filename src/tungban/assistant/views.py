"""The assistant's page at /assistant/ (issue 22): a chat panel that works without JavaScript
(a form posting the question; the conversation's id in the URL, ``?c=<id>``, and in the
session) and with it (``static/assistant/chat.js`` calls the API, :mod:`tungban.assistant.api`)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from tungban.core import ratelimit
from tungban.core.errors import DomainError

from . import services
from .errors import MAX_QUESTION
from .models import Conversation, TurnKind


def handoff_url(conversation: Conversation | None) -> str:
    """The 1823 case form carrying this conversation's transcript."""
    base = reverse("hotline:new") if _has_hotline_new() else "/1823/new/"
    return f"{base}?{urlencode({'conversation': str(conversation.id)})}" if conversation else base


def _has_hotline_new() -> bool:
    from django.urls import NoReverseMatch

    try:
        reverse("hotline:new")
    except NoReverseMatch:
        return False
    return True


def _page(request, conversation: Conversation | None, *, error: str = "", text: str = "", status: int = 200):
    items = services.turns(conversation) if conversation else []
    return render(
        request,
        "assistant/chat.html",
        {
            "conversation": conversation,
            "turns": items,
            "error": error,
            "text": text,
            "max_question": MAX_QUESTION,
            "handoff_url": handoff_url(conversation),
            "offer_kinds": (TurnKind.HANDOFF, TurnKind.REFUSE),
        },
        status=status,
    )


def _redirect(conversation: Conversation, turn_id: int | None = None) -> HttpResponseRedirect:
    url = f"{reverse('assistant:chat')}?{urlencode({'c': str(conversation.id)})}"
    return HttpResponseRedirect(f"{url}#turn-{turn_id}" if turn_id else url)


@require_http_methods(["GET", "POST"])
def chat(request):
    """GET: the conversation ``?c=<id>`` (or the session's newest; none yet: the greeting and
    the form). POST ``text`` (and ``c``; ``choice``: the number of a choice offered): ask, then
    back to the conversation (post/redirect/get). Bad input: the page again with the error in
    the person's language, status 400 (404: a conversation they may not see; 429: too many)."""
    cid = request.POST.get("c") if request.method == "POST" else request.GET.get("c")
    conversation = None
    if cid:
        try:
            conversation = services.conversation_for(request, cid)
        except DomainError as exc:
            return _page(request, None, error=str(exc.message), status=exc.status)
    elif request.method == "GET":
        conversation = services.latest_for(request)
    if request.method == "GET":
        return _page(request, conversation)

    text = request.POST.get("text", "")
    raw_choice = request.POST.get("choice")
    try:
        choice = int(raw_choice) if raw_choice else None
    except ValueError:
        choice = -1
    try:
        if choice is None:
            services.check_question(text)  # before anything is stored
        if conversation is None:
            if choice is not None:
                raise services.ChoiceUnknown()
            ratelimit.count("assistant", ratelimit.client_ip(request))  # before anything is stored
            conversation = services.start(request)
            ratelimit.count("assistant_conversation", str(conversation.id))
        else:
            services.count_question(request, conversation)
        reply = services.ask(conversation, text, choice=choice)
    except DomainError as exc:
        return _page(request, conversation, error=str(exc.message), text=text[:MAX_QUESTION], status=exc.status)
    return _redirect(conversation, reply.id)


@require_POST
def new(request):
    """Start a new conversation (the old one stays in the session's list)."""
    return _redirect(services.start(request))
