from django.urls import re_path

from . import views

app_name = "miniapps"

urlpatterns = [
    re_path(
        r"^(?P<miniapp_id>[a-z0-9-]{1,40})/(?P<sha256>[0-9a-f]{64})/(?P<path>[A-Za-z0-9_./-]{1,200})$",
        views.bundle_file,
        name="file",
    ),
]
