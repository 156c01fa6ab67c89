from django.urls import path

from . import views

app_name = "oidc"

urlpatterns = [
    path("authorize", views.authorize, name="authorize"),
    path("authorize/<uuid:approval_id>/status", views.authorize_status, name="authorize-status"),
    path("authorize/<uuid:approval_id>/extend", views.authorize_extend, name="authorize-extend"),
    path("authorize/<uuid:approval_id>/complete", views.authorize_complete, name="authorize-complete"),
    path("token", views.token, name="token"),
    path("par", views.pushed_authorization_request, name="par"),
    path("userinfo", views.userinfo, name="userinfo"),
    path("formdata", views.formdata, name="formdata"),
    path("jwks", views.jwks, name="jwks"),
    path("revoke", views.revoke, name="revoke"),
    path("logout", views.logout, name="logout"),
]
