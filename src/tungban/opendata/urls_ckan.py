"""The CKAN Action API (issue 21, part oapi; :mod:`tungban.opendata.api_ckan`), mounted at
``/``: ``api/3/action/<action>`` and ``api/action/<action>`` (English), and the same under
data.gov.hk's language prefixes ``en-data/``, ``tc-data/`` (Traditional Chinese) and
``sc-data/`` (Simplified Chinese); the OpenAPI document at ``api/3/openapi.json``."""

from django.urls import path

from . import api_ckan

app_name = "opendata_ckan"
urlpatterns = [path("api/3/openapi.json", api_ckan.openapi, name="openapi")]
for _prefix in api_ckan.PREFIXES:
    _key = _prefix.split("-")[0] or "default"
    urlpatterns += [
        path(f"{_prefix}api/3/action/<str:name>", api_ckan.dispatch, {"prefix": _prefix}, name=f"action-{_key}"),
        path(f"{_prefix}api/action/<str:name>", api_ckan.dispatch, {"prefix": _prefix}, name=f"action2-{_key}"),
    ]
