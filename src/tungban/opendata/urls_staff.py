"""The data officers' desk and the Departmental Data Officer's approvals under
``/staff/data/`` (issue 21, part opages)."""

from django.urls import path

from . import views_staff as views

app_name = "opendata_staff"
urlpatterns = [
    path("", views.home, name="home"),
    path("new/", views.new_dataset, name="new"),
    path("dataset/<slug:name>/", views.dataset, name="dataset"),
    path("dataset/<slug:name>/resources/", views.add_resource, name="add-resource"),
    path("dataset/<slug:name>/resources/<uuid:resource_id>/versions/", views.add_version, name="add-version"),
    path("dataset/<slug:name>/resources/<uuid:resource_id>/harvest/", views.register_harvest, name="register-harvest"),
    path("dataset/<slug:name>/submit/", views.submit, name="submit"),
    path("approvals/", views.approvals, name="approvals"),
    path("approvals/<int:pk>/", views.approval, name="approval"),
    path("approvals/<int:pk>/approve/", views.approve, name="approve"),
    path("approvals/<int:pk>/return/", views.return_submission, name="return"),
]
