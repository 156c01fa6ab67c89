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
