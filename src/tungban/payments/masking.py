"""Masked forms of a payer's personal data, for the pages and documents whose readers do not
need the full value (review finding 10): the name a bank reports for a transfer, and an
account number. The full values stay encrypted at rest (:mod:`tungban.core.fields`) and are
read only where they are needed: the refund instruction file (:mod:`.pain001`), which must
name the account the money goes back to.
"""

from __future__ import annotations

#: Characters of an account number a masked form keeps (the last ones).
ACCOUNT_VISIBLE = 4


def mask_name(name: str) -> str:
    """A payer's name as pages and receipts show it: each word's first letter then ``*``
    (``CHAN Tai Man`` → ``C*** T** M**``); Chinese names keep the first and last characters
    (``陳大文`` → ``陳*文``). Names already masked (by a bank) pass through; ``""`` stays ``""``."""
    name = (name or "").strip()
    if not name or "*" in name:
        return name
    if all("\u3400" <= c <= "\u9fff" for c in name):
        return name[0] + "*" * max(len(name) - 2, 1) + (name[-1] if len(name) > 2 else "")
    return " ".join(w[0] + "*" * (len(w) - 1) for w in name.replace(",", " ").split())


def mask_account(account: str) -> str:
    """An account number with all but its last :data:`ACCOUNT_VISIBLE` digits or letters
    hidden, separators kept out (``012-345678-901`` → ``****8901``); a number of that many
    characters or fewer is hidden whole (``****``); ``""`` stays ``""``."""
    chars = [c for c in (account or "") if c.isalnum()]
    if not chars:
        return ""
    shown = "".join(chars[-ACCOUNT_VISIBLE:]) if len(chars) > ACCOUNT_VISIBLE else ""
    return "****" + shown
