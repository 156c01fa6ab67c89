"""The person's notifications about their 1823 case (issue 22): when it reaches a department,
when a department replies and when it is closed — to a logged-in person only, through the
platform's notify service (:func:`tungban.notify.services.send_to_resident`) with the
e-services portal's sender, as :mod:`tungban.eservices.receivers` does. Only the reference goes
into a message (it is pushed to the phone); the department's words stay on the case's page.
"""

from __future__ import annotations

import logging

from django.core.exceptions import ObjectDoesNotExist

from tungban.eservices import portal
from tungban.notify import services as notify

log = logging.getLogger("tungban.hotline")

#: The messages (``((reference))`` is the only placeholder), template names ``hotline_<event>``.
TEMPLATES = {
    "hotline_routed": {
        "subject_en": "Your 1823 case ((reference)) is with a department",
        "subject_zh": "你的 1823 個案 ((reference)) 已交由部門處理",
        "body_en": "1823 passed your case ((reference)) to the department responsible. "
        "Follow it on the case's page in tungban.",
        "body_zh": "1823 已將你的個案 ((reference)) 交由負責部門處理。請在通辦的個案頁面查看進度。",
    },
    "hotline_replied": {
        "subject_en": "The department replied on your 1823 case ((reference))",
        "subject_zh": "部門已回覆你的 1823 個案 ((reference))",
        "body_en": "The department replied on your case ((reference)). Read the reply on the case's page in tungban.",
        "body_zh": "部門已就你的個案 ((reference)) 作出回覆。請在通辦的個案頁面查看回覆。",
    },
    "hotline_closed": {
        "subject_en": "Your 1823 case ((reference)) is closed",
        "subject_zh": "你的 1823 個案 ((reference)) 已結案",
        "body_en": "The department closed your case ((reference)) with a reply. Read it on the case's page in "
        "tungban; you may reopen the case there if the matter is not settled.",
        "body_zh": "部門已回覆並結束你的個案 ((reference))。請在通辦的個案頁面查看；如事情未解決，可在該頁面重開個案。",
    },
}


def ensure_templates() -> None:
    """Make or update the templates on the portal's sender (``seed_hotline`` and first use)."""
    notify.ensure_templates(portal.sender(), TEMPLATES)


def tell(case, event: str) -> None:
    """Notify the case's person of ``event`` (``routed``, ``replied``, ``closed``), if they were
    logged in; inside the caller's transaction (the notification and its delivery task are
    stored with the case's change, or neither). No sender set up (``tungban setup`` makes
    it): logged and skipped."""
    if case.resident_id is None:
        return
    name = f"hotline_{event}"
    try:
        sender = portal.sender()
        try:
            template = notify.template_named(sender, name)
        except ObjectDoesNotExist:
            notify.ensure_templates(sender, TEMPLATES)
            template = notify.template_named(sender, name)
    except ObjectDoesNotExist:
        log.warning("portal sender missing: %s not notified for %s", name, case.reference)
        return
    notify.send_to_resident(sender, template, case.resident, {"reference": case.reference}, reference=case.reference)
