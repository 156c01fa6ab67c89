"""The resident's e-services pages (issue 17): start an application with the app, fill its
pages (prefilled answers marked with their source), upload documents, check and submit,
follow the status and history, answer a request for information, withdraw, get the
e-licence's PDF copy. Thin: rules are in :mod:`tungban.eservices.services`."""

from __future__ import annotations

import functools
import json
import logging
import secrets
from urllib.parse import urlencode

import segno
from authlib.common.errors import AuthlibBaseError
from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tungban.core.errors import DomainError
from tungban.credentials import pdf as credential_pdf
from tungban.credentials import services as credential_services
from tungban.exchange import services as exchange
from tungban.identity import eme
from tungban.oidc import services as oidc
from tungban.payments import web as payment_web

from . import errors as services_errors
from . import login, portal, services, web
from .models import FINAL_STATES, OPEN_STATES, Requirement, State

CONSENT_SECONDS = 600

#: States in which the resident waits for the department (the status page says what happens next).
WAITING_STATES = (State.SUBMITTED, State.AWAITING_PAYMENT, State.PAID, State.IN_REVIEW)

log = logging.getLogger(__name__)


def _lang() -> str:
    return "zh" if (translation.get_language() or "").startswith("zh") else "en"


def _error_page(request, title, message, status=400, back=None):
    return render(request, "eservices/error.html", {"title": title, "message": message, "back": back}, status=status)


def resident_required(view):
    """The page needs a portal login; without one, the login (then back here)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        resident, sub = login.current(request)
        if resident is None:
            return HttpResponseRedirect(f"{reverse('eservices:login')}?{urlencode({'next': request.get_full_path()})}")
        request.resident, request.portal_sub = resident, sub
        try:
            return view(request, *args, **kwargs)
        except _NoAuthority as refused:  # a company's application, the mandate no longer in force
            return _error_page(
                request,
                _("You cannot act for this company now"),
                refused.error.message,
                status=refused.error.status,
                back=reverse("eservices:mine"),
            )

    return wrapper


class _NoAuthority(Exception):
    """CorpID refused the person's authority over a company's application (checked on every
    request): the page says why."""

    def __init__(self, error: DomainError):
        super().__init__(error.code)
        self.error = error


def _application(request, reference):
    try:
        return services.get_application(reference, resident=request.resident)
    except services_errors.ApplicationUnknown:
        raise Http404 from None
    except DomainError as exc:
        raise _NoAuthority(exc) from None


# --- login ---
@require_http_methods(["GET"])
def login_start(request):
    """Send the browser to the platform's authorization page (the QR code / "Open the app"),
    asking for the e-ME fields the form of ``?service=`` maps (else only ``openid``)."""
    client = login.oauth_client()
    slug = request.GET.get("service", "")
    scopes = ["openid"]
    extra = {}
    if slug:
        try:
            service = services.get_service(slug)
        except DomainError:
            raise Http404 from None
        version = service.form.current_version() if service.form_id else None
        if version is not None:
            scopes = portal.scopes_for_claims(services.claims_of(services.Definition.of(version)))
        for_company = request.GET.get("for") == "company" and services.company.offered_to_companies(service)
        if for_company:  # CorpID: the app asks which company; the claims request names the service
            scopes.append(portal.CORPID_SCOPE)
            extra["claims"] = json.dumps(services.company.claims_request(slug), separators=(",", ":"))
        request.session[login.INTENT_KEY] = {
            "service": slug,
            "key": secrets.token_urlsafe(16),
            **({"company": True} if for_company else {}),
        }
    else:
        nxt = request.GET.get("next", "")
        safe = url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}) and nxt.startswith("/")
        request.session[login.INTENT_KEY] = {"next": nxt if safe else reverse("eservices:mine")}
    try:
        return client.authorize_redirect(
            request,
            portal.redirect_uri(),
            scope=" ".join(scopes),
            ui_locales="zh-Hant" if _lang() == "zh" else "en",
            **extra,
        )
    except (AuthlibBaseError, OSError) as exc:  # the library's text is for the log, not the page
        log.warning("portal login could not start: %s", type(exc).__name__)
        return _error_page(
            request,
            _("tungban login is not available"),
            _("The login page cannot be reached now. Please try again in a few minutes."),
            status=502,
        )


@require_http_methods(["GET"])
def login_callback(request):
    """The authorization code comes back: redeem it, read the released claims, log in and,
    when the login was to start an application, start it pre-filled."""
    intent = request.session.pop(login.INTENT_KEY, None) or {}
    if request.GET.get("error"):
        return _error_page(
            request,
            _("You did not log in"),
            _("The login was not approved in the app, so nothing was shared. You can try again."),
            status=403,
            back=reverse("eservices:apply", args=[intent["service"]]) if intent.get("service") else None,
        )
    client = login.oauth_client()
    try:
        token = client.authorize_access_token(request)
        claims = dict(client.userinfo(token=token))
    except (AuthlibBaseError, OSError) as exc:  # a forged or replayed callback, an expired code
        log.warning("portal login callback refused: %s", type(exc).__name__)
        return _error_page(
            request,
            _("The login did not complete"),
            _(
                "This login could not be checked: it was started in another browser or tab, "
                "or took too long. Nothing was shared. Please try again."
            ),
            status=400,
            back=reverse("eservices:apply", args=[intent["service"]]) if intent.get("service") else None,
        )
    id_sub = (token.get("userinfo") or {}).get("sub")
    if not claims.get("sub") or claims.get("sub") != id_sub:  # OIDC Core §5.3.2
        return _error_page(request, _("The login did not complete"), _("The identity did not match."), status=400)
    resident, release_id = oidc.first_party_login(portal.CLIENT_ID, claims["sub"])
    if resident is None:
        return _error_page(request, _("The login did not complete"), _("The account was not found."), status=400)
    company = None
    if intent.get("company"):
        try:
            company = services.company.from_claims(claims)
        except DomainError as exc:
            return _error_page(
                request,
                _("The login did not complete"),
                exc.message,
                status=exc.status,
                back=reverse("eservices:apply", args=[intent["service"]]),
            )
    login.log_in(request, resident, claims["sub"], company)
    slug = intent.get("service")
    if not slug:
        return HttpResponseRedirect(intent.get("next") or reverse("eservices:mine"))
    try:
        service = services.get_service(slug)
        definition = services.Definition.of(service.form.current_version())
        app = services.start_application(
            resident,
            service,
            portal_sub=claims["sub"],
            prefill=services.from_claims(definition, claims, release_id),
            idempotency_key=intent.get("key", ""),
            for_company=company,
        )
    except DomainError as exc:
        return _error_page(
            request,
            _("The application could not start"),
            exc.message,
            status=exc.status,
            back=reverse("eservices_catalogue:service", args=[slug]),
        )
    return HttpResponseRedirect(reverse("eservices:page", args=[app.reference, app.page_reached or "start"]))


@require_POST
def logout(request):
    login.log_out(request)
    return HttpResponseRedirect(reverse("eservices:mine"))


# --- starting ---
@require_http_methods(["GET"])
def apply(request, slug):
    """What the service needs, how long a draft is kept, and "Start with the tungban app"."""
    try:
        service = services.get_service(slug)
    except DomainError:
        raise Http404 from None
    if not service.online or not service.form_id:
        return _error_page(request, service.name_zh if _lang() == "zh" else service.name_en, services_not_online())
    version = service.form.current_version()
    definition = services.Definition.of(version)
    resident, _sub = login.current(request)
    drafts = []
    if resident is not None:
        drafts = [
            (a, services.company.company_of(a))
            for a in services.applications_of(resident)
            if a.service_id == service.pk and a.state == State.DRAFT
        ]
    claims = [str(oidc_claim_label(c)) for c in services.claims_of(definition)]
    due = [row for row in services.fees.fee_rows(service) if (row["amount_cents"] or 0) > 0]
    return render(
        request,
        "eservices/apply.html",
        {
            "service": service,
            # what is paid after submitting (the fee schedule's amounts today), said before starting
            "fee_total": payment_web.hkd(sum(row["amount_cents"] for row in due)) if due else "",
            "name": service.name_zh if _lang() == "zh" else service.name_en,
            "summary": service.description_zh if _lang() == "zh" else service.description_en,
            "department": service.department.name_zh if _lang() == "zh" else service.department.name_en,
            "pages": [(web.text(p, "title"), bool(p.get("when"))) for p in definition.pages],
            "claims": claims,
            "drafts": drafts,
            "start_url": f"{reverse('eservices:login')}?{urlencode({'service': service.slug})}"
            if service.corpid != Requirement.REQUIRED
            else "",
            "company_url": f"{reverse('eservices:login')}?{urlencode({'service': service.slug, 'for': 'company'})}"
            if services.company.offered_to_companies(service)
            else "",
            "lang": _lang(),
        },
    )


def services_not_online():
    return _("This service cannot be applied for here: follow the department's own page.")


def oidc_claim_label(claim: str):
    if claim in eme.CLAIMS:
        return eme.CLAIMS[claim].label
    return {"family_name": _("Surname"), "given_name": _("Given name")}.get(claim, claim)


# --- the form's pages ---
def _errors_by_field(exc: DomainError) -> dict[str, str]:
    out = {}
    key = "message_zh" if _lang() == "zh" else "message_en"
    for e in (exc.details or {}).get("errors", []):
        out.setdefault(e["field"], e[key])
    return out


def _anchor(definition, path: str) -> str:
    """The id of the input an error summary links to (a group item's field, else the field)."""
    parts = path.split(".")
    if definition.fields.get(parts[0], {}).get("kind") == "group" and len(parts) == 3:
        return "f-" + "-".join(parts)
    return f"f-{parts[0]}"


def _attachments_by_field(app) -> dict:
    out = {}
    for a in app.attachments.filter(information_request__isnull=True).order_by("id"):
        out[a.field] = a
    return out


def _as_posted(definition, spec, answers: dict, posted: dict) -> dict:
    """The answers to show again on a page that was not saved: this page's fields exactly as
    posted (a field the resident emptied stays empty beside its error, not refilled with the
    saved or prefilled value); files keep the document already chosen; other pages' answers."""
    mine = {n for n in spec.get("fields", []) if definition.fields.get(n, {}).get("kind") != "file"}
    return {**{k: v for k, v in answers.items() if k not in mine}, **posted}


@resident_required
@require_http_methods(["GET", "POST"])
def page(request, reference, page_id):
    app = _application(request, reference)
    if app.state != State.DRAFT:
        return HttpResponseRedirect(reverse("eservices:status", args=[app.reference]))
    definition = services.Definition.of(app.form_version)
    answers = app.get_answers()
    visible = definition.visible_pages(answers)
    spec = definition.page(page_id) if page_id != "start" else (visible[0] if visible else None)
    if spec is None or spec["id"] not in [p["id"] for p in visible]:
        return HttpResponseRedirect(reverse("eservices:page", args=[app.reference, visible[0]["id"]]))
    errors, summary, add_row = {}, "", None
    status = 200
    if request.method == "POST":
        posted = web.read_page(definition, spec, request.POST)
        add_row = request.POST.get("add_row") or None
        # "Save and come back later" never validates (GOV.UK Forms, FormSG): the page is kept
        # as typed, a refused document is not kept; "Continue" validates.
        saving = request.POST.get("action") == "save" and not add_row
        try:
            uploads = {}
            for name in spec.get("fields", []):
                upload = request.FILES.get(name)
                if upload is not None and definition.fields[name].get("kind") == "file":
                    try:
                        services.check_size(definition.fields[name], upload.size)  # before reading it
                    except DomainError:
                        if not saving:
                            raise
                        continue
                    uploads[name] = (upload.name, upload.read())
            if add_row:
                answers = _as_posted(definition, spec, answers, posted)
            else:
                app, nxt = services.save_page(
                    app,
                    request.resident,
                    posted,
                    page=spec["id"],
                    uploads=uploads,
                    version_digest=request.POST.get("form_version", ""),
                    validate=not saving,
                )
                if saving:
                    return HttpResponseRedirect(reverse("eservices:status", args=[app.reference]) + "?saved=1")
                target = reverse("eservices:page", args=[app.reference, nxt]) if nxt else None
                return HttpResponseRedirect(target or reverse("eservices:check", args=[app.reference]))
        except DomainError as exc:
            status = 409 if exc.code == "stale_form_version" else 422 if exc.code == "form_invalid" else exc.status
            errors = _errors_by_field(exc)
            if exc.field and exc.field in definition.fields and not errors:
                errors[exc.field] = str(exc.message)
            file_field = next((n for n in spec.get("fields", []) if request.FILES.get(n) is not None), None)
            if exc.code.startswith("file_") and file_field:
                errors[file_field] = str(exc.message)
            summary = str(exc.message)
            answers = _as_posted(definition, spec, answers, posted)
    ids = [p["id"] for p in definition.visible_pages(answers)]
    index = ids.index(spec["id"]) if spec["id"] in ids else 0
    context = {
        "app": app,
        "service_name": app.service.name_zh if _lang() == "zh" else app.service.name_en,
        "acting": _for_company(app),
        "title": web.text(spec, "title"),
        "intro": web.text(spec, "intro"),
        "page": spec,
        "fields": web.field_views(
            definition, spec, answers, errors, app.prefill or {}, _attachments_by_field(app), add_row=add_row
        ),
        "summary": summary,
        "errors": [(_anchor(definition, k), v) for k, v in errors.items()],
        "step": index + 1,
        "steps": len(ids),
        "previous": ids[index - 1] if index > 0 else None,
        "has_file": any(definition.fields[n].get("kind") == "file" for n in spec.get("fields", [])),
        "products": _fill_buttons(app, definition, spec),
        "edited_label": web.EDITED_LABEL,
    }
    return render(request, "eservices/page.html", context, status=status)


def _fill_buttons(app, definition, spec) -> list[tuple[str, str, str]]:
    """``(product id, anchor, button text)`` of the data products this page's fields are
    filled from; a company's application names the department and the company's consent."""
    page_fields = {n: definition.fields[n] for n in spec.get("fields", [])}
    products = list(services.products_of(services.Definition({}, {"fields": page_fields})))
    company = services.company.company_of(app)
    providers = {}
    if company is not None and products:
        providers = {p.id: p.provider for p in exchange.catalogue() if p.id in products}
    out = []
    for product in products:
        provider = providers.get(product)
        if provider is not None:
            label = _("Fill from the %(provider)s, with the company's consent (approve in the app)") % {
                "provider": provider.name_zh if _lang() == "zh" else provider.name_en
            }
        else:
            label = _("Fill from the department's records (approve in the app)")
        out.append((product, product.replace(".", "-"), label))
    return out


@resident_required
@require_http_methods(["GET", "POST"])
def check(request, reference):
    """Every answer on one page, then "Submit" (idempotent)."""
    app = _application(request, reference)
    if app.state != State.DRAFT:
        return HttpResponseRedirect(reverse("eservices:status", args=[app.reference]))
    definition = services.Definition.of(app.form_version)
    status, summary, errors = 200, "", {}
    if request.method == "POST":
        try:
            app = services.submit(app, request.resident, version_digest=request.POST.get("form_version", ""))
            return HttpResponseRedirect(reverse("eservices:status", args=[app.reference]) + "?submitted=1")
        except DomainError as exc:
            status = 422 if exc.code == "form_invalid" else exc.status
            summary, errors = str(exc.message), _errors_by_field(exc)
    answers = definition.clean(app.get_answers())
    attachments = _attachments_by_field(app)
    rows = []
    for p in definition.visible_pages(answers):
        items = []
        for name in p.get("fields", []):
            spec = definition.fields.get(name, {})
            value = answers.get(name)
            shown = attachments[name].filename if spec.get("kind") == "file" and name in attachments else None
            record = (app.prefill or {}).get(name)
            items.append(
                {
                    "label": web.text(spec, "label"),
                    "value": shown or web.answer_text(definition, name, value),
                    "error": errors.get(name) or next((v for k, v in errors.items() if k.startswith(f"{name}.")), ""),
                    "source": web.source_label(record) if record else "",
                    "edited": bool(record and record["status"] != "verified"),
                }
            )
        rows.append({"id": p["id"], "title": web.text(p, "title"), "items": items})
    signed = services.signature.signed_document(app)
    return render(
        request,
        "eservices/check.html",
        {
            "signature": app.service.signature,
            "signed": signed,
            "app": app,
            "service_name": app.service.name_zh if _lang() == "zh" else app.service.name_en,
            "acting": _for_company(app),
            "rows": rows,
            "summary": summary,
            "edited_label": web.EDITED_LABEL,
        },
        status=status,
    )


# --- status, history, information requests, withdrawal, licence ---
@resident_required
def mine(request):
    apps = services.applications_of(request.resident)
    return render(
        request,
        "eservices/mine.html",
        {"apps": [(a, a.service.name_zh if _lang() == "zh" else a.service.name_en, _for_company(a)) for a in apps]},
    )


def _for_company(app) -> str:
    """ "<person> for <company>" on a company's application, else ``""``."""
    if not app.org_br_number:
        return ""
    return services.company.person_for_company(app, _lang())


@resident_required
@require_http_methods(["GET"])
def status(request, reference):
    app = _application(request, reference)
    events = [
        {
            "at": e.at,
            "label": services.ACTION_LABELS.get(e.action, e.action),
            "reason": services.reason_text(e),
            "actor": e.get_actor_kind_display(),
        }
        for e in services.history(app)
    ]
    open_request = app.information_requests.filter(answered_at__isnull=True).last()
    payment = _payment_context(request, app)
    return render(
        request,
        "eservices/status.html",
        {
            **payment,
            "app": app,
            "service_name": app.service.name_zh if _lang() == "zh" else app.service.name_en,
            "department": app.service.department.name_zh if _lang() == "zh" else app.service.department.name_en,
            "acting": _for_company(app),
            "events": events,
            "open_request": open_request,
            "request_message": (open_request.message_zh if _lang() == "zh" else open_request.message_en)
            if open_request
            else "",
            "can_withdraw": app.state in OPEN_STATES,
            "waiting": app.state in WAITING_STATES,
            "final": app.state in FINAL_STATES,
            "is_draft": app.state == State.DRAFT,
            "submitted": request.GET.get("submitted") == "1",
            "saved": request.GET.get("saved") == "1",
        },
    )


def _payment_context(request, app) -> dict:
    """The payment step of an application awaiting payment (its order made on the first view;
    issue 18) and what the page's poll compares: the application's and the order's states."""
    if app.state != State.AWAITING_PAYMENT:
        return {"live_value": app.state}
    try:
        order = services.payment.ensure_order(app, request.resident)
    except DomainError as exc:  # e.g. the fee schedule does not price it: said on the page
        return {"payment_error": exc.message, "live_value": app.state}
    back = request.build_absolute_uri(reverse("eservices:status", args=[app.reference]))
    step = payment_web.step(order, request, return_to=back)
    return {"step": step, "live_value": f"{app.state}:{order.state}"}


@resident_required
@require_GET
def state(request, reference):
    """``{"value"}`` for the status page's poll (``payments/poll.js``): the application's state
    and, while it awaits payment, its order's — the page is drawn again when either changes."""
    app = _application(request, reference)
    value = app.state
    if app.state == State.AWAITING_PAYMENT:
        order = services.payment.current_order(app)
        value = f"{app.state}:{order.state}" if order else app.state
    response = JsonResponse({"value": value, "state": app.state})
    response["Cache-Control"] = "no-store"
    return response


@resident_required
@require_POST
def renew_payment(request, reference):
    """A new payment order for an application whose order expired (issue 18)."""
    app = _application(request, reference)
    try:
        services.payment.renew_order(app, request.resident)
    except DomainError as exc:
        return _error_page(
            request,
            _("The payment could not be renewed"),
            exc.message,
            status=exc.status,
            back=reverse("eservices:status", args=[app.reference]),
        )
    return HttpResponseRedirect(reverse("eservices:status", args=[app.reference]) + "#payment")


@resident_required
@require_POST
def respond(request, reference):
    app = _application(request, reference)
    try:
        uploads = request.FILES.getlist("documents")
        if len(uploads) > settings.TUNGBAN_ESERVICES_MAX_FILES:
            raise services_errors.TooManyFiles(count=settings.TUNGBAN_ESERVICES_MAX_FILES)
        for upload in uploads:
            services.check_size({}, upload.size)  # before reading it
        documents = [(f.name, f.read()) for f in uploads]
        services.respond_to_information(app, request.resident, request.POST.get("answer", ""), documents)
    except DomainError as exc:
        return _error_page(
            request,
            _("Your answer was not sent"),
            exc.message,
            status=exc.status,
            back=reverse("eservices:status", args=[app.reference]),
        )
    return HttpResponseRedirect(reverse("eservices:status", args=[app.reference]))


@resident_required
@require_http_methods(["GET", "POST"])
def withdraw(request, reference):
    app = _application(request, reference)
    if request.method == "POST":
        try:
            services.withdraw(app, request.resident, reason=request.POST.get("reason", "")[:500])
        except DomainError as exc:
            return _error_page(request, _("The application was not withdrawn"), exc.message, status=exc.status)
        return HttpResponseRedirect(reverse("eservices:status", args=[app.reference]))
    name = app.service.name_zh if _lang() == "zh" else app.service.name_en
    return render(request, "eservices/withdraw.html", {"app": app, "service_name": name})


@resident_required
def licence_pdf(request, reference):
    """The PDF copy of the e-licence issued for this application."""
    app = _application(request, reference)
    if not app.credential_id:
        raise Http404
    try:
        credential = credential_services.holder_credential(request.resident, app.credential_id)
    except DomainError:
        raise Http404 from None
    body = credential_pdf.credential_pdf(credential, translation.get_language())
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{app.reference}.pdf"'
    return response


# --- data from a department through the exchange gateway (with consent) ---
@resident_required
@require_POST
def ask_consent(request, reference, product):
    """Ask the resident's consent (in the app) to fetch ``product`` for this draft's fields."""
    app = _application(request, reference)
    definition = services.Definition.of(app.form_version)
    if product not in services.products_of(definition) or app.state != State.DRAFT:
        raise Http404
    company = services.company.company_of(app)
    names = {
        "reference": app.reference,
        "service": app.service.name_zh if _lang() == "zh" else app.service.name_en,
        "company": company.name(_lang()) if company else "",
    }
    try:
        if company is not None:  # the company's data, with the company's consent (CorpID)
            consent = services.company.ask_consent(
                app,
                request.resident,
                portal.organisation(),
                product_id=product,
                purpose=_("To fill in the application %(reference)s for %(service)s of %(company)s") % names,
                duration_seconds=CONSENT_SECONDS,
            )
        else:
            consent = exchange.request_consent(
                portal.organisation(),
                product_id=product,
                purpose=_("To fill in your application %(reference)s for %(service)s") % names,
                duration_seconds=CONSENT_SECONDS,
                max_uses=1,
                sub=app.portal_sub or request.portal_sub,
            )
    except DomainError as exc:
        return _error_page(request, _("The department's records cannot be used now"), exc.message, status=exc.status)
    page_id = request.POST.get("page", "")
    return HttpResponseRedirect(
        reverse("eservices:consent", args=[app.reference, consent.id]) + "?" + urlencode({"page": page_id})
    )


@resident_required
@require_http_methods(["GET", "POST"])
def consent(request, reference, consent_id):
    """The consent waiting in the app (QR code and link); "Continue" fetches the data."""
    app = _application(request, reference)
    org = portal.organisation()
    try:
        found = exchange.get_consent(org, consent_id)
    except DomainError:
        raise Http404 from None
    company = services.company.company_of(app)
    if not services.company.consent_belongs(found, app, request.resident):
        raise Http404
    definition = services.Definition.of(app.form_version)
    page_id = request.GET.get("page") or request.POST.get("page") or "start"
    if definition.page(page_id) is None:  # the resident's to tamper with: only a page of the form
        page_id = "start"
    back = reverse("eservices:page", args=[app.reference, page_id])
    message = ""
    if request.method == "POST":
        try:
            result = exchange.exchange(
                org, consent_id=found.id, product_id=found.product_id, request_id=f"eservices-{secrets.token_hex(12)}"
            )
            values = services.from_product(
                definition,
                found.product_id,
                result["data"],
                found.id,
                source="company" if company else "exchange",
                provider=found.product.provider_id,
            )
            services.add_prefill(app, request.resident, values)
            return HttpResponseRedirect(back)
        except DomainError as exc:
            message = str(exc.message)
    link = f"{settings.TUNGBAN_ISSUER}/app/approve/{found.approval_id}"
    qr = segno.make(link, error="m").svg_inline(scale=4, title=_("QR code to open the request in the app"))
    return render(
        request,
        "eservices/consent.html",
        {
            "app": app,
            "link": link,
            "qr": qr,
            "provider": found.product.provider.name_zh if _lang() == "zh" else found.product.provider.name_en,
            "product": found.product.name_zh if _lang() == "zh" else found.product.name_en,
            "message": message,
            "page_id": page_id,
            "back": back,
            "company": company.name(_lang()) if company else "",
        },
        status=409 if message else 200,
    )


# --- the declaration signed with tungban+ ---
@resident_required
@require_http_methods(["GET", "POST"])
def sign(request, reference):
    """POST: open the signing request for the application's PDF. GET: its QR code and link
    for the app, the comparison code; "I have approved: continue" (POST ``collect``) keeps
    the signed PDF."""
    app = _application(request, reference)
    back = reverse("eservices:check", args=[app.reference])
    message, status = "", 200
    if request.method == "POST" and request.POST.get("collect"):
        try:
            if services.signature.collect(app, request.resident) is not None:
                return HttpResponseRedirect(back)
            message, status = str(services_errors.NotSignedYet().message), 409
        except DomainError as exc:
            message, status = str(exc.message), exc.status
    elif request.method == "POST":
        try:
            services.signature.request(app, request.resident)
        except DomainError as exc:
            return _error_page(
                request, _("The declaration cannot be signed"), exc.message, status=exc.status, back=back
            )
        return HttpResponseRedirect(reverse("eservices:sign", args=[app.reference]))
    app.refresh_from_db()
    state = services.signature.status(app)
    if not state:
        return HttpResponseRedirect(back)
    link = state["approval_uri"]
    qr = segno.make(link, error="m").svg_inline(scale=4, title=_("QR code to open the request in the app"))
    company = services.company.company_of(app)
    second = state.get("second_approval_id") or ""
    return render(
        request,
        "eservices/sign.html",
        {
            "app": app,
            "link": link,
            "qr": qr,
            "code": state.get("comparison_code"),
            "message": message,
            "back": back,
            "company": company.name(_lang()) if company else "",
            "second_link": f"{settings.TUNGBAN_ISSUER}/app/approve/{second}" if second else "",
        },
        status=status,
    )


@resident_required
def document(request, reference, document_id):
    """One of the application's own documents (the resident's uploads, the signed declaration)."""
    app = _application(request, reference)
    doc = app.attachments.filter(pk=document_id).first()
    if doc is None:
        raise Http404
    response = HttpResponse(services.read_attachment(doc), content_type=doc.content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="{app.reference}-{doc.field}.{doc.content_type.rsplit("/", 1)[1]}"'
    )
    return response
