"""Who acts for a department on payments (refunds, the payment counter), and the departments'
names: a registry, because the platform's department officers are e-services'
(:class:`tungban.eservices.models.DepartmentOfficer`, floor 7) and payments sits below
(floor 6). e-Services registers its lookups in its ``AppConfig.ready()``::

    from tungban.payments import officers

    officers.register(memberships=lambda user: [officers.Membership("FEHD", "approver")],
                      department_name=lambda code: ("Food and Environmental Hygiene Department",
                                                    "食物環境衞生署"))

Roles: ``officer`` (may request refunds, give the second officer's approval, use the payment
counter) and ``approver`` (an officer who may also give the approval a refund above the
threshold needs). A user with no membership acts for no department.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import get_language

from . import errors

OFFICER = "officer"
APPROVER = "approver"


@dataclass(frozen=True)
class Membership:
    department: str
    role: str


_memberships: Callable | None = None
_department_name: Callable | None = None
_service_name: Callable | None = None


def register(*, memberships: Callable, department_name: Callable, service_name: Callable | None = None) -> None:
    """Set the lookups: ``memberships(user) -> list[Membership]``,
    ``department_name(code) -> (name_en, name_zh) | None`` and (optional)
    ``service_name(department, slug) -> (name_en, name_zh) | None``. A later call replaces them."""
    global _memberships, _department_name, _service_name
    _memberships, _department_name, _service_name = memberships, department_name, service_name


def memberships(user) -> list[Membership]:
    """``user``'s departments (none for an inactive or non-staff user, or with no lookup)."""
    if _memberships is None or user is None or not getattr(user, "is_authenticated", False):
        return []
    if not (user.is_active and user.is_staff):
        return []
    return list(_memberships(user))


def role_in(user, department: str) -> str | None:
    """``officer``, ``approver`` or ``None``."""
    return next((m.role for m in memberships(user) if m.department == department), None)


def require(user, department: str, *, approver: bool = False) -> str:
    """``user``'s role in ``department``.

    :raises Forbidden: ``not_payments_officer`` (no role there), ``not_payments_approver``
        (``approver=True`` and the role is ``officer``).
    """
    role = role_in(user, department)
    if role is None:
        raise errors.NotPaymentsOfficer(department=department)
    if approver and role != APPROVER:
        raise errors.NotPaymentsApprover(department=department)
    return role


def department_names(code: str) -> tuple[str, str]:
    """``(English, Chinese)`` name of department ``code`` (the code itself when unknown)."""
    found = _department_name(code) if _department_name else None
    return found or (code, code)


def department_name(code: str) -> str:
    """The name in the request's language."""
    en, zh = department_names(code)
    return zh if (get_language() or "").startswith("zh") else en


def service_name(department: str, slug: str) -> str:
    """A service's name in the request's language (its slug when unknown)."""
    found = _service_name(department, slug) if _service_name else None
    if not found:
        return slug
    en, zh = found
    return zh if (get_language() or "").startswith("zh") else en
