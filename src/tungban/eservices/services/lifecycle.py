"""An application's life (issue 17, "Lifecycle"): each function is one transaction that locks
the application row (``SELECT … FOR UPDATE``), moves it through a django-fsm-2 transition of
:class:`~tungban.eservices.models.Application`, records an
:class:`~tungban.eservices.models.ApplicationEvent` and sends
:data:`~tungban.eservices.signals.application_changed` after the commit. Every refusal is a
declared error of :mod:`tungban.eservices.errors`, and a refused call stores nothing.

States: ``draft → submitted → (awaiting_payment → paid) → in_review ⇄ information_requested →
approved → licence_issued``, and ``rejected`` | ``withdrawn`` | ``expired``.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.tasks import task
from django.utils import formats, timezone, translation
from django.utils.translation import gettext_lazy as _
from django_fsm import TransitionNotAllowed as FsmRefused

from tungban.core import jobs
from tungban.core.errors import DomainError
from tungban.credentials import services as credential_services
from tungban.identity import services as identity

from .. import checks, errors
from ..models import (
    DECIDABLE_STATES,
    QUEUE_STATES,
    UNDECIDED_PAID_STATES,
    ActorKind,
    Application,
    ApplicationEvent,
    Department,
    DepartmentOfficer,
    InformationRequest,
    OfficerRole,
    PageProgress,
    Service,
    State,
)
from ..reference import new_reference
from ..signals import application_changed
from . import attachments as files
from . import company, fees
from . import forms as engine
from .calendar import add_working_days
from .prefill import PrefillValue, prefill_digest

log = logging.getLogger(__name__)

#: The document field of the declaration signed with tungban+ (:mod:`.signature`).
SIGNED_DECLARATION = "signed_declaration"

PREFILL_VERIFIED = "verified"
PREFILL_EDITED = "resident_edited"


# --- look-ups ---
def get_service(slug: str) -> Service:
    """A listed service. :raises NotFound: ``service_unknown``."""
    try:
        return Service.objects.select_related("department", "form").get(slug=slug, listed=True)
    except Service.DoesNotExist:
        raise errors.ServiceUnknown() from None


def get_application(reference: str, *, resident=None, lock: bool = False, action: str = "view") -> Application:
    """The application ``reference``; with ``resident``, only theirs (another resident's is
    ``application_unknown`` too, so references cannot be probed). A company's application
    (CorpID) is theirs only while a mandate of theirs for the company covers ``action``
    (``view``, ``apply``…) in its service, checked now (:func:`.company.require`).

    :raises DomainError: ``application_unknown``; for a company's application CorpID's
        refusals (``mandate_revoked``, ``mandate_expired``, ``mandate_out_of_scope``…).
    """
    qs = Application.objects.select_related("service", "service__department", "form_version", "resident")
    if lock:
        qs = qs.select_for_update(of=("self",))
    try:
        app = qs.get(reference=(reference or "").strip().upper())
    except Application.DoesNotExist:
        raise errors.ApplicationUnknown() from None
    if resident is not None and app.resident_id != resident.pk:
        raise errors.ApplicationUnknown()
    if resident is not None:
        company.require(app, resident, action)
    return app


def applications_of(resident) -> list[Application]:
    """A resident's applications, newest first: their own, and those they made for a company
    while a mandate of theirs lets them view it today."""
    return company.visible(
        list(
            Application.objects.filter(resident=resident)
            .select_related("service", "service__department")
            .order_by("-id")
        ),
        resident,
    )


def history(application: Application) -> list[ApplicationEvent]:
    return list(application.events.all())


# --- officers ---
def departments_of(user) -> list[Department]:
    """The departments ``user`` is an officer or approver of."""
    return list(Department.objects.filter(officers__user=user).order_by("code"))


def require_officer(
    user, department: Department | str, *, approver: bool = False, system: bool = False
) -> DepartmentOfficer:
    """``user``'s membership of ``department`` (a code or row). ``system``: ``user`` is a
    department system's service account (not staff: it never logs in to staff pages; it acts
    through the API with its OAuth client's token).

    :raises Forbidden: ``not_department_officer`` (not an active staff member of it),
        ``not_department_approver`` (``approver=True`` and the role is ``officer``).
    """
    code = department if isinstance(department, str) else department.code
    role = None
    if user is not None and user.is_active and (user.is_staff or system):
        role = DepartmentOfficer.objects.filter(user=user, department_id=code).first()
    if role is None:
        raise errors.NotOfficer(department=code)
    if approver and role.role != OfficerRole.APPROVER:
        raise errors.NotApprover(department=code)
    return role


def _actor_id(user) -> str:
    return str(getattr(user, "username", "") or getattr(user, "pk", ""))


def _actor(user, via: str) -> tuple[str, str]:
    """(actor kind, actor id) of an officer's act, or of a department system's (``via``: its
    OAuth client id; ``user`` is then the system's service account)."""
    return (ActorKind.API, f"client:{via}") if via else (ActorKind.OFFICER, _actor_id(user))


# --- recording ---
def _record(app: Application, action: str, before: str, kind: str, actor: str, en: str = "", zh: str = ""):
    event = ApplicationEvent.objects.create(
        application=app,
        from_state=before,
        to_state=app.state,
        action=action,
        actor_kind=kind,
        actor_id=actor,
        reason_en=en,
        reason_zh=zh,
    )
    transaction.on_commit(
        lambda: application_changed.send(sender=Application, application=app, event=event), robust=True
    )
    return event


def _move(app: Application, transition: str, action: str, kind: str, actor: str, en: str = "", zh: str = ""):
    before = app.state
    try:
        getattr(app, transition)()
    except FsmRefused:
        raise errors.TransitionNotAllowed(state=State(before).label) from None
    return _record(app, action, before, kind, actor, en, zh)


def _save(app: Application, *fields: str) -> None:
    app.save(update_fields=[*fields, "state", "updated_at"])


# --- the resident's side ---
def _check_version(app_or_version, version_digest: str | None) -> None:
    digest = getattr(app_or_version, "digest", None) or app_or_version.form_version.digest
    if version_digest is not None and version_digest != digest:
        raise errors.StaleFormVersion()


def _check_age(service: Service, resident) -> None:
    if not service.credential_type:
        return
    ctype = credential_services.get_type(service.credential_type)
    if ctype.min_age and identity.age_on(resident.date_of_birth, identity.today()) < ctype.min_age:
        raise errors.AgeNotEligible(age=ctype.min_age)


def _provenance(app: Application, answers: dict) -> dict:
    """The prefill record with each field's status for ``answers``: a value that differs from
    the one released (digest) is ``resident_edited``, never ``verified`` again."""
    out = {}
    for field, record in (app.prefill or {}).items():
        same = field in answers and prefill_digest(answers[field]) == record["digest"]
        status = PREFILL_VERIFIED if same and record["status"] == PREFILL_VERIFIED else PREFILL_EDITED
        out[field] = {**record, "status": status}
    return out


def _prefilled(definition: engine.Definition, values: dict[str, PrefillValue]) -> tuple[dict, dict]:
    """``(answers, prefill record)`` of released ``values``: each value normalised for its
    field and recorded with its source, reference and digest as ``verified``.

    :raises DomainError: ``form_invalid`` for a field the form does not have."""
    answers, record = {}, {}
    for field, item in values.items():
        if field not in definition.fields:
            raise errors.FormInvalid(details={"errors": [definition.field_error(field, "unknown", None).as_dict()]})
        value = definition.normalise({field: item.value}).get(field)
        if value is None:
            continue
        answers[field] = value
        record[field] = {
            "source": item.source,
            "ref": str(item.ref),
            "digest": prefill_digest(value),
            "status": PREFILL_VERIFIED,
            **({"provider": item.provider} if item.provider else {}),
        }
    return answers, record


def _draft_expiry(service: Service) -> dt.datetime:
    return timezone.now() + dt.timedelta(days=service.draft_ttl_days)


def start_application(
    resident,
    service: Service,
    *,
    portal_sub: str = "",
    prefill: dict[str, PrefillValue] | None = None,
    idempotency_key: str = "",
    version_digest: str | None = None,
    for_company: company.Company | None = None,
) -> Application:
    """Start a draft on the service form's current version, with ``prefill`` (values the
    resident released, each recorded with its source, reference and digest as ``verified``).
    A second call with the same ``idempotency_key`` returns the first draft. ``for_company``:
    the company the resident applies for (CorpID; from the portal's corporate login), whose
    mandate must cover ``apply`` in the service now.

    :raises DomainError: ``service_not_online``, ``stale_form_version`` (``version_digest`` is
        not the current version's), ``age_not_eligible``, ``form_invalid`` (a prefilled value
        for a field the form does not have), ``company_login_required`` (a service for
        companies only), ``company_not_allowed``, CorpID's refusals (``no_mandate``,
        ``mandate_revoked``, ``mandate_out_of_scope``…).
    """
    if idempotency_key:
        found = Application.objects.filter(resident=resident, idempotency_key=idempotency_key).first()
        if found is not None:
            return found
    version = service.form.current_version() if service.online and service.form_id else None
    if version is None:
        raise errors.ServiceNotOnline()
    _check_version(version, version_digest)
    identity.require_active(resident)
    company.check_start(service, for_company)
    if for_company is None:
        _check_age(service, resident)
    else:
        company.authorise(resident, for_company.br_number, service.slug, "apply")
    definition = engine.Definition.of(version)
    answers, record = _prefilled(definition, prefill or {})
    try:
        with transaction.atomic():
            app = Application(
                reference=new_reference(service.department_id),
                service=service,
                form_version=version,
                resident=resident,
                portal_sub=portal_sub,
                prefill=record,
                **company.fields_of(for_company),
                draft_expires_at=_draft_expiry(service),
                idempotency_key=idempotency_key,
            )
            app.set_answers(answers)
            app.save()
            first = definition.visible_pages(answers)
            if first:
                PageProgress.objects.create(application=app, service=service, form_version=version, page=first[0]["id"])
                app.page_reached = first[0]["id"]
                app.save(update_fields=["page_reached"])
            _record(app, "started", "", ActorKind.RESIDENT, "resident")
    except IntegrityError:
        if idempotency_key:  # a concurrent start with the same key won
            return Application.objects.get(resident=resident, idempotency_key=idempotency_key)
        raise
    return app


def add_prefill(app: Application, resident, values: dict[str, PrefillValue]) -> Application:
    """Fill a draft's fields from a later release (e.g. the WSD address after the resident's
    consent), recorded as :func:`start_application` does."""
    with transaction.atomic():
        app = _editable(app.reference, resident)
        definition = engine.Definition.of(app.form_version)
        answers, record = _prefilled(definition, values)
        app.set_answers({**app.get_answers(), **answers})
        app.prefill = {**(app.prefill or {}), **record}
        app.save(update_fields=["answers", "prefill", "updated_at"])
    return app


def _editable(reference: str, resident) -> Application:
    app = get_application(reference, resident=resident, lock=True, action="apply")
    if app.state != State.DRAFT:
        raise errors.NotEditable(state=State(app.state).label)
    if app.draft_expires_at and app.draft_expires_at <= timezone.now():
        raise errors.DraftExpired(date=formats.date_format(timezone.localtime(app.draft_expires_at), "Y-m-d"))
    return app


def attachment_ids(app: Application) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for a in app.attachments.filter(information_request__isnull=True).only("id", "field"):
        out.setdefault(a.field, set()).add(str(a.id))
    return out


def _invalid(problems: list[engine.FieldError]):
    return errors.FormInvalid(details={"errors": [p.as_dict() for p in problems]})


def save_draft(
    app: Application,
    resident,
    answers: dict,
    *,
    page: str | None = None,
    version_digest: str | None = None,
    validate: bool = True,
) -> tuple[Application, str | None]:
    """Save ``answers`` into the draft: with ``page``, that page's fields are replaced (a field
    of the page left out is cleared) and only they are validated; without, every field given.

    ``validate=False`` ("Save and come back later", with ``page``): the page's fields are kept
    as typed, errors and all — saving a draft never validates, submitting does (GOV.UK Forms'
    and FormSG's behaviour); only the page's own fields are taken, the resident stays on the
    page (the returned page id is ``page``) and a changed prefilled value is recorded
    ``resident_edited`` as on any save.

    :returns: the application and the next visible page's id (``None`` after the last page).
    :raises DomainError: ``application_unknown``, ``not_editable``, ``draft_expired``,
        ``stale_form_version``, ``form_invalid`` (``details.errors``; nothing is stored).
    """
    if not validate and page is None:
        raise ValueError("an unvalidated save is of one page")
    with transaction.atomic():
        app = _editable(app.reference, resident)
        _check_version(app, version_digest)
        definition = engine.Definition.of(app.form_version)
        merged = app.get_answers()
        if page is not None:
            spec = definition.page(page)
            if spec is None:
                raise errors.FormInvalid(details={"errors": []}, field="page")
            for name in spec.get("fields", []):
                merged.pop(name, None)
            own = {k: v for k, v in answers.items() if k in spec.get("fields", [])}
            answers = own if not validate else own | {k: v for k, v in answers.items() if k not in definition.fields}
        merged.update(answers)
        cleaned = definition.clean(merged)
        if validate:
            problems = definition.validate(cleaned, page=page, attachments=attachment_ids(app))
            if not problems:
                problems = checks.run(app.service.slug, cleaned, page)
            if page is None:  # a whole save: only the fields given are checked now
                problems = [p for p in problems if p.field.split(".")[0] in answers]
            if problems:
                raise _invalid(problems)
        if cleaned != app.get_answers():  # a signed declaration no longer matches the answers
            _drop_signed_declaration(app)
        app.set_answers(cleaned)
        app.prefill = _provenance(app, cleaned)
        app.draft_expires_at = _draft_expiry(app.service)
        nxt = definition.next_page(page, cleaned) if page and validate else None
        if nxt is not None:
            _, created = PageProgress.objects.get_or_create(
                application=app, page=nxt["id"], defaults={"service": app.service, "form_version": app.form_version}
            )
            if created:
                app.page_reached = nxt["id"]
        app.save(update_fields=["answers", "prefill", "draft_expires_at", "page_reached", "updated_at"])
    if not validate:
        return app, page
    return app, (nxt["id"] if nxt else None)


def add_attachment(app: Application, resident, field: str, filename: str, data: bytes):
    """Upload a document for a ``file`` field of the draft (checked from its bytes).

    :raises DomainError: ``not_editable``, ``draft_expired``, ``form_invalid`` (no such file
        field), ``file_empty``, ``file_too_large``, ``file_type_refused``.
    """
    with transaction.atomic():
        app = _editable(app.reference, resident)
        definition = engine.Definition.of(app.form_version)
        spec = definition.fields.get(field)
        if not spec or spec.get("kind") != "file":
            raise _invalid([definition.field_error(field, "unknown", None)])
        content_type = files.check_file(spec, data)
        return files.store(app, field, filename, data, content_type)


def save_page(
    app: Application,
    resident,
    answers: dict,
    *,
    page: str,
    uploads: dict[str, tuple[str, bytes]] | None = None,
    version_digest: str | None = None,
    validate: bool = True,
) -> tuple[Application, str | None]:
    """One form page as posted: its documents (``uploads``: field → ``(filename, bytes)``)
    stored and chosen as the fields' answers, then :func:`save_draft` of the page, in one
    transaction: a refused page keeps no document (its files are deleted too).

    ``validate=False`` ("Save and come back later"): the page is saved as typed
    (:func:`save_draft`); a refused document (``file_*``) is not stored and its field keeps
    the document chosen before, if any.

    :raises DomainError: as :func:`add_attachment` and :func:`save_draft`.
    """
    stored = []
    try:
        with transaction.atomic():
            _check_version(get_application(app.reference, resident=resident), version_digest)
            answers = dict(answers)
            for field, (filename, data) in (uploads or {}).items():
                try:
                    doc = add_attachment(app, resident, field, filename, data)
                except DomainError as exc:
                    if validate or not exc.code.startswith("file_"):
                        raise
                    continue  # saving never validates: the refused file is simply not kept
                stored.append(doc)
                answers[field] = str(doc.id)
            return save_draft(app, resident, answers, page=page, version_digest=version_digest, validate=validate)
    except BaseException:
        files.delete_files(stored)
        raise


def _drop_signed_declaration(app: Application) -> None:
    signed = list(app.attachments.filter(field=SIGNED_DECLARATION))
    if signed or app.signing_request_id:
        app.attachments.filter(field=SIGNED_DECLARATION).delete()
        app.signing_request_id = ""
        app.save(update_fields=["signing_request_id"])
        transaction.on_commit(lambda: files.delete_files(signed))


def _fees_due(service: Service) -> bool:
    """Something to pay: the payments app's fee schedule prices an item above zero today."""
    return fees.fees_due(service)


def submit(app: Application, resident, *, version_digest: str | None = None) -> Application:
    """Submit the draft: every visible field validated, prefill provenance settled (a changed
    prefilled value stays ``resident_edited``), pledge date set; then ``awaiting_payment``
    when a fee is due. Idempotent: submitting an application already submitted returns it
    unchanged (a double submission is one application).

    :raises DomainError: ``not_editable`` (withdrawn, expired…), ``draft_expired``,
        ``stale_form_version``, ``form_invalid``.
    """
    with transaction.atomic():
        current = get_application(app.reference, resident=resident, lock=True, action="apply")
        if current.state != State.DRAFT and current.submitted_at is not None:
            return current
        app = _editable(app.reference, resident)
        _check_version(app, version_digest)
        definition = engine.Definition.of(app.form_version)
        cleaned = definition.clean(app.get_answers())
        problems = definition.validate(cleaned, attachments=attachment_ids(app))
        if not problems:
            problems = checks.run(app.service.slug, cleaned, None)
        if problems:
            raise _invalid(problems)
        signed = app.attachments.filter(field=SIGNED_DECLARATION).exists()
        if app.service.signature == "required" and not signed:
            raise errors.SignatureRequired()
        app.set_answers(cleaned)
        app.prefill = _provenance(app, cleaned)
        chosen = {str(v) for k, v in cleaned.items() if k in definition.fields_of_kind("file")}
        unused = list(
            app.attachments.filter(information_request__isnull=True)
            .exclude(field=SIGNED_DECLARATION)
            .exclude(id__in=chosen or [0])
        )
        if unused:  # replaced uploads: not part of the application
            app.attachments.filter(id__in=[a.id for a in unused]).delete()
            transaction.on_commit(lambda: files.delete_files(unused))
        now = timezone.now()
        app.submitted_at = now
        if app.service.pledge_working_days:
            app.pledge_due = add_working_days(timezone.localdate(now), app.service.pledge_working_days)
        app.draft_expires_at = None
        _move(app, "to_submitted", "submitted", ActorKind.RESIDENT, "resident")
        if _fees_due(app.service):
            _move(app, "to_awaiting_payment", "payment_requested", ActorKind.SYSTEM, "eservices")
        _save(app, "answers", "prefill", "submitted_at", "pledge_due", "draft_expires_at")
    return app


def record_payment(
    app: Application, *, actor_kind: str = ActorKind.SYSTEM, actor_id: str = "payments", reason: str = ""
) -> Application:
    """``awaiting_payment → paid`` (called by the payments side once a payment is confirmed);
    ``reason``: e.g. the order's bill reference, recorded in both languages' reason fields.
    Idempotent: an application already paid (or further on) is returned unchanged.

    :raises DomainError: ``transition_not_allowed`` (e.g. withdrawn before the money came).
    """
    with transaction.atomic():
        app = get_application(app.reference, lock=True)
        if app.state != State.AWAITING_PAYMENT and app.events.filter(action="paid").exists():
            return app
        _move(app, "to_paid", "paid", actor_kind, actor_id, reason, reason)
        _save(app)
    return app


def record_payment_reversed(app: Application, *, bill_reference: str) -> Application:
    """The bank reversed the payment (bill ``bill_reference``) that paid ``app``. Before a
    decision (``paid``, ``in_review``, ``information_requested``) the application goes back to
    ``awaiting_payment`` — the officers' work is kept; paid again, it goes on from ``paid`` —
    and the resident is told to pay again. After one (``approved``, ``licence_issued``) it
    stays as decided and becomes a case for the department's officers
    (``payment_reversed_at``; event ``payment_reversed_after_decision``, which the department's
    webhooks carry): a licence is a legal act that an automatic reversal must not undo, and the
    money may still come back (a bank error) or be paid again. Withdrawn, rejected or expired
    applications are left (their money was due back anyway). Idempotent.
    """
    en = f"The bank reversed payment {bill_reference}"
    zh = f"銀行已撤回付款 {bill_reference}"
    with transaction.atomic():
        app = get_application(app.reference, lock=True)
        if app.state in UNDECIDED_PAID_STATES:
            _move(app, "to_payment_reversed", "payment_reversed", ActorKind.SYSTEM, "payments", en, zh)
            _save(app)
        elif app.state in (State.APPROVED, State.LICENCE_ISSUED) and app.payment_reversed_at is None:
            app.payment_reversed_at = timezone.now()
            _record(app, "payment_reversed_after_decision", app.state, ActorKind.SYSTEM, "payments", en, zh)
            app.save(update_fields=["payment_reversed_at", "updated_at"])
    return app


def record_paid_again(app: Application, *, bill_reference: str) -> Application:
    """A decided application whose reversed payment was paid again: its officers' case closes
    (``payment_reversed_at`` cleared, event ``paid_again``). Idempotent."""
    with transaction.atomic():
        app = get_application(app.reference, lock=True)
        if app.payment_reversed_at is not None:
            app.payment_reversed_at = None
            _record(app, "paid_again", app.state, ActorKind.SYSTEM, "payments", bill_reference, bill_reference)
            app.save(update_fields=["payment_reversed_at", "updated_at"])
    return app


def withdraw(app: Application, resident, *, reason: str = "") -> Application:
    """The resident withdraws an open application (draft or not yet decided).

    :raises DomainError: ``transition_not_allowed`` once it is decided."""
    with transaction.atomic():
        app = get_application(app.reference, resident=resident, lock=True, action="apply")
        _move(app, "to_withdrawn", "withdrawn", ActorKind.RESIDENT, "resident", reason, reason)
        app.decided_at = timezone.now()
        _save(app, "decided_at")
    return app


def respond_to_information(app: Application, resident, answer: str, documents=()) -> Application:
    """Answer the open information request (text, and ``documents``: ``(filename, bytes)``
    checked as uploads); back to ``in_review``.

    :raises DomainError: ``no_information_request``, ``answer_required``, file errors.
    """
    answer = (answer or "").strip()
    if not answer:
        raise errors.AnswerRequired()
    with transaction.atomic():
        app = get_application(app.reference, resident=resident, lock=True, action="apply")
        request = app.information_requests.filter(answered_at__isnull=True).last()
        if app.state != State.INFORMATION_REQUESTED or request is None:
            raise errors.NoInformationRequest()
        spec = {"accept": list(files.DEFAULT_ACCEPT)}
        for name, data in documents:
            files.store(app, "information", name, data, files.check_file(spec, data), information_request=request)
        request.answer = answer
        request.answered_at = timezone.now()
        request.save(update_fields=["answer", "answered_at"])
        _move(app, "to_information_answered", "information_provided", ActorKind.RESIDENT, "resident")
        _save(app)
    return app


def expire_drafts(now: dt.datetime | None = None) -> int:
    """Expire drafts past their ``draft_expires_at``: state ``expired``, answers and documents
    deleted (the service stated how long a draft is kept). Returns how many."""
    now = now or timezone.now()
    done = 0
    ids = list(Application.objects.filter(state=State.DRAFT, draft_expires_at__lte=now).values_list("pk", flat=True))
    for pk in ids:
        with transaction.atomic():
            app = Application.objects.select_for_update().filter(pk=pk, state=State.DRAFT).first()
            if app is None or app.draft_expires_at > now:
                continue
            docs = list(app.attachments.all())
            app.set_answers({})
            _move(app, "to_expired", "expired", ActorKind.SYSTEM, "eservices")
            _save(app, "answers")
            app.attachments.all().delete()
            transaction.on_commit(lambda docs=docs: files.delete_files(docs))
            done += 1
    return done


def purge_expired(now: dt.datetime) -> dict[str, int]:
    """The retention schedule's hook (``core.retention``, run by ``tungban worker``): drafts
    past their expiry are expired, their answers and documents deleted (:func:`expire_drafts`)."""
    return {"eservices.Application (expired drafts)": expire_drafts(now)}


# --- the officer's side ---
def _for_officer(app: Application, officer, *, approver: bool = False, via: str = "") -> Application:
    app = get_application(app.reference, lock=True)
    require_officer(officer, app.service.department_id, approver=approver, system=bool(via))
    return app


def _reasons(en: str, zh: str, error) -> tuple[str, str]:
    en, zh = (en or "").strip(), (zh or "").strip()
    if not en or not zh:
        raise error()
    return en, zh


def assign(app: Application, officer, assignee=None, *, via: str = "") -> Application:
    """Assign the application to ``assignee`` (default: ``officer``), an officer of the same
    department; a queued application (submitted or paid) moves to ``in_review``. ``via``: the
    OAuth client id when a department system acts (``officer`` is its service account)."""
    assignee = assignee or officer
    kind, actor = _actor(officer, via)
    with transaction.atomic():
        app = _for_officer(app, officer, via=via)
        require_officer(assignee, app.service.department_id, system=bool(via) and assignee == officer)
        app.assigned_to = assignee
        if app.state in QUEUE_STATES:
            _move(app, "to_in_review", "review_started", kind, actor)
        elif app.state in DECIDABLE_STATES:
            _record(app, "assigned", app.state, kind, actor)
        else:
            raise errors.TransitionNotAllowed(state=State(app.state).label)
        _save(app, "assigned_to")
    return app


def _take(app: Application, officer, via: str = "") -> None:
    """A queued application an officer acts on is in review from then on."""
    if app.state in QUEUE_STATES:
        if app.assigned_to_id is None:
            app.assigned_to = officer
        _move(app, "to_in_review", "review_started", *_actor(officer, via))


def request_information(
    app: Application, officer, message_en: str, message_zh: str, *, via: str = ""
) -> InformationRequest:
    """Ask the resident for more information (bilingual message); ``in_review →
    information_requested``. :raises DomainError: ``message_required``, officer and
    transition errors."""
    en, zh = _reasons(message_en, message_zh, errors.MessageRequired)
    with transaction.atomic():
        app = _for_officer(app, officer, via=via)
        _take(app, officer, via)
        request = InformationRequest.objects.create(application=app, message_en=en, message_zh=zh, requested_by=officer)
        _move(app, "to_information_requested", "information_requested", *_actor(officer, via), en, zh)
        _save(app, "assigned_to")
    return request


def approve(app: Application, officer, *, reason_en: str = "", reason_zh: str = "", via: str = "") -> Application:
    """Approve (approver role). When the service needs a second approval, the first call
    records ``first_approval`` and keeps the state; a different approver's call approves.
    On approval the e-licence (if the service issues one) is queued for issuance in the same
    transaction and issued right after the commit (:func:`issue_licence`; the queued task
    retries if that fails).

    :raises DomainError: ``not_department_officer``, ``not_department_approver``,
        ``same_approver``, ``transition_not_allowed`` (e.g. already approved: two officers
        approving at once get one approval; the row lock orders them).
    """
    with transaction.atomic():
        app = _for_officer(app, officer, approver=True, via=via)
        _take(app, officer, via)
        if app.state != State.IN_REVIEW:
            raise errors.TransitionNotAllowed(state=State(app.state).label)
        kind, actor = _actor(officer, via)
        if app.service.second_approval and app.first_approved_by_id is None:
            app.first_approved_by = officer
            _record(app, "first_approval", app.state, kind, actor, reason_en, reason_zh)
            _save(app, "first_approved_by", "assigned_to")
            return app
        if app.service.second_approval and app.first_approved_by_id == officer.pk:
            raise errors.SameApprover()
        app.decided_at = timezone.now()
        _move(app, "to_approved", "approved", kind, actor, reason_en, reason_zh)
        _save(app, "decided_at", "assigned_to")
        if app.service.credential_type:
            jobs.enqueue(issue_licence_task, app.reference)
    if app.service.credential_type:
        try:
            app = issue_licence(app)
        except Exception:  # the queued task retries; the approval stands
            log.exception("e-licence for %s not issued yet; the task retries", app.reference)
    return app


def reject(app: Application, officer, reason_en: str, reason_zh: str, *, via: str = "") -> Application:
    """Reject with reasons in both languages (an officer of the department).

    :raises DomainError: ``reason_required``, officer and transition errors."""
    en, zh = _reasons(reason_en, reason_zh, errors.ReasonRequired)
    with transaction.atomic():
        app = _for_officer(app, officer, via=via)
        app.decided_at = timezone.now()
        _move(app, "to_rejected", "rejected", *_actor(officer, via), en, zh)
        _save(app, "decided_at")
    return app


def reason_text(event: ApplicationEvent) -> str:
    """An event's reason in the active language."""
    return event.reason_zh if (translation.get_language() or "").startswith("zh") else event.reason_en


ACTION_LABELS = {
    "started": _("Application started"),
    "submitted": _("Submitted"),
    "payment_requested": _("Waiting for payment"),
    "paid": _("Payment received"),
    "payment_reversed": _("The bank reversed the payment: the fee is due again"),
    "payment_reversed_after_decision": _("The bank reversed the payment after the decision"),
    "paid_again": _("Payment received again"),
    "review_started": _("An officer started the review"),
    "assigned": _("Assigned to an officer"),
    "information_requested": _("The department asked for more information"),
    "information_provided": _("You answered the department's request"),
    "first_approval": _("First approval given"),
    "approved": _("Approved"),
    "licence_issued": _("e-Licence issued to your app"),
    "rejected": _("Rejected"),
    "withdrawn": _("Withdrawn"),
    "expired": _("Draft expired"),
}


# --- the e-licence ---
def _answer_at(answers: dict, path: str):
    value = answers
    for part in path.split("."):
        if isinstance(value, list) and part.isdigit():
            value = value[int(part)] if int(part) < len(value) else None
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def licence_inputs(app: Application) -> dict:
    """The e-licence's input claims from the service's ``licence_inputs`` sources
    (``catalogue/README.md``): ``answer:<path>``, ``reference``, ``number:<PREFIX>:<digits>``
    (the prefix and the application's number, zero-padded), ``today``, ``const:<text>``."""
    answers = app.get_answers()
    out = {}
    for claim, source in (app.service.licence_inputs or {}).items():
        if source.startswith("answer:"):
            value = _answer_at(answers, source.removeprefix("answer:"))
            if isinstance(value, dict):  # an address: one line, as printed
                value = ", ".join(str(v) for v in value.values() if v)
        elif source == "reference":
            value = app.reference
        elif source.startswith("number:"):
            _, prefix, width = source.split(":")
            value = f"{prefix}{app.pk:0{int(width)}d}"
        elif source == "today":
            value = timezone.localdate().isoformat()
        else:
            value = source.removeprefix("const:")
        if value not in (None, ""):
            out[claim] = value
    return out


def issue_licence(app: Application) -> Application:
    """Issue the service's e-licence to the resident's app (``credentials.services.issue``,
    bound to their bound device key) for an approved application: ``approved →
    licence_issued``. Issuing again is a no-op.

    :raises DomainError: ``licence_not_configured``, ``transition_not_allowed`` (not approved),
        the credentials app's claim errors.
    """
    with transaction.atomic():
        app = get_application(app.reference, lock=True)
        if app.state == State.LICENCE_ISSUED:
            return app
        if not app.service.credential_type:
            raise errors.LicenceNotConfigured()
        if app.state != State.APPROVED:
            raise errors.TransitionNotAllowed(state=State(app.state).label)
        ctype = credential_services.get_type(app.service.credential_type)
        credential = credential_services.issue(
            ctype, app.resident, licence_inputs(app), issued_by=f"eservices:{app.reference}"
        )
        app.credential_id = str(credential.id)
        _move(app, "to_licence_issued", "licence_issued", ActorKind.SYSTEM, "eservices")
        _save(app, "credential_id")
    return app


@task(takes_context=True)
def issue_licence_task(context, reference: str, attempt: int = 1) -> str:
    """Issue an approved application's e-licence (queued with the approval); attempt
    ``attempt`` of ``TUNGBAN_TASK_MAX_ATTEMPTS``, the next queued with ``core.jobs`` backoff."""
    try:
        return issue_licence(get_application(reference)).state
    except Exception:
        if jobs.can_retry(attempt):
            jobs.enqueue(issue_licence_task, reference, attempt + 1, delay=jobs.retry_delay(attempt))
        raise
