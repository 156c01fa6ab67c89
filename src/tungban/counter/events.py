"""Readable labels for the account events officers see in a resident's history (issue 16,
staff16 item 5): every ``identity.AuditEvent.action`` the platform records, in English and
Traditional Chinese. ``counter/tests/test_event_labels.py`` checks that every kind emitted in
the source has a label here; an unknown kind still shows as "Other account event".
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tungban.signing.choices import REVOCATION_REASON_LABELS

#: ``{AuditEvent.action: label}``. ``status_<ResidentStatus>`` are written by
#: :func:`tungban.identity.services.set_status`.
EVENT_LABELS = {
    "registered": _("Account registered"),
    "status_active": _("Account reinstated"),
    "status_suspended": _("Account suspended"),
    "activation_code_issued": _("Activation code issued"),
    "device_bound": _("App bound to a device"),
    "device_unbound": _("Device unbound"),
    "rebind_requested": _("Re-binding requested"),
    "rebind_approved": _("Re-binding approved by a second officer"),
    "rebind_rejected": _("Re-binding rejected"),
    "rebind_code_issued": _("Re-binding activation code issued"),
    "signing_certificate_issued": _("Signing certificate issued"),
    "signing_certificate_revoked": _("Signing certificate revoked"),
    "documents_signed": _("Documents signed"),
    "consent_revoked": _("Data-sharing consent withdrawn"),
    "sample_pledge_made": _("Pledge made (sample service)"),
}

#: Reasons recorded as codes by the platform itself (officers' reasons are free text, shown as typed).
REASON_CODES = {
    "suspended": _("the account was suspended"),
    "officer": _("by an officer"),
    "rebound": _("another phone was bound"),
    "resident": _("by the resident, in the app"),
}

#: Detail keys shown with an event, with their labels (others, e.g. internal ids, are not shown).
DETAIL_LABELS = {
    "reason": _("Reason"),
    "serial": _("Serial number"),
    "count": _("Documents"),
}


def event_label(action: str) -> str:
    """The translated label of ``action``; ``"Other account event"`` for one without a label."""
    label = EVENT_LABELS.get(action)
    return str(label) if label is not None else str(_("Other account event"))


def _detail_value(action: str, key: str, value) -> str:
    if key == "reason":
        codes = REVOCATION_REASON_LABELS if action.startswith("signing_certificate") else REASON_CODES
        if value in codes:
            return str(codes[value])
    return str(value)


def history_rows(events) -> list[dict]:
    """``[{"at": datetime, "label": str, "actor": username or "", "details": [(label, value)]}]``
    for ``identity.AuditEvent`` rows, in their order."""
    rows = []
    for event in events:
        detail = event.detail or {}
        rows.append(
            {
                "at": event.created_at,
                "action": event.action,
                "label": event_label(event.action),
                "actor": event.actor.get_username() if event.actor_id else "",
                "details": [
                    (str(DETAIL_LABELS[k]), _detail_value(event.action, k, detail[k]))
                    for k in DETAIL_LABELS
                    if detail.get(k) not in (None, "")
                ],
            }
        )
    return rows
