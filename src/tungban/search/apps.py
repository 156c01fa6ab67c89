from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SearchConfig(AppConfig):
    """One search (issue 22): one bilingual index over services, forms, form-field help, FAQs
    and datasets, with facets by kind and department and best bets set by staff. Floor 6: the
    apps that own the content register their sources here (:mod:`tungban.search.sources`); the
    search imports none of them."""

    name = "tungban.search"
    label = "search"
    verbose_name = _("Search")
    default_auto_field = "django.db.models.BigAutoField"
