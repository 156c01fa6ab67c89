"""The declaration signed with tungban+ (issue 17, "Lifecycle": a declaration step can
require a tungban+ signature): the application's answers as a bilingual PDF (fpdf2, the
signing service's CJK font), signed PAdES B-T through :mod:`tungban.signing` after the
resident approves in the app, kept as the application's ``signed_declaration`` document.

A service's ``signature`` is ``required`` (no submission without it), ``allowed`` (offered)
or ``no``. The signing itself is the signing service's background job; :func:`collect`
stores the result once it is there. A company's application (CorpID) is signed for the
company through :func:`tungban.corpid.services.corporate_signing.open_request` (the PDF names
the company, its BR number, the person and the mandate).
"""

from __future__ import annotations

import base64

from django.db import transaction
from django.utils import timezone

from tungban.signing import pdf as signing_pdf
from tungban.signing import services as signing

from .. import errors
from ..models import Application, State
from . import attachments as files
from . import company, lifecycle
from . import forms as engine

FIELD = lifecycle.SIGNED_DECLARATION
#: The first-party client the portal signs as (``eservices.portal.CLIENT_ID``).
PORTAL_CLIENT = "tungban-eservices"


def _text(value) -> str:
    if isinstance(value, dict):
        return ", ".join(_text(v) for v in value.values() if v)
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value)
    if value is True:
        return "Yes 是"
    if value is False:
        return "No 否"
    return str(value)


def application_pdf(app: Application) -> bytes:
    """A4 PDF of the application: service and department in both languages, reference,
    every visible answer (both labels), the declaration in both languages and the date.

    :raises DomainError: ``stamp_font_missing`` when no CJK font is installed.
    """
    from fpdf import FPDF

    definition = engine.Definition.of(app.form_version)
    answers = definition.clean(app.get_answers())
    service, department = app.service, app.service.department
    rows = []
    declaration = []
    for name in definition.visible_fields(answers):
        spec = definition.fields.get(name, {})
        if spec.get("kind") == "declaration":
            declaration += [spec.get("label_en", ""), spec.get("label_zh", "")]
            continue
        if spec.get("kind") == "file":
            continue
        if name in answers:
            rows.append((f"{spec.get('label_en', name)} {spec.get('label_zh', '')}", _text(answers[name])))
    title = f"{service.name_en}\n{service.name_zh}"
    head = f"{department.name_en} {department.name_zh}\nReference 參考編號: {app.reference}"
    if app.org_br_number:  # a company's application (CorpID): who applies, and who for
        person = app.resident
        head += (
            f"\nApplicant 申請人: {app.org_name_en} {app.org_name_zh}"
            f" (Business Registration No. 商業登記號碼 {app.org_br_number})"
            f"\nFor the company by 代表公司: {person.name_en} {person.name_zh}, mandate 授權 {app.mandate_id}"
        )
    when = f"Signed on 簽署日期: {timezone.localdate().isoformat()}"
    texts = [title, head, when, *declaration, *[t for row in rows for t in row]]
    used = sorted({ord(c) for t in texts for c in t if c != "\n"} | {ord(" ")})
    font = signing_pdf.stamp_font()

    doc = FPDF(orientation="portrait", unit="mm", format="A4")
    doc.set_title(f"{service.name_en} {app.reference}")
    doc.set_author(f"{department.name_en} {department.name_zh}")
    doc.set_creator("tungban e-Services")
    doc.set_auto_page_break(True, margin=15)
    doc.set_margins(18, 15, 18)
    doc.add_page()
    if font.endswith(".ttc"):
        doc.add_font("cjk", fname=font, collection_font_number=0, unicode_range=used)
    else:
        doc.add_font("cjk", fname=font, unicode_range=used)
    width = doc.w - doc.l_margin - doc.r_margin
    doc.set_font("cjk", size=16)
    doc.multi_cell(width, 8, title, new_x="LMARGIN", new_y="NEXT")
    doc.set_font("cjk", size=10)
    doc.multi_cell(width, 6, head, new_x="LMARGIN", new_y="NEXT")
    doc.ln(4)
    for label, value in rows:
        doc.set_font("cjk", size=9)
        doc.multi_cell(width, 5, label, new_x="LMARGIN", new_y="NEXT")
        doc.set_font("cjk", size=11)
        doc.multi_cell(width, 6, value, new_x="LMARGIN", new_y="NEXT")
        doc.ln(1)
    doc.ln(4)
    doc.set_font("cjk", size=11)
    for line in declaration:
        doc.multi_cell(width, 6, line, new_x="LMARGIN", new_y="NEXT")
    doc.ln(2)
    doc.multi_cell(width, 6, when, new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())


def request(app: Application, resident) -> str:
    """Open a signing request for the draft's declaration PDF (the resident approves it in
    the app); its id is kept on the application. Answers must be complete first. A company's
    application is signed for the company (CorpID's corporate signing: the person's signature
    and the company's seal, a second signatory when the mandate asks for joint approval).

    :raises DomainError: ``not_editable``, ``form_invalid``, the signing service's
        refusals (``plus_required``, ``no_device``, ``certificate_revoked``…), for a company
        CorpID's (``mandate_out_of_scope`` without ``sign``, ``mandate_revoked``…).
    """
    app = lifecycle.get_application(app.reference, resident=resident, action="apply")
    if app.state != State.DRAFT:
        raise errors.NotEditable(state=State(app.state).label)
    definition = engine.Definition.of(app.form_version)
    problems = definition.validate(definition.clean(app.get_answers()), attachments=lifecycle.attachment_ids(app))
    if problems:
        raise errors.FormInvalid(details={"errors": [p.as_dict() for p in problems]})
    document = application_pdf(app)
    documents = [{"name": f"{app.reference}.pdf", "pdf": base64.b64encode(document).decode()}]
    reason = f"{app.service.name_en} {app.reference}"
    if app.org_br_number:  # signed for the company: the person's signature and the company's seal
        req = company.open_signing(app, resident, documents, reason=reason, client_id=PORTAL_CLIENT)
    else:
        req = signing.create_request_for(PORTAL_CLIENT, resident, documents, reason=reason)
    with transaction.atomic():
        locked = lifecycle.get_application(app.reference, resident=resident, lock=True)
        locked.signing_request_id = str(req.id)
        locked.save(update_fields=["signing_request_id", "updated_at"])
    return str(req.id)


def status(app: Application) -> dict:
    """The signing request's state as the signing service reports it (``status``,
    ``approval_uri``, ``comparison_code``, ``signer``…), or ``{}`` when none was asked. For a
    company's application also ``second_approval_id``: the approval a second authorised
    person of the company must give (the mandate's joint approval), or ``""``."""
    if not app.signing_request_id:
        return {}
    req = signing.get_request_for(PORTAL_CLIENT, app.signing_request_id)
    out = signing.request_result(req)
    if app.org_br_number:  # joint approval: the second signatory's approval, once it is open
        out["second_approval_id"] = company.second_approval(req)
    return out


def signed_document(app: Application):
    """The application's signed declaration (:class:`Attachment`), or ``None``."""
    return app.attachments.filter(field=FIELD).order_by("-id").first()


def collect(app: Application, resident):
    """Keep the signed PDF once the signing job is done: returns the ``signed_declaration``
    document, or ``None`` while the request is not signed yet.

    :raises DomainError: ``no_signing_request`` (none asked), ``not_editable``.
    """
    existing = signed_document(app)
    if existing is not None and not app.signing_request_id:
        return existing
    req = signing.get_request_for(PORTAL_CLIENT, app.signing_request_id)
    if req.status() != "signed":
        return None
    data, _media, name = signing.document_result(req, 0)
    with transaction.atomic():
        locked = lifecycle.get_application(app.reference, resident=resident, lock=True)
        if locked.state != State.DRAFT:
            raise errors.NotEditable(state=State(locked.state).label)
        app.attachments.filter(field=FIELD).delete()
        doc = files.store(locked, FIELD, name, data, "application/pdf")
        locked.signing_request_id = ""
        locked.save(update_fields=["signing_request_id", "updated_at"])
    return doc
