from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HotlineConfig(AppConfig):
    """1823 (政府熱線 1823, issue 22): cases — enquiries, complaints, suggestions and
    compliments — from the web, the app, the assistant's hand-off and Open311 GeoReport v2
    clients; routing to departments, the lead-department rule and escalation, pledge timers,
    mandatory closure with a reply and its date, reopening; the FAQ the search and the assistant
    draw on; anonymised case statistics as open data. Floor 8: it imports e-services
    (departments, services), notify, identity, opendata and search through their services."""

    name = "tungban.hotline"
    label = "hotline"
    verbose_name = _("1823 cases")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tungban.core import retention

        from .services import cases

        # The 1823 sweeps (issue 22): run by the worker with the other apps' sweeps.
        retention.register("hotline.escalation", cases.escalate_due)
        retention.register("hotline.reminders", cases.remind_due)

        # The monthly case statistics (open data): the worker's periodic purge keeps the
        # monthly task queued (tungban setup may not import 1823).
        from .services import statistics

        retention.register("hotline.statistics", statistics.keep_scheduled)

        # The app's panel card (issue 22: 1823 in the app).
        from tungban.wallet import cards as panel_cards

        from . import cards

        panel_cards.register(
            "hotline.cases",
            _("My 1823 cases"),
            load=cards.cases_card,
            description=_("Your enquiries, complaints, suggestions and compliments to 1823: their status and replies."),
            app=self.label,
        )

        # The FAQ is a search source (kind "faq", loaded by load_faqs).
        from tungban.search import sources

        from .services import faqs

        sources.register("faq", label_en="FAQ", label_zh="常見問題", documents=faqs.documents)
