"""Where a case goes (issue 22; seed 002 ITIB211, the lead-department rule).

The candidates for a case are, in order, the departments of the active :class:`RoutingRule`
rows that match it — by ``priority`` then id; a rule matches when its case type is the case's
or null and its district is the case's or blank — and last the case type's own department,
each department once. The case goes to the first candidate that has not declined it; when
every candidate has declined, it is escalated to the 1823 coordinator, who settles the lead
department (:func:`tungban.hotline.services.cases.decide_lead`).
"""

from __future__ import annotations

from django.db.models import Q

from ..constants import EventKind
from ..models import Case, CaseType, RoutingRule


def candidates(case_type: CaseType, district: str = "") -> list[str]:
    """Department codes a case of ``case_type`` in ``district`` may go to, best first."""
    rules = (
        RoutingRule.objects.filter(active=True)
        .filter(Q(case_type=case_type) | Q(case_type__isnull=True))
        .filter(Q(district="") | Q(district=district or ""))
        .order_by("priority", "id")
        .values_list("department_id", flat=True)
    )
    out: list[str] = []
    for code in [*rules, case_type.department_id]:
        if code not in out:
            out.append(code)
    return out


def declined_by(case: Case) -> set[str]:
    """Departments that have declined ``case`` — or passed it on by a transfer, which records
    a decline — since the coordinator's last lead-department decision (which resets the round),
    so that no two departments can pass a case back and forth without it reaching the
    coordinator."""
    last_reset = case.events.filter(kind=EventKind.LEAD_DECIDED).order_by("-at", "-id").first()
    declined = case.events.filter(kind=EventKind.DECLINED)
    if last_reset is not None:
        declined = declined.filter(id__gt=last_reset.id)
    return set(declined.exclude(department=None).values_list("department_id", flat=True))


def next_department(case: Case) -> str | None:
    """The first candidate for ``case`` that has not declined it, or ``None`` (escalate)."""
    refused = declined_by(case)
    for code in candidates(case.case_type, case.district):
        if code not in refused:
            return code
    return None


def first_department(case_type: CaseType, district: str = "") -> str | None:
    """Where a new case goes (:func:`candidates`' first), or ``None``."""
    found = candidates(case_type, district)
    return found[0] if found else None
