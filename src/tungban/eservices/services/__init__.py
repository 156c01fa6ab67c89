"""The e-services' rules, one module per concern, re-exported here so callers write
``from tungban.eservices import services`` and ``services.submit(...)``:

- :mod:`.forms`: the forms engine (JSON Schema 2020-12 + layout; bilingual field errors);
- :mod:`.calendar`: working days for pledges;
- :mod:`.attachments`: uploads (type from the bytes, limits, encrypted storage);
- :mod:`.company`: applying for a company (CorpID): the corporate login's company, the mandate check;
- :mod:`.prefill`: prefilled answers from e-ME claims and data products;
- :mod:`.catalogue`: the catalogue files and :func:`load_catalogue`;
- :mod:`.fees`: what a service costs (the payments app's fee schedule);
- :mod:`.lifecycle`: applications from start to licence, officers' actions;
- :mod:`.payment`: paying an application's fees (its payment orders; the purpose's ``on_paid``);
- :mod:`.signature`: the declaration signed with tungban+ (PAdES of the application PDF).
- :mod:`.workbench`: the officers' queues, search, pledge timers, bulk actions;
- :mod:`.reports`: department reports (tables, CSV, SVG charts);
- :mod:`.webhooks`: department systems and their signed webhooks.

``company``, ``payment`` and the last three are used as modules (``from tungban.eservices.services import workbench``).

A sub-module imports only sub-modules listed above it.
"""

from __future__ import annotations

from . import company, payment, signature
from .attachments import DEFAULT_ACCEPT, check_file, check_size, sniff, upload_limit
from .attachments import read as read_attachment
from .calendar import add_working_days, is_working_day
from .catalogue import DEFAULT_ROOT, load_catalogue, read_catalogue
from .forms import Definition, FieldError, check_definition, definition_digest, digest
from .lifecycle import (
    ACTION_LABELS,
    PREFILL_EDITED,
    PREFILL_VERIFIED,
    add_attachment,
    add_prefill,
    applications_of,
    approve,
    assign,
    departments_of,
    expire_drafts,
    get_application,
    get_service,
    history,
    issue_licence,
    issue_licence_task,
    licence_inputs,
    purge_expired,
    reason_text,
    record_payment,
    reject,
    request_information,
    require_officer,
    respond_to_information,
    save_draft,
    save_page,
    start_application,
    submit,
    withdraw,
)
from .prefill import PrefillValue, claims_of, from_claims, from_product, prefill_digest, products_of

__all__ = [
    "company",
    "payment",
    "signature",
    "ACTION_LABELS",
    "DEFAULT_ACCEPT",
    "DEFAULT_ROOT",
    "PREFILL_EDITED",
    "PREFILL_VERIFIED",
    "Definition",
    "FieldError",
    "PrefillValue",
    "add_attachment",
    "add_prefill",
    "add_working_days",
    "claims_of",
    "from_claims",
    "from_product",
    "products_of",
    "prefill_digest",
    "applications_of",
    "approve",
    "assign",
    "check_definition",
    "check_file",
    "check_size",
    "definition_digest",
    "departments_of",
    "digest",
    "expire_drafts",
    "get_application",
    "get_service",
    "history",
    "purge_expired",
    "is_working_day",
    "issue_licence",
    "issue_licence_task",
    "licence_inputs",
    "load_catalogue",
    "read_attachment",
    "read_catalogue",
    "reason_text",
    "record_payment",
    "reject",
    "request_information",
    "require_officer",
    "respond_to_information",
    "save_draft",
    "save_page",
    "sniff",
    "upload_limit",
    "start_application",
    "submit",
    "withdraw",
]
