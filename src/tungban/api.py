"""The platform's JSON API (OpenAPI document at ``/api/v1/openapi.json``, browsable at
``/api/v1/docs``). Every error has the shape documented in :mod:`tungban.core.errors`."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError

from tungban.core.errors import DomainError
from tungban.credentials.api import router as credentials_router
from tungban.exchange.api import router as exchange_router
from tungban.ledger.api import router as log_router
from tungban.signing.api import router as signing_router
from tungban.wallet.api import router as wallet_router

api = NinjaAPI(
    title="tungban API",
    version="1",
    description=(
        'JSON API of the tungban platform. Errors: `{"error": code, "message": text, "field": name|null}`. '
        "OpenID Connect endpoints are described by `/.well-known/openid-configuration`."
    ),
    urls_namespace="api",
)
api.add_router("/wallet/", wallet_router)
api.add_router("/signing/", signing_router)
api.add_router("/exchange/", exchange_router)
api.add_router("/log/", log_router)
api.add_router("/credentials/", credentials_router)


@api.exception_handler(DomainError)
def _domain_error(request, exc: DomainError):
    response = api.create_response(request, exc.as_dict(), status=exc.status)
    if exc.details and "www_authenticate" in exc.details:
        response["WWW-Authenticate"] = exc.details["www_authenticate"]  # RFC 6750 §3, RFC 9470 §3
    return response


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    first = exc.errors[0] if exc.errors else {}
    loc = [str(p) for p in first.get("loc", []) if p not in ("body", "payload", "query", "path")]
    body = {
        "error": "invalid_request",
        "message": first.get("msg", "Invalid request"),
        "field": ".".join(loc) or None,
        "details": exc.errors,
    }
    return api.create_response(request, body, status=422)


@api.exception_handler(AuthenticationError)
def _auth_error(request, exc):
    bearer_apis = ("/api/v1/signing/", "/api/v1/exchange/", "/api/v1/credentials/")
    if request.path.startswith(bearer_apis) and "/app/" not in request.path:
        # RFC 6750 §3: a bearer-protected resource names its scheme when no token was sent.
        body = {
            "error": "invalid_token",
            "message": "This call needs an access token (Authorization: Bearer).",
            "field": None,
        }
        response = api.create_response(request, body, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="tungban"'
        return response
    return api.create_response(
        request,
        {"error": "device_auth_required", "message": "This call needs a bound device.", "field": None},
        status=401,
    )


@api.exception_handler(RequestDataTooBig)
def _too_big(request, exc):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = {
        "error": "request_too_large",
        "message": f"The request body is larger than {limit} bytes.",
        "field": None,
        "details": {"max_bytes": limit},
    }
    return api.create_response(request, body, status=413)
