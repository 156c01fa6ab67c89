from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssistantConfig(AppConfig):
    """The e-form assistant (issue 22; 1823's chatbot 一一 joined with GovHK's Bonny, seed 002
    ITIB211/232): answers questions about services and e-forms from the platform's own content
    (retrieval over the search index, answers quoted with their source link, nothing invented),
    asks a clarifying question when unsure, and hands off to a 1823 case with the transcript.
    Floor 9: it imports search and hotline through their services."""

    name = "tungban.assistant"
    label = "assistant"
    verbose_name = _("Assistant")
    default_auto_field = "django.db.models.BigAutoField"
