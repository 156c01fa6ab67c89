"""What the payments app (floor 6) learns from e-services about departments (issue 18,
pay-refund): which departments a staff user acts for on payments, with what role, and each
department's names — the lookups registered with :mod:`tungban.payments.officers` in
``EservicesConfig.ready``. A department officer of e-services is an officer of its payments
(refunds, the payment counter); an e-services ``approver`` may give a refund's approver's
approval."""

from __future__ import annotations

from tungban.payments import officers

from .models import Department, DepartmentOfficer, OfficerRole, Service


def memberships(user) -> list[officers.Membership]:
    return [
        officers.Membership(
            row.department_id, officers.APPROVER if row.role == OfficerRole.APPROVER else officers.OFFICER
        )
        for row in DepartmentOfficer.objects.filter(user=user).order_by("department_id")
    ]


def department_name(code: str) -> tuple[str, str] | None:
    row = Department.objects.filter(code=code).values_list("name_en", "name_zh").first()
    return tuple(row) if row else None


def service_name(department: str, slug: str) -> tuple[str, str] | None:
    row = Service.objects.filter(department_id=department, slug=slug).values_list("name_en", "name_zh").first()
    return tuple(row) if row else None


def register() -> None:
    officers.register(memberships=memberships, department_name=department_name, service_name=service_name)
