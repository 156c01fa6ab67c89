"""CorpID's services (issue 19), one module per concern, re-exported here so callers write
``services.authority(...)``: ``register`` (the Companies Registry stand-in), ``mandates``
(organisations, grants, answers, revocation, the audit trail), ``authority`` (the check the
next waves call), ``credential`` (the mandate as an SD-JWT VC in the holder's app), ``consents``
(a company's consent to share its data: the exchange's organisation subjects, HKMA CDI),
``corporate_signing`` (signing for a company: ``open_request``)."""

from . import corporate_signing  # signing for a company: the seam e-services calls
from .authority import authority
from .consents import (
    authorise_subject,
    company_consent,
    company_consents,
    company_exchanges,
    register_subject_kind,
    revoke_company_consent,
)
from .login import login_authority
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
    on_approval_failed,
    organisation,
    refresh_status,
    refusal,
    revoke,
    sweep_suspensions,
    terms,
    terms_digest,
    today,
    years_later,
)
from .register import company, is_director, load_register, read_register

__all__ = [
    "ask_holder",
    "authorise_subject",
    "authority",
    "company_consent",
    "company_consents",
    "company_exchanges",
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
    "login_authority",
    "managed",
    "mandates_held",
    "mandates_of",
    "offers_for",
    "on_approval_decided",
    "on_approval_failed",
    "organisation",
    "read_register",
    "refresh_status",
    "refusal",
    "register_subject_kind",
    "revoke_company_consent",
    "revoke",
    "sweep_suspensions",
    "terms",
    "terms_digest",
    "today",
    "years_later",
]
