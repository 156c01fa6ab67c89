"""The e-licence card of the personal assistant panel (issue 16; registered with
:mod:`tungban.wallet.cards` in ``CredentialsConfig.ready``): the resident's valid e-licences
that expire within :data:`EXPIRING_DAYS`, soonest first, each with the department that
issued it, its type and when it was issued (the platform's own records: no exchange)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from tungban.identity.models import Resident

from .models import Credential, Status

EXPIRING_DAYS = 90


def _name(obj) -> str:
    en = (get_language() or "").startswith("en")
    return obj.name_en if en else (obj.name_zh or obj.name_en)


def _date(d: dt.datetime) -> str:
    d = timezone.localtime(d).date()
    return d.strftime("%-d %b %Y") if (get_language() or "").startswith("en") else f"{d.year}年{d.month}月{d.day}日"


def expiring_card(resident: Resident) -> dict:
    """``ok`` with one item per licence expiring within :data:`EXPIRING_DAYS` days (label: its
    type; value: "Expires on …"), else ``empty``."""
    now = timezone.now()
    soon = list(
        Credential.objects.select_related("credential_type", "issuer")
        .filter(
            holder=resident,
            status=Status.VALID,
            expires_at__gt=now,
            expires_at__lte=now + dt.timedelta(days=EXPIRING_DAYS),
        )
        .order_by("expires_at")
    )
    if not soon:
        return {
            "state": "empty",
            "message": _("None of your e-licences expires in the next %(days)s days.") % {"days": EXPIRING_DAYS},
        }
    return {
        "state": "ok",
        "items": [
            {"label": _name(c.credential_type), "value": _("Expires on %(date)s") % {"date": _date(c.expires_at)}}
            for c in soon
        ],
        "sources": [
            {"department": _name(c.issuer), "product": _name(c.credential_type), "fetched_at": c.issued_at.isoformat()}
            for c in soon
        ],
    }
