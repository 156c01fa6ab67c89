"""The sample domain's one service: ask a resident to pledge a text in the app."""

from __future__ import annotations

import hashlib

from tungban.identity.models import Resident
from tungban.wallet import services as wallet
from tungban.wallet.models import ApprovalRequest

from .constants import PLEDGE_KIND

REQUESTER_ID = "sampledomain"


def pledge_digest(text: str) -> str:
    """SHA-256 of the UTF-8 text, lowercase hex (64 characters)."""
    return hashlib.sha256(text.encode()).hexdigest()


def ask_pledge(resident: Resident, text: str) -> ApprovalRequest:
    """Open a pledge approval for ``resident``: the app shows ``text`` (as the reason) and the
    device's signed decision must repeat its digest as ``pledge``."""
    return wallet.create_request(
        kind=PLEDGE_KIND,
        requester_id=REQUESTER_ID,
        requester_name_en="Sample domain",
        requester_name_zh="示例範疇",
        requested_claims=[],
        resident=resident,
        context={"reason": text},
        binds={"pledge": pledge_digest(text)},
    )
