"""Shared test data for the e-services tests (and the other e-services helpers' tests)."""

from __future__ import annotations

from tungban.eservices.models import DepartmentOfficer
from tungban.testing.factories import staff_user

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def jpeg_bytes() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + b"\x00" * 64


def department_user(username: str, department: str, role: str = "officer"):
    user = staff_user("none", username=username)
    DepartmentOfficer.objects.create(user=user, department_id=department, role=role)
    return user


SENIOR_ANSWERS = {
    "applicant": {
        "family_name": "CHAN",
        "given_name": "Tai Man",
        "name_zh": "陳大文",
        "birthdate": "1960-05-17",
        "phone": "9123 4567",
    },
    "address": {"address": {"lines": ["Flat 3B, 18 Nathan Road"], "district": "Tsim Sha Tsui", "region": "KLN"}},
    "card": {"collection": "app"},
    "declaration": {"declaration": True},
}


def fill_senior_card(services, app, resident, *, photo: bytes = PNG):
    """Fill every page of a Senior Citizen Card draft (the HKID from the resident)."""
    pages = dict(SENIOR_ANSWERS)
    pages["applicant"] = {**pages["applicant"], "hkid": resident.hkid}
    for page in ("applicant", "address", "card"):
        services.save_draft(app, resident, pages[page], page=page)
    doc = services.add_attachment(app, resident, "photo", "me.png", photo)
    services.save_draft(app, resident, {"photo": str(doc.id)}, page="documents")
    services.save_draft(app, resident, pages["declaration"], page="declaration")
    return app


HAWKER_ANSWERS = {
    "stall": {
        "trade": "flowers",
        "pitch_district": "victoria-park",
        "start_date": "2027-02-01",
        "has_assistants": False,
    },
    "declaration": {"declaration": True},
}


def submitted_hawker_licence(services, resident):
    """A temporary hawker licence application, filled and submitted: it awaits its HK$350 fee."""
    from tungban.eservices.models import Service

    app = services.start_application(resident, Service.objects.get(slug="temporary-hawker-licence"))
    applicant = {"family_name": "CHAN", "given_name": "Tai Man", "hkid": resident.hkid, "phone": "91234567"}
    services.save_draft(app, resident, applicant, page="applicant")
    services.save_draft(app, resident, HAWKER_ANSWERS["stall"], page="stall")
    photo = services.add_attachment(app, resident, "photo", "me.png", PNG)
    services.save_draft(app, resident, {"photo": str(photo.id)}, page="documents")
    services.save_draft(app, resident, HAWKER_ANSWERS["declaration"], page="declaration")
    return services.submit(app, resident)


def pay(app, *, end_to_end_id: str = ""):
    """Pay an application awaiting payment as a bank credit would (issue 18): its order made,
    a credit transfer of the amount due recorded with the order's reference
    (:func:`tungban.payments.services.record_credit`), then the purpose's fulfilment run (what the
    worker's task does). Returns the application, ``paid``."""
    from django.utils import timezone

    from tungban.eservices.services import payment
    from tungban.payments import services as payments

    order = payment.ensure_order(app, app.resident)
    payments.record_credit(
        payments.CreditIn(
            end_to_end_id=end_to_end_id or f"E2E-{order.reference}",
            message_id="test-bank",
            amount_cents=order.amount_cents,
            value_date=timezone.localdate(),
            booked_at=timezone.now(),
            reference=order.reference,
        ),
        source="notification",
    )
    payments.fulfil(order)
    app.refresh_from_db()
    return app
