"""The assistant's conversations (issue 22): a :class:`Conversation` and its :class:`Turn`\\ s.

What the person types may be personal (PDPO: the person is the data subject), so each turn's
text is encrypted at rest (:mod:`tungban.core.fields`); the sources an answer quotes are the
platform's public pages and are kept as they are. A conversation belongs to the logged-in
resident who started it, or else to the browser session that started it (its id is kept in
that session: :mod:`tungban.assistant.services`).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from tungban.core.fields import EncryptedTextField
from tungban.identity.models import Resident


class ConversationState(models.TextChoices):
    """``open``: waiting for a question; ``clarifying``: the last answer asked which of its
    choices the person means; ``handed_off``: the transcript went to a 1823 case."""

    OPEN = "open", _("Open")
    CLARIFYING = "clarifying", _("Asking which one")
    HANDED_OFF = "handed_off", _("Handed to 1823")


class Conversation(models.Model):
    """One conversation with the assistant. ``language``: ``en`` or ``zh-hant`` (the page's
    when it started; each answer follows its question's language). ``handoff_reference``: the
    1823 case (``Case.reference``) the transcript was handed to, once it was."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    language = models.CharField(_("language"), max_length=10, default="zh-hant")
    resident = models.ForeignKey(
        Resident,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="assistant_conversations",
        verbose_name=_("resident"),
    )
    state = models.CharField(
        _("state"), max_length=12, choices=ConversationState.choices, default=ConversationState.OPEN
    )
    handoff_reference = models.CharField(_("1823 case"), max_length=24, blank=True)
    created_at = models.DateTimeField(_("started at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("assistant conversation")
        verbose_name_plural = _("assistant conversations")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return str(self.id)


class TurnRole(models.TextChoices):
    PERSON = "person", _("The person")
    ASSISTANT = "assistant", _("The assistant")


class TurnKind(models.TextChoices):
    """What an assistant turn is: ``answer`` (a quoted source), ``clarify`` (which of these?),
    ``handoff`` (nothing found, or asked for 1823: the hand-off is offered), ``greeting``,
    ``refuse`` (out of scope: the hand-off is offered). A person's turn is ``question``."""

    QUESTION = "question", _("Question")
    ANSWER = "answer", _("Answer")
    CLARIFY = "clarify", _("Clarifying question")
    HANDOFF = "handoff", _("Hand-off offered")
    GREETING = "greeting", _("Greeting")
    REFUSE = "refuse", _("Out of scope")


class Turn(models.Model):
    """One turn. ``text``: what was said (encrypted; an answer's text is the source's passage
    exactly). ``sources``: ``[{"kind", "ref", "title", "url", "department", "text"}]`` — for an
    answer the one source it quotes, for a clarifying question its choices in order."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="turns", verbose_name=_("conversation")
    )
    role = models.CharField(_("role"), max_length=10, choices=TurnRole.choices)
    kind = models.CharField(_("kind"), max_length=10, choices=TurnKind.choices)
    text = EncryptedTextField(_("text"))
    language = models.CharField(_("language"), max_length=10, default="zh-hant")
    sources = models.JSONField(_("sources"), default=list, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("turn")
        verbose_name_plural = _("turns")
        ordering = ["created_at", "id"]
