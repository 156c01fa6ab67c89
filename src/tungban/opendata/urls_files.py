"""Resource files and the historical archive (issue 21, part ofiles), mounted at ``/data/``:
``files/<uuid>/<filename>`` (current), ``files/<uuid>/v/<sha256>/<filename>`` (a version),
``v1/historical-archive/<endpoint>`` (data.gov.hk's archive API). See
:mod:`tungban.opendata.views_files`."""

from django.urls import path

from . import views_files as v

app_name = "opendata_files"
urlpatterns: list = [
    path("files/<uuid:resource_id>/<str:filename>", v.current_file, name="current"),
    path("files/<uuid:resource_id>/v/<str:sha256>/<str:filename>", v.version_file, name="version"),
    path("v1/historical-archive/list-files", v.list_files, name="list_files"),
    path("v1/historical-archive/list-file-versions", v.list_file_versions, name="list_file_versions"),
    path("v1/historical-archive/get-file", v.get_file, name="get_file"),
    path("v1/historical-archive/get-schema", v.get_schema, name="get_schema"),
    path("v1/historical-archive/get-data-dictionary", v.get_data_dictionary, name="get_data_dictionary"),
]
