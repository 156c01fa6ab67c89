"""The platform's JSON API (OpenAPI document at ``/api/v1/openapi.json``, browsable at
``/api/v1/docs``).

Every error body has the one shape :class:`tungban.core.api.ErrorOut` (that is
:meth:`tungban.core.errors.DomainError.as_dict`): domain errors and the auth classes'
errors (:class:`tungban.wallet.auth.DeviceAuth`, :class:`tungban.oidc.resource.ScopedBearer`)
as raised, ninja's own errors mapped onto it here, and every other exception too: a database
fault is a retryable 503 ``service_unavailable``, anything else a 500 ``server_error``
(:mod:`tungban.core.faults`, issue 14 item 8), never Django's HTML page. Each app's error codes are listed
in the document's ``tags`` (description and ``x-error-codes``).
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError

from tungban.assistant import errors as assistant_errors
from tungban.assistant.api import router as assistant_router
from tungban.core.api import KERNEL_ERRORS, error_catalogue, tag
from tungban.core.errors import DomainError
from tungban.core.faults import api_exception_response
from tungban.corpid import errors as corpid_errors
from tungban.corpid.api import router as corpid_router
from tungban.credentials import errors as credentials_errors
from tungban.credentials.api import router as credentials_router
from tungban.eservices import errors as eservices_errors
from tungban.eservices.api_app import router as eservices_app_router
from tungban.eservices.api_catalogue import router as eservices_catalogue_router
from tungban.eservices.api_departments import router as eservices_departments_router
from tungban.exchange import errors as exchange_errors
from tungban.exchange.api import router as exchange_router
from tungban.federation import errors as federation_errors
from tungban.federation.api import router as federation_router
from tungban.hotline import errors as hotline_errors
from tungban.hotline.api_app import router as hotline_app_router
from tungban.identity import errors as identity_errors
from tungban.ledger import errors as ledger_errors
from tungban.ledger.api import router as log_router
from tungban.miniapps import errors as miniapps_errors
from tungban.miniapps.api import router as miniapps_router
from tungban.notify import errors as notify_errors
from tungban.notify.api import router as notify_router
from tungban.oidc import errors as oidc_errors
from tungban.payments import errors as payments_errors
from tungban.payments import errors_api as payments_api_errors
from tungban.payments.api_app import router as payments_app_router
from tungban.payments.api_bank import router as payments_bank_router
from tungban.payments.api_departments import router as payments_departments_router
from tungban.search import errors as search_errors
from tungban.search.api import router as search_router
from tungban.signing import errors as signing_errors
from tungban.signing.api import router as signing_router
from tungban.subsidy import errors as subsidy_errors
from tungban.subsidy.api import router as subsidy_router
from tungban.wallet import errors as wallet_errors
from tungban.wallet.api import router as wallet_router

_kernel_codes = ", ".join(f"`{c['code']}` ({c['status']})" for c in KERNEL_ERRORS)
_bearer_codes = ", ".join(
    f"`{c['code']}` ({c['status']})"
    for c in error_catalogue(oidc_errors)
    if c["code"] in (oidc_errors.InvalidToken.code, oidc_errors.InsufficientScope.code)
)

api = NinjaAPI(
    title="tungban API",
    version="1",
    description=(
        'JSON API of the tungban platform. Every error answers `{"error": code, "message": text in the '
        'request\'s language (`Accept-Language`; English by default), "field": name|null, "details": object '
        "(only when there are details)}` "
        f"(schema `ErrorOut`). Codes any operation may send: {_kernel_codes}; each app's codes are listed "
        f"with its tag (also as `x-error-codes`). Bearer-protected calls answer {_bearer_codes} with "
        "`WWW-Authenticate` (RFC 6750 §3); calls from the resident's app answer the wallet's device-proof "
        "codes (401) and `account_suspended` (403). OpenID Connect endpoints are described by "
        "`/.well-known/openid-configuration`."
    ),
    urls_namespace="api",
    openapi_extra={
        "tags": [
            tag(
                "wallet",
                "The resident's app: binding, self-registration, approvals, the e-ME profile.",
                wallet_errors,
                identity_errors,
            ),
            tag(
                "signing",
                "Signing for online services (bearer token with scope `signing`) and public verification.",
                signing_errors,
            ),
            tag("exchange", "The consented data exchange gateway (CDEG).", exchange_errors),
            tag("transparency log", "The RFC 9162 transparency log (public).", ledger_errors),
            tag("miniapps", "Mini-programs run in the resident's app (device calls).", miniapps_errors),
            tag(
                "credentials", "e-Licences: issuance, status, 認證易 verification.", credentials_errors, identity_errors
            ),
            tag(
                "notifications",
                "Notifications to residents (GOV.UK Notify's model): senders' API keys, templates, delivery "
                "status; the app's inbox and Web Push subscriptions.",
                notify_errors,
            ),
            tag(
                "eservices catalogue",
                "The e-services catalogue (public): services with filters and pages, one service with its "
                "current form version, departments, categories. Strong `ETag` and `Cache-Control` on every "
                "answer; `If-None-Match` gets 304. The codes below are the e-services app's; these calls send "
                "`catalogue_filter_unknown`, `catalogue_query_too_long` and `service_unknown`.",
                eservices_errors,
            ),
            tag(
                "eservices",
                "e-Services (issue 17): department systems (bearer token with scope `eservices`) list, read and "
                "act on their department's applications and register signed webhooks (docs/integrators.md).",
                eservices_errors,
            ),
            tag(
                "payments (banks)",
                "e-Payment (issue 18): messages from FPS participant banks to the platform, signed with "
                "HMAC-SHA256 under a shared secret (`Tungban-Signature: t=…,v1=…`): payment notifications.",
                payments_errors,
            ),
            tag(
                "payments",
                "e-Payment (issue 18): department systems (bearer token with scope `payments`, rate-limited per "
                "client: 429 `rate_limited`) create, read, search and cancel payments (GOV.UK Pay's model: "
                "`Idempotency-Key` required on creation, `finished`, `refund_summary`, `settlement_summary`, "
                "`_links`), post bills to residents and register signed webhooks with a delivery log; the "
                'resident\'s app lists and pays bills (device calls). docs/integrators.md, "e-Payment".',
                payments_errors,
                payments_api_errors,
                identity_errors,
            ),
            tag(
                "corpid",
                "CorpID (數碼企業身份, issue 19, first wave): from the resident's app (device calls), a director sets "
                "up a company's CorpID and becomes its administrator; administrators offer mandates (role, services, "
                "actions, dates, joint approval, delegation) that the holder accepts in the app, and revoke them; "
                "holders list the companies they act for and check their authority. `Idempotency-Key` required on "
                'creation. docs/api.md, "CorpID".',
                corpid_errors,
                identity_errors,
            ),
            tag(
                "subsidy",
                "The AI Subsidy Scheme (人工智能資助計劃, issue 20) of the Cyberport AI Supercomputing Centre.",
                subsidy_errors,
            ),
            tag(
                "search",
                "One search (issue 22): services, forms, form-field help, FAQs and datasets in one bilingual "
                "index (Traditional Chinese, English; Simplified Chinese through conversion), facets by kind and "
                "department, best bets.",
                search_errors,
            ),
            tag(
                "hotline",
                "1823 (issue 22): the resident's cases in the app (device calls). Open311 GeoReport v2 clients use "
                "`/open311/v2/` (docs/integrators.md).",
                hotline_errors,
                identity_errors,
            ),
            tag(
                "assistant",
                "The e-form assistant (issue 22): questions answered from the platform's content with their "
                "source, clarifying questions, hand-off to a 1823 case.",
                assistant_errors,
            ),
            tag(
                "federation",
                "Cross-boundary login (跨境通辦, issue 23): the resident's bindings to partner platforms in the "
                "app (device calls). The OpenID Federation 1.0 endpoints are `/.well-known/openid-federation` "
                "and `/federation/…` (docs/integrators.md).",
                federation_errors,
                identity_errors,
            ),
        ]
    },
)
api.add_router("/wallet/", wallet_router)
api.add_router("/signing/", signing_router)
api.add_router("/exchange/", exchange_router)
api.add_router("/log/", log_router)
api.add_router("/credentials/", credentials_router)
api.add_router("/miniapps/", miniapps_router)
api.add_router("/notify/", notify_router)
api.add_router("/eservices/catalogue/", eservices_catalogue_router)
api.add_router("/eservices/app/", eservices_app_router)
api.add_router("/eservices/", eservices_departments_router)
api.add_router("/payments/bank/", payments_bank_router)
api.add_router("/payments/app/", payments_app_router)
api.add_router("/payments/", payments_departments_router)
api.add_router("/corpid/", corpid_router)
api.add_router("/subsidy/", subsidy_router)
api.add_router("/search/", search_router)
api.add_router("/hotline/app/", hotline_app_router)
api.add_router("/assistant/", assistant_router)
api.add_router("/federation/app/", federation_router)


@api.exception_handler(DomainError)
def _domain_error(request, exc: DomainError):
    response = api.create_response(request, exc.as_dict(), status=exc.status)
    if exc.details and "www_authenticate" in exc.details:
        response["WWW-Authenticate"] = exc.details["www_authenticate"]  # RFC 6750 §3, RFC 9470 §3
    if exc.details and "dpop_nonce" in exc.details:
        response["DPoP-Nonce"] = exc.details["dpop_nonce"]  # RFC 9449 §9: with use_dpop_nonce
    if exc.details and "retry_after" in exc.details:
        response["Retry-After"] = str(exc.details["retry_after"])  # RFC 9110 §10.2.3 (e.g. provider_busy)
    return response


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    """422 ``invalid_request``; ``field`` names the first error's location and
    ``details.errors`` holds pydantic's list (``[{type, loc, msg, ...}]``)."""
    first = exc.errors[0] if exc.errors else {}
    loc = [str(p) for p in first.get("loc", []) if p not in ("body", "payload", "query", "path", "form", "file")]
    body = {
        "error": "invalid_request",
        "message": first.get("msg", "Invalid request"),
        "field": ".".join(loc) or None,
        "details": {"errors": exc.errors},
    }
    return api.create_response(request, body, status=422)


_HTTP_CODES = {400: "invalid_request", 401: "invalid_token", 403: "forbidden", 404: "not_found", 429: "throttled"}


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    """ninja's own errors (e.g. 400 "Cannot parse request body") in the platform's shape."""
    # ninja's only 400 is a body its JSON parser refused ("Cannot parse request body"): say so in the request's language.
    message = str(_("The request body is not valid JSON.")) if exc.status_code == 400 else str(exc)
    body = {"error": _HTTP_CODES.get(exc.status_code, "invalid_request"), "message": message, "field": None}
    return api.create_response(request, body, status=exc.status_code)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return api.create_response(
        request, {"error": "not_found", "message": str(_("Not found.")), "field": None}, status=404
    )


@api.exception_handler(RequestDataTooBig)
def _too_big(request, exc):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = {
        "error": "request_too_large",
        "message": str(_("The request body is larger than %(max_bytes)s bytes.") % {"max_bytes": limit}),
        "field": None,
        "details": {"max_bytes": limit},
    }
    return api.create_response(request, body, status=413)


@api.exception_handler(Exception)
def _unhandled(request, exc: Exception):
    """What no other handler takes (ninja re-raises it to Django's HTML 500 page otherwise):
    503 ``service_unavailable`` with ``Retry-After`` for a lost database, 500 ``server_error``
    for the rest (logged; no traceback in the body) — :func:`tungban.core.faults.api_exception_response`."""
    return api_exception_response(request, exc)
