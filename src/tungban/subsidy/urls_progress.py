"""A grantee's progress reports (issue 20, part F), under ``/subsidy/grants/<award>/reports/``."""

from django.urls import path

from . import views_progress as v

urlpatterns = [
    path("", v.report_list, name="progress-reports"),
    path("<int:sequence>/", v.report_form, name="progress-report"),
]
