"""Project-level pages that belong to no single app (as ``netbox/netbox/views``)."""

from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def home(request):
    """The landing page: links to the wallet app, the counter and the verifiers."""
    return render(request, "core/home.html")
