"""``{% staff_header %}``: the header of every staff page (issue 16, staff16 item 3) — who is
logged in (name and role), the way back to their home pages, and log-out (a POST)."""

from __future__ import annotations

from django import template
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from tungban.committees import services as committees
from tungban.counter import roles
from tungban.payments import officers as payment_officers

register = template.Library()


def staff_roles(user) -> list[str]:
    """The roles of staff ``user``, as translated labels (administrator; counter supervisor
    or counter officer; credential officer), in that order; empty for a user with none."""
    labels = []
    if user.is_superuser:
        labels.append(_("Administrator"))
    if user.has_perm(roles.APPROVE_REBIND):
        labels.append(_("Counter supervisor"))
    elif user.has_perm(roles.USE_COUNTER):
        labels.append(_("Counter officer"))
    if user.credential_issuers.exists():
        labels.append(_("Credential officer"))
    if user.eservice_roles.exists():
        labels.append(_("e-Services officer"))
    return labels


@register.inclusion_tag("counter/_staff_header.html", takes_context=True)
def staff_header(context):
    """Context for ``counter/_staff_header.html``; nothing is shown to a user who is not staff."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not (user.is_authenticated and user.is_staff):
        return {"show": False}
    return {
        "show": True,
        "csrf_token": context.get("csrf_token"),
        "name": user.get_full_name() or user.get_username(),
        # Chinese lists take the enumeration comma 、 (櫃位職員、電子服務職員), not ", "
        "roles": ("、" if (get_language() or "").startswith("zh") else ", ").join(staff_roles(user)),
        "counter": user.has_perm(roles.USE_COUNTER),
        "credentials": user.is_superuser or user.credential_issuers.exists(),
        "eservices": user.eservice_roles.exists(),
        "payments": bool(payment_officers.memberships(user)),
        "committees": bool(committees.memberships(user)),
        "admin": user.is_superuser,
        "path": request.path,
    }
