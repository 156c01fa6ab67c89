"""What a mini-app may ask the resident for: the permission list the bridge brokers.

Deny by default (WeChat's scopes, Alipay's ``auth_user`` scopes, the W3C MiniApp manifest's
permissions; anchor study §2.5 and §4(e) E5/E7): a mini-app's manifest declares the
permissions it may ask for; each needs the resident's grant in the app, per mini-app; every
granted data release is recorded in the resident's history; the resident revokes a grant in
the app. A permission whose action the platform cannot carry out yet (``available=False``,
e.g. a payment) can be declared and granted, and its calls answer ``action_not_available``.

The mini-app's own pairwise identifier (signed launch context) needs no grant: like Alipay's
``auth_base`` it tells the mini-app nothing about the resident beyond "the same person as
last time, here".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from tungban.identity.models import Resident


@dataclass(frozen=True)
class Permission:
    id: str
    label: object  # lazy: what the resident is asked ("Read my name")
    detail: object  # lazy: what the mini-app receives
    claims: tuple[str, ...] = ()  # e-ME claims released (recorded in the history)
    available: bool = True
    value: Callable[[Resident], dict] | None = None


def _name(resident: Resident) -> dict:
    return {"name_en": resident.name_en, "name_zh": resident.name_zh}


PERMISSIONS: dict[str, Permission] = {
    p.id: p
    for p in (
        Permission(
            "profile.name",
            _("Read my name"),
            _("Your name in English and in Chinese."),
            claims=("name_en", "name_zh"),
            value=_name,
        ),
        Permission(
            "payment.request",
            _("Request a payment"),
            _("Ask you to pay an amount; you would confirm each payment. Not available yet."),
            available=False,
        ),
    )
}


def get(permission_id: str) -> Permission | None:
    return PERMISSIONS.get(permission_id)
