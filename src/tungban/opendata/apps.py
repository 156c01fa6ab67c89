from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpendataConfig(AppConfig):
    """資料一線通 Open data (issue 21): a CKAN-compatible catalogue of datasets and their
    versioned resources, the historical archive, DCAT-AP 3, harvesting, the departmental data
    catalogues under each Departmental Data Officer, and usage statistics. Floor 6: it imports
    core, and exchange's services for data products."""

    name = "tungban.opendata"
    label = "opendata"
    verbose_name = _("Open data")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from tungban.core import retention

        from .services import harvest

        # the worker's periodic sweep queues the harvest sources that are due (issue 21)
        retention.register("opendata.harvest", harvest.poll_due)
        # the published datasets in the one search (issue 22)
        from . import search_sources

        search_sources.register_source()
