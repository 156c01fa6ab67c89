"""The grantee's pages (issue 20, part A), under ``/subsidy/grants/``; progress reports (part F)
below each award's."""

from django.urls import include, path

from . import views_grants as views

urlpatterns = [
    path("<uuid:award>/", views.grant, name="grant"),
    path("<uuid:award>/sign/", views.sign, name="grant_sign"),
    path("<uuid:award>/invoices/<int:invoice>/pay/", views.pay, name="grant_pay"),
    path("<uuid:award>/users/", views.add_user, name="grant_add_user"),
    path("<uuid:award>/users/remove/", views.remove_user, name="grant_remove_user"),
    path("<uuid:award>/reports/", include("tungban.subsidy.urls_progress")),
]
