"""CorpID's services (issue 19), one module per concern, re-exported here so callers write
``services.authority(...)``: ``register`` (the Companies Registry stand-in), ``mandates``
(organisations, grants, answers, revocation, the audit trail), ``authority`` (the check the
next waves call), ``corporate_signing`` (signing for a company: ``open_request``)."""

from . import corporate_signing  # signing for a company: the seam e-services calls
from .authority import authority
from .mandates import (
    ask_holder,
    bootstrap,
    covers,
    current_status,
    events_of,
    grant,
    in_force,
    managed,
    mandates_held,
    mandates_of,
    offers_for,
    on_approval_decided,
    organisation,
    refresh_status,
    refusal,
    revoke,
    terms,
    terms_digest,
    today,
    years_later,
)
from .register import company, is_director, load_register, read_register

__all__ = [
    "ask_holder",
    "authority",
    "bootstrap",
    "company",
    "corporate_signing",
    "covers",
    "current_status",
    "events_of",
    "grant",
    "in_force",
    "is_director",
    "load_register",
    "managed",
    "mandates_held",
    "mandates_of",
    "offers_for",
    "on_approval_decided",
    "organisation",
    "read_register",
    "refresh_status",
    "refusal",
    "revoke",
    "terms",
    "terms_digest",
    "today",
    "years_later",
]
