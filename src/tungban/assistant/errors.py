"""The assistant app's error codes (issue 22), declared once with ``DomainError.define`` (see ``core/errors.py``)."""

from django.utils.translation import gettext_lazy as _  # noqa: F401

from tungban.core.errors import Conflict, DomainError, Forbidden, NotFound  # noqa: F401

#: The longest question the assistant takes (characters).
MAX_QUESTION = 500

QuestionEmpty = DomainError.define("question_empty", _("Type a question first."), field="text")
QuestionTooLong = DomainError.define(
    "question_too_long", _("Your question is too long: at most %(max)s characters."), field="text"
)
ConversationUnknown = NotFound.define(
    "conversation_unknown", _("There is no such conversation: start a new one."), field="conversation"
)
ChoiceUnknown = DomainError.define(
    "choice_unknown", _("That is not one of the choices offered: pick one of the list, or ask again."), field="choice"
)
CsrfFailed = Forbidden.define(
    "csrf_failed", _("This request did not come from the assistant's page: reload the page and ask again.")
)
