"""Pages of the AI Subsidy Scheme: the award optimiser's recommendation of a batch (issue 20, part C).

The page reads parts A (``services.capacity``, ``services.funds``, ``services.awards``) and D
(``services.intake``); until both are merged the route is absent (the guard goes at the merge)."""

from importlib.util import find_spec

from django.urls import path

urlpatterns: list = []
if all(find_spec(f"tungban.subsidy.services.{m}") for m in ("awards", "capacity", "funds", "intake")):
    from . import views_recommend as views

    urlpatterns = [path("<int:batch>/", views.batch, name="recommend")]
