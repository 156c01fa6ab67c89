"""Pages of the AI Subsidy Scheme: the award optimiser's recommendation of a batch (issue 20, part C)."""

from django.urls import path

from . import views_recommend as views

urlpatterns = [path("<int:batch>/", views.batch, name="recommend")]
