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

    def ready(self):
        from tungban.search import sources

        from .services import faqs

        # The FAQ is a search source (issue 22 agreed interface): kind "faq", loaded by load_faqs.
        sources.register("faq", label_en="FAQ", label_zh="常見問題", documents=faqs.documents)
