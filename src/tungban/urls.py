"""Root URL configuration."""

from django.contrib import admin
from django.urls import include, path

from tungban.oidc import views as oidc_views

from . import views
from .api import api

#: Errors raised outside views (e.g. in middleware): 503 for a database fault, JSON 500 under /api/.
handler500 = "tungban.core.faults.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    path(".well-known/openid-configuration", oidc_views.discovery, name="openid-configuration"),
    # Cross-boundary login (issue 23): OpenID Federation 1.0 entity configuration and endpoints.
    path("", include("tungban.federation.urls_root")),
    path("federation/", include("tungban.federation.urls")),
    path("cross-boundary/", include("tungban.federation.urls_public")),
    path("oidc/", include("tungban.oidc.urls")),
    path("app/", include("tungban.wallet.urls")),
    path("staff/eservices/", include("tungban.eservices.urls_staff")),
    path("staff/payments/reconciliation/", include("tungban.payments.urls_recon")),
    path("staff/payments/", include("tungban.payments.urls_staff")),
    path("staff/subsidy/", include("tungban.subsidy.urls_staff")),
    path("staff/committees/", include("tungban.committees.urls")),
    # Open data (issue 21): the departmental data catalogue and the data officers' desk.
    path("staff/data/catalogue/", include("tungban.opendata.urls_catalogue")),
    path("staff/data/", include("tungban.opendata.urls_staff")),
    # 1823 and one search (issue 22): the departments' case desks, the coordinator, best bets.
    path("staff/1823/", include("tungban.hotline.urls_staff")),
    path("staff/search/", include("tungban.search.urls_staff")),
    path("staff/", include("tungban.counter.urls")),
    path("signing/", include("tungban.signing.urls")),
    path("api/v1/", api.urls),
    path("miniapps/", include("tungban.miniapps.urls")),
    path("pay/", include("tungban.payments.urls_kiosk")),
    path("business/", include("tungban.corpid.urls")),
    path("subsidy/", include("tungban.subsidy.urls")),
    path("services/", include("tungban.eservices.urls")),
    path("services/", include("tungban.eservices.urls_catalogue")),
    path("pay/", include("tungban.payments.urls")),
    # Card payments, the payment service providers' webhooks, the mock provider's page (issue 18).
    path("pay/", include("tungban.payments.urls_pay")),
    path("", include("tungban.credentials.urls")),
    # Open data (issue 21): files and the historical archive, the CKAN Action API (also under
    # data.gov.hk's language prefixes /en-data/, /tc-data/, /sc-data/), the public pages.
    path("data/", include("tungban.opendata.urls_files")),
    path("", include("tungban.opendata.urls_ckan")),
    path("data/", include("tungban.opendata.urls")),
    # 1823 and one search (issue 22): the search page, the assistant, cases, Open311 GeoReport v2.
    path("search/", include("tungban.search.urls")),
    path("assistant/", include("tungban.assistant.urls")),
    path("1823/", include("tungban.hotline.urls")),
    path("open311/", include("tungban.hotline.urls_open311")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
