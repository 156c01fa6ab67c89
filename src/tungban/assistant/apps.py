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

    def ready(self):
        from django.db.models.signals import post_save

        from tungban.hotline.models import Case
        from tungban.hotline.services import handoff
        from tungban.wallet import cards as panel_cards

        from . import services

        # The 1823 case form asks for the transcript of /1823/new/?conversation=<id> (issue 22).
        handoff.register_transcript_source(services.transcript_source)
        post_save.connect(_case_created, sender=Case, dispatch_uid="assistant-handoff-reference")
        panel_cards.register(
            "assistant.ask",
            _("E-form assistant"),
            load=services.panel_card,
            description=_(
                "Ask which form, which document, how to pay or sign; answers quoted from the platform's pages."
            ),
            app=self.label,
        )


def _case_created(sender, instance, created, **kwargs):
    """A new case carrying an assistant transcript: the conversation records its reference."""
    if created and instance.transcript:
        from . import services

        services.record_handoff(instance.transcript, instance.reference)
