"""Automatic reconciliation from the bank's ISO 20022 files (issue 18, "Reconciliation"):
statement imports as background jobs, the day's statement fetched from the bank, the officers'
resolutions of the exceptions queue, and the daily close report.

**Import** (:func:`submit_statement`, :func:`import_task`): a ``camt.053`` or ``camt.054``
file is stored (encrypted) with a :class:`~tungban.payments.models.StatementImport` in state
``queued`` and read by the worker: :func:`tungban.payments.camt.parse` checks it whole first —
a file that fails (``statement_unreadable``, ``statement_schema_invalid``,
``statement_wrong_account``) ends ``rejected`` with its problems and nothing of it is kept —
then every booked credit line is recorded in **one transaction for the whole file** through
:func:`~tungban.payments.services.credits.record_credit`, the same path as the bank's
notification: a line whose end-to-end id is already recorded (notified, or in an earlier file,
or twice in this one) adds nothing. The same bytes uploaded again give back the first import.

**Uploads are provisional** (review finding 2): an uploaded file is an unsigned file one
officer chose, so once read and checked it ends ``held`` — every line it would record
(credits, debits, reversals) matched and shown
(:attr:`~tungban.payments.models.StatementImport.held_lines`), nothing recorded, paid,
settled or taken back — until a second reconciler approves it (:func:`approve_import`, never
the uploader: ``statement_self_approval``; then it is imported as above), or until every line
of it has been recorded through a trusted channel with the same amount — the statement
fetched from the bank, another file a second reconciler approved, and for a ``camt.054`` the
bank's signed notification; a ``camt.053`` is confirmed only by statements (its credits
settled) and once the bank's statement of its day is read (:func:`confirm_held`, run after
every such import; the file then adds nothing itself). Any reconciler may turn a held file
down (:func:`turn_down_import`). A day with a held file does not close
(``day_statement_held``).

**Fetch** (:func:`fetch_statement`, :func:`fetch_task`): the worker asks the bank for a day's
``camt.053`` (``GET {TUNGBAN_PAYMENTS_BANK_URL}/statements/camt053?date=YYYY-MM-DD``, signed
as the bank's notifications are, :func:`~tungban.payments.services.credits.sign`, but with the
platform's own key, ``TUNGBAN_PAYMENTS_BANK_REQUEST_SECRET``); while the
bank does not answer the import stays ``fetching`` with its attempts and last error, retried
with ``core.jobs`` backoff, then ``failed`` (an officer fetches again). The worker's periodic
run (:func:`fetch_due_statements`) asks for yesterday's statement once it is past
``TUNGBAN_PAYMENTS_STATEMENT_FETCH_HOUR`` (Hong Kong time).

**Resolutions** (:func:`propose`, :func:`approve_resolution`, :func:`decline_resolution`;
review finding 9): matching an unapplied transfer to an order by its reference, marking a
transfer for refund, and writing it off move money or change an order, so one reconciler
proposes and a second (never the proposer: ``resolution_self_approval``) approves — the
refunds' maker–checker rule, on the exception's django-fsm states ``open → proposed →
resolved`` (``proposed → open`` when turned down). Accepting a late payment for the order it
was already applied to only records a decision: one reconciler does it. Each resolution is
recorded on the exception (who proposed, who approved, when, note) and, for an order, as a
:class:`~tungban.payments.models.PaymentEvent`. An approved refund opens a
:class:`~tungban.payments.models.Refund` through :func:`tungban.payments.refunds.request_refund`
(review finding 3): of the order the transfer was applied to, or, for a transfer applied to no
order, of the transfer itself (its debtor is the creditor).

**Daily close** (:func:`close_report`, :func:`close_day`): per department and fee item, the
orders paid on a business day, their amounts, refunds (:func:`register_refunds`) and the open
exceptions; closing records the report and freezes the day (:mod:`.matching`). Refunds count as refunded
once exported to the bank or completed; those asked for that day and not yet sent are
"refunds pending".
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import logging
import re
from collections import defaultdict
from collections.abc import Callable

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.tasks import task
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tungban.core import db, jobs
from tungban.core.errors import DomainError

from .. import camt, errors, refunds
from ..constants import PAID_STATES, ActorKind, CreditSource, MatchStatus
from ..models import (
    CreditTransfer,
    DailyClose,
    PaymentEvent,
    PaymentOrder,
    ReconciliationException,
    Refund,
    StatementDebit,
    StatementImport,
)
from ..models_recon import (
    ExceptionKind,
    ExceptionReason,
    ExceptionState,
    ImportSource,
    ImportState,
    Resolution,
    StatementKind,
    as_stored,
)
from ..models_refunds import RefundState
from ..reference import normalise
from . import debits, matching
from .credits import CreditIn, apply_credit, order_reference_in, record_credit, sign
from .orders import find_by_reference

log = logging.getLogger(__name__)

HONG_KONG = dt.timezone(dt.timedelta(hours=8))
_KIND_SNIFF = re.compile(rb"urn:iso:std:iso:20022:tech:xsd:camt\.(053|054)\.")
SOURCES = {StatementKind.CAMT053: CreditSource.CAMT053, StatementKind.CAMT054: CreditSource.CAMT054}


def today() -> dt.date:
    return timezone.now().astimezone(HONG_KONG).date()


# --- imports ------------------------------------------------------------------------------------
def submit_statement(data: bytes, *, filename: str = "", requested_by: str) -> tuple[StatementImport, bool]:
    """Accept a statement file for import and return at once (the worker reads it).

    :returns: ``(import, True)`` for a new import (state ``queued``); ``(earlier import,
        False)`` when the same bytes were submitted before and not refused (nothing is added).
    :raises DomainError: ``statement_unreadable`` (empty, or larger than
        ``TUNGBAN_PAYMENTS_STATEMENT_MAX_BYTES``; nothing stored).
    """
    if not data:
        raise errors.StatementUnreadable(_("The file is empty."))
    if len(data) > settings.TUNGBAN_PAYMENTS_STATEMENT_MAX_BYTES:
        raise errors.StatementUnreadable(
            _("The file is larger than %(size)d MB.")
            % {"size": settings.TUNGBAN_PAYMENTS_STATEMENT_MAX_BYTES // 1_000_000}
        )
    digest = hashlib.sha256(data).hexdigest()
    earlier = (
        StatementImport.objects.filter(sha256=digest).exclude(state=ImportState.REJECTED).order_by("created_at").first()
    )
    if earlier is not None:
        return earlier, False
    sniffed = _KIND_SNIFF.search(data[:4096])
    kind = {b"053": StatementKind.CAMT053, b"054": StatementKind.CAMT054}.get(sniffed.group(1)) if sniffed else ""
    with transaction.atomic():
        imp = StatementImport(
            kind=kind or "",
            source=ImportSource.UPLOAD,
            filename=filename[:255],
            sha256=digest,
            size=len(data),
            content=as_stored(data),
            requested_by=requested_by[:150],
        )
        imp.task_id = jobs.enqueue(import_task, str(imp.id))
        imp.save()
    return imp, True


def _refuse(imp: StatementImport, exc: DomainError) -> None:
    imp.state = ImportState.REJECTED
    imp.error_code = exc.code
    imp.error_message = str(exc.message)
    imp.error_details = exc.details or {}
    imp.content = ""  # a refused file is not kept
    imp.finished_at = timezone.now()
    imp.save()


def _dates(line: camt.Line, message: camt.Message) -> tuple[dt.date, dt.datetime, dt.date]:
    """``(value date, booked at, booking date)`` of a line; a line without a booking time is
    taken as booked at the start of its booking (else value) day, Hong Kong time."""
    day = line.value_date or line.booking_date or message.statement_date or today()
    booked = line.booked_at or dt.datetime.combine(line.booking_date or day, dt.time(0, 0), HONG_KONG)
    return day, booked, line.booking_date or booked.astimezone(HONG_KONG).date()


def _credit(line: camt.Line, message: camt.Message) -> CreditIn:
    """A credit line as :func:`record_credit` takes it."""
    day, booked, booking = _dates(line, message)
    return CreditIn(
        end_to_end_id=line.key,
        message_id=(line.message_id or message.message_id)[:64],
        amount_cents=line.amount_cents,
        value_date=day,
        booked_at=booked,
        reference=line.remittance[:140],
        debtor_name=line.debtor_name[:140],
        debtor_account=line.debtor_account[:34],
        currency=line.currency,
        account_servicer_ref=line.account_servicer_ref,
        booking_date=booking,
    )


def _debit(line: camt.Line, message: camt.Message) -> debits.DebitIn:
    """A debit line (or a reversal, ``RvslInd``) as :func:`debits.record_debit` takes it."""
    day, booked, booking = _dates(line, message)
    return debits.DebitIn(
        key=line.key,
        end_to_end_id=line.end_to_end_id,
        account_servicer_ref=line.account_servicer_ref,
        message_id=(line.message_id or message.message_id)[:64],
        amount_cents=line.amount_cents,
        currency=line.currency,
        value_date=day,
        booked_at=booked,
        booking_date=booking,
        reference=line.remittance[:140],
        reversal=line.reversal,
    )


def _to_record(line: camt.Line, seen: set[tuple[bool, bool, str]]) -> bool:
    """Whether :func:`apply_message` records ``line`` (noted in ``seen``): a booked line, once
    per direction, reversal flag and key; a reversed debit (money back in) is not recorded."""
    this = (line.credit, line.reversal, line.key)
    if line.status != "BOOK" or this in seen or (line.credit and line.reversal):
        return False
    seen.add(this)
    return True


def apply_message(message: camt.Message, imp: StatementImport) -> dict[str, int]:
    """Record every booked line of ``message`` (the caller holds the transaction): credits
    through :func:`record_credit`, debits and reversals through :func:`debits.record_debit`
    (a reversal is booked in the direction opposite to what it reverses: ``DBIT`` for a
    credit). A ``camt.053`` then raises ``not_on_statement`` for the notified transfers of its
    day it did not show (:func:`matching.check_statement`). Returns the import's counts."""
    counts = dict(lines_total=0, lines_new=0, lines_known=0, lines_skipped=0, matched=0)
    seen: set[tuple[bool, bool, str]] = set()
    new_ids = []  # the transfers whose unclaimed exceptions are this import's
    debit_ids = []  # the debits recorded by this import
    source = SOURCES[message.kind]
    for line in message.lines:
        counts["lines_total"] += 1
        if not _to_record(line, seen):
            counts["lines_skipped"] += 1  # a reversed debit (money back in) is for an officer to read
            continue
        if not line.credit:
            row, new = debits.record_debit(_debit(line, message), source=source, statement_import=imp)
            counts["lines_new" if new else "lines_known"] += 1
            if new:
                debit_ids.append(row.pk)
                if row.reversed_transfer_id is not None:
                    new_ids.append(row.reversed_transfer_id)
            continue
        row, new = record_credit(_credit(line, message), source=source)
        if not new:
            counts["lines_known"] += 1
            continue
        counts["lines_new"] += 1
        new_ids.append(row.pk)
        if row.match_status in (MatchStatus.MATCHED, MatchStatus.LATE):
            counts["matched"] += 1
    if message.kind == StatementKind.CAMT053:
        for report in message.reports:
            day = report.closing.date if report.closing is not None else report.to_date
            if day is not None:
                new_ids += [e.transfer_id for e in matching.check_statement(day)]
    counts["exceptions"] = _claim(imp, "transfer_id", new_ids) + _claim(imp, "debit_id", debit_ids)
    return counts


def _claim(imp: StatementImport, column: str, ids: list) -> int:
    """Mark the unclaimed exceptions whose ``column`` (``transfer_id`` or ``debit_id``) is in
    ``ids`` as raised by ``imp``; returns how many. By lists of 500 ids on the indexed foreign
    keys, whatever the planner's estimates: the one ``UPDATE`` this replaces (an ``OR`` across
    outer joins through the debits' ``reversed_transfer``) ran past ``statement_timeout``
    (30 s) in CI on the 10,000-line test file, and, planned as nested loops, takes 4.0 s there
    on an idle machine against 0.09 s for these lists."""
    claimed = 0
    for start in range(0, len(ids), 500):
        claimed += ReconciliationException.objects.filter(
            **{f"{column}__in": ids[start : start + 500]}, statement_import__isnull=True
        ).update(statement_import=imp)
    return claimed


def run_import(import_id, attempt: int = 1) -> StatementImport:
    """Read a queued import (see the module docstring); a stale or finished one does nothing.
    An unexpected failure leaves nothing of the file and is retried with ``core.jobs``
    backoff, then the import ends ``failed``."""
    with transaction.atomic():
        imp = StatementImport.objects.select_for_update().get(pk=import_id)
        if imp.state not in (ImportState.QUEUED, ImportState.RUNNING):
            return imp
        imp.state = ImportState.RUNNING
        imp.attempts += 1
        imp.save(update_fields=["state", "attempts"])
    data = imp.file_bytes()
    try:
        message = camt.parse(data)
        _check_account(message)
    except DomainError as exc:
        with transaction.atomic():
            imp = StatementImport.objects.select_for_update().get(pk=import_id)
            _refuse(imp, exc)
        return imp
    try:
        with transaction.atomic():
            imp = StatementImport.objects.select_for_update().get(pk=import_id)
            if imp.state != ImportState.RUNNING:
                return imp
            if imp.source == ImportSource.UPLOAD and not imp.approved_by:
                _hold(message, imp)
                return imp
            db.plan_each_statement()  # the file's rows grow its tables inside this transaction
            counts = apply_message(message, imp)
            for name, value in counts.items():
                setattr(imp, name, value)
            _describe(imp, message)
            imp.state = ImportState.DONE
            imp.last_error = ""
            imp.finished_at = timezone.now()
            imp.save()
            confirm_held(imp)
    except Exception as exc:  # the whole file rolled back: nothing of it is stored
        log.exception("statement import %s failed (attempt %s)", import_id, attempt)
        with transaction.atomic():
            imp = StatementImport.objects.select_for_update().get(pk=import_id)
            imp.last_error = f"{type(exc).__name__}: {exc}"[:300]
            if jobs.can_retry(attempt):
                wait = jobs.retry_delay(attempt)
                imp.state = ImportState.QUEUED
                imp.next_attempt_at = timezone.now() + wait
                imp.task_id = jobs.enqueue(import_task, str(imp.id), attempt + 1, delay=wait)
            else:
                imp.state, imp.content, imp.finished_at = ImportState.FAILED, "", timezone.now()
            imp.save()
    return imp


def _describe(imp: StatementImport, message: camt.Message) -> None:
    """What the file said of itself, on its import (not saved)."""
    imp.kind = message.kind
    imp.version = message.version
    imp.message_id = message.message_id[:64]
    imp.schema_checked = message.schema_checked
    imp.statement_date = imp.statement_date or message.statement_date


@task()
def import_task(import_id: str, attempt: int = 1) -> str:
    """Background task: :func:`run_import`."""
    return run_import(import_id, attempt).state


# --- uploads held until a second reconciler or the bank confirms them --------------------------
def _booked_lines(message: camt.Message) -> list[camt.Line]:
    """The lines :func:`apply_message` would record: credits, debits and reversals."""
    seen: set[tuple[bool, bool, str]] = set()
    return [line for line in message.lines if _to_record(line, seen)]


def direction(line: camt.Line) -> str:
    """``credit`` (money in), ``debit`` (money out: a refund paid, a charge) or ``reversal``
    (the bank took back the credit ``line.key`` names)."""
    return "reversal" if line.reversal else "credit" if line.credit else "debit"


def _held_line(line: camt.Line, orders: dict[str, PaymentOrder]) -> dict:
    """A held line as kept and shown: its direction, the key and amount, and the order it
    would pay (a credit) or take money from (a reversal of a recorded transfer, a refund
    paid) — no payer's name, no free text: the file itself is kept encrypted."""
    way = direction(line)
    order = None
    if way == "credit":
        order = orders.get(order_reference_in(line.remittance))
    elif way == "reversal":
        reversed_transfer = CreditTransfer.objects.filter(end_to_end_id=line.key).select_related("order").first()
        order = reversed_transfer.order if reversed_transfer else None
    else:
        refund = Refund.objects.filter(end_to_end_id=line.end_to_end_id or line.key).select_related("order").first()
        order = refund.order if refund else None
    return {
        "direction": way,
        "key": line.key,
        # a credit the bank reported with other figures under this key is recorded under this one
        "conflict_key": camt.fallback_key(line.account_servicer_ref)
        if way == "credit" and line.account_servicer_ref
        else "",
        "amount_cents": line.amount_cents,
        "currency": line.currency,
        "value_date": (line.value_date or line.booking_date or dt.date.min).isoformat(),
        "order": order.reference if order else "",
        "order_due_cents": order.amount_cents if order else None,
        "department": order.department if order else "",
    }


def _hold(message: camt.Message, imp: StatementImport) -> None:
    """An upload read and checked: keep every line it would record (credits, debits,
    reversals), matched, and record nothing (the caller holds the transaction and the
    import's row). Ends ``done`` at once when the bank's channels already recorded the same
    (:func:`confirm_held`)."""
    lines = _booked_lines(message)
    refs = {r for r in (order_reference_in(line.remittance) for line in lines if line.credit) if r}
    orders = {o.reference: o for o in PaymentOrder.objects.filter(reference__in=refs)} if refs else {}
    imp.held_lines = [_held_line(line, orders) for line in lines]
    imp.lines_total = len(message.lines)
    imp.lines_skipped = len(message.lines) - len(lines)
    imp.lines_new = imp.lines_known = imp.matched = imp.exceptions = 0
    _describe(imp, message)
    imp.state = ImportState.HELD
    imp.last_error = ""
    imp.save()
    _confirm_if_recorded(imp, by=None)


def _recorded(keys: list[str], rows, fields: tuple[str, ...]) -> dict[str, tuple]:
    """``{key: values}`` of the rows of ``rows`` (a queryset) whose ``key`` field is in
    ``keys`` (500 at a time)."""
    found = {}
    for start in range(0, len(keys), 500):
        for key, *values in rows.filter(**{f"{fields[0]}__in": keys[start : start + 500]}).values_list(*fields):
            found[key] = tuple(values)
    return found


def line_states(imp: StatementImport) -> list[dict]:
    """The held lines of ``imp`` with what is recorded of each now: ``"state"`` is ``held``
    (nothing recorded: the file would record it), ``confirmed`` (recorded with the same amount
    and currency by a trusted channel) or ``differs`` (recorded with another amount or
    currency: the file's line is not the bank's). Credits are credit transfers; debits and
    reversals, statement debits (a reversal's key is ``RVSL:`` + the transfer's). A
    ``camt.053`` credit line is confirmed only by a trusted *statement* (the transfer is
    settled): a notification is provisional (review finding 1), so it cannot stand in for the
    statement that settles it."""
    lines = imp.held_lines or []
    statement = imp.kind == StatementKind.CAMT053
    ways = [line.get("direction", "credit") for line in lines]  # files held before debits were
    credits = _recorded(
        [
            k
            for line, way in zip(lines, ways, strict=True)
            if way == "credit"
            for k in (line["key"], line.get("conflict_key"))
            if k
        ],
        CreditTransfer.objects.all(),
        ("end_to_end_id", "amount_cents", "currency", "settled_date"),
    )
    debit_keys = {
        i: (debits.REVERSAL_PREFIX if way == "reversal" else "") + line["key"]
        for i, (line, way) in enumerate(zip(lines, ways, strict=True))
        if way != "credit"
    }
    out_money = _recorded(list(debit_keys.values()), StatementDebit.objects.all(), ("key", "amount_cents", "currency"))
    out = []
    for i, (line, way) in enumerate(zip(lines, ways, strict=True)):
        if way == "credit":
            found = credits.get(line["key"])
            other = credits.get(line.get("conflict_key") or "")
            if found is not None and found[:2] != (line["amount_cents"], line["currency"]) and other is not None:
                found = other  # recorded as a conflicting duplicate of the known transfer: as the file says
            if found is not None and statement and found[2] is None:
                found = None  # recorded, not settled: the held statement is still the one to settle it
            found = found[:2] if found else None
        else:
            found = out_money.get(debit_keys[i])
        state = (
            "held" if found is None else "confirmed" if found == (line["amount_cents"], line["currency"]) else "differs"
        )
        out.append({**line, "direction": way, "state": state})
    return out


def _confirm_if_recorded(imp: StatementImport, *, by: StatementImport | None) -> bool:
    """Close the held ``imp`` (locked by the caller) as ``done`` when every held line is
    recorded as the file says (it adds nothing: the trusted channel did) — and, for a
    ``camt.053``, once a trusted statement of its day has been read: the statement also says
    what did *not* happen that day (``not_on_statement``), which only the bank's own statement
    (or an approved file) may say."""
    states = line_states(imp)
    if any(line["state"] != "confirmed" for line in states):
        return False
    if imp.kind == StatementKind.CAMT053 and imp.statement_date and not matching.statement_read(imp.statement_date):
        return False
    imp.state = ImportState.DONE
    imp.lines_known = len(states)
    imp.confirmed_by = by
    imp.content = ""  # an unsigned file whose every line the bank confirmed is not needed
    imp.finished_at = timezone.now()
    imp.save()
    return True


def confirm_held(by: StatementImport) -> int:
    """After ``by`` (a fetched statement or an approved upload) recorded its lines, close the
    held uploads it confirmed (:func:`_confirm_if_recorded`); returns how many (in the
    caller's transaction)."""
    done = 0
    held = StatementImport.objects.select_for_update().filter(state=ImportState.HELD).exclude(pk=by.pk)
    for imp in held.order_by("created_at"):
        done += _confirm_if_recorded(imp, by=by)
    return done


def held_for(day: dt.date) -> int:
    """How many uploads waiting for a second reconciler (``held``) are of ``day``: a statement
    of that date, or a file with a line of that value date."""
    waiting = 0
    for statement_date, lines in StatementImport.objects.filter(state=ImportState.HELD).values_list(
        "statement_date", "held_lines"
    ):
        waiting += statement_date == day or any(line.get("value_date") == day.isoformat() for line in lines or [])
    return waiting


def _held(import_id) -> StatementImport:
    try:
        imp = StatementImport.objects.select_for_update().get(pk=import_id)
    except (StatementImport.DoesNotExist, ValidationError, ValueError, TypeError):
        raise errors.StatementImportUnknown() from None
    if imp.state != ImportState.HELD:
        raise errors.StatementNotHeld(state=ImportState(imp.state).label)
    return imp


def approve_import(import_id, *, officer: str) -> StatementImport:
    """A second reconciler approves a held upload: it is queued to be imported (its lines
    recorded and applied, :func:`apply_message`); recorded on the import (``approved_by``,
    ``approved_at``) beside the uploader (``requested_by``).

    :raises DomainError: ``statement_import_unknown`` (404), ``statement_not_held`` (409: not
        waiting for approval), ``statement_self_approval`` (403: ``officer`` uploaded it).
    """
    with transaction.atomic():
        imp = _held(import_id)
        if officer == imp.requested_by:
            raise errors.StatementSelfApproval()
        imp.approved_by = officer[:150]
        imp.approved_at = timezone.now()
        imp.state = ImportState.QUEUED
        imp.task_id = jobs.enqueue(import_task, str(imp.id))
        imp.save()
    return imp


def turn_down_import(import_id, *, officer: str, reason: str) -> StatementImport:
    """Any reconciler (the uploader too: a withdrawal) turns a held upload down: it ends
    ``rejected`` with ``reason`` and the file is not kept; nothing of it was recorded.

    :raises DomainError: ``statement_import_unknown``, ``statement_not_held``, ``note_required``.
    """
    reason = (reason or "").strip()
    if not reason:
        raise errors.NoteRequired()
    with transaction.atomic():
        imp = _held(import_id)
        imp.state = ImportState.REJECTED
        imp.error_code = "statement_turned_down"
        imp.error_message = reason[:500]
        imp.approved_by = officer[:150]  # who decided (the state says how)
        imp.approved_at = timezone.now()
        imp.content = ""
        imp.finished_at = timezone.now()
        imp.save()
    return imp


def _check_account(message: camt.Message) -> None:
    expected = settings.TUNGBAN_PAYMENTS_COLLECTION_ACCOUNT
    if not expected:
        return
    for report in message.reports:
        if report.account != expected:
            raise errors.StatementWrongAccount(account=report.account or "?")


def get_import(import_id) -> StatementImport:
    """:raises DomainError: ``statement_import_unknown``."""
    try:
        return StatementImport.objects.get(pk=import_id)
    except (StatementImport.DoesNotExist, ValidationError, ValueError, TypeError):
        raise errors.StatementImportUnknown() from None


def recent_imports(limit: int = 50) -> list[StatementImport]:
    return list(StatementImport.objects.defer("content").order_by("-created_at")[:limit])


# --- fetching the day's statement from the bank -------------------------------------------------
def statement_path(day: dt.date) -> str:
    return f"/statements/camt053?date={day.isoformat()}"


def fetch_statement(day: dt.date, *, requested_by: str = "system") -> tuple[StatementImport, bool]:
    """Queue fetching ``day``'s ``camt.053`` from the bank (state ``fetching``). A fetch of
    that day already under way or done is returned instead (``False``)."""
    with transaction.atomic():
        earlier = (
            StatementImport.objects.select_for_update()
            .filter(source=ImportSource.FETCH, statement_date=day)
            .exclude(state__in=(ImportState.FAILED, ImportState.REJECTED))
            .defer("content")
            .first()
        )
        if earlier is not None:
            return earlier, False
        imp = StatementImport(
            kind=StatementKind.CAMT053,
            source=ImportSource.FETCH,
            state=ImportState.FETCHING,
            statement_date=day,
            requested_by=requested_by[:150],
        )
        imp.task_id = jobs.enqueue(fetch_task, str(imp.id))
        imp.save()
    return imp, True


def _download(day: dt.date) -> tuple[int | None, bytes, str]:
    path = statement_path(day)
    try:
        response = requests.get(
            settings.TUNGBAN_PAYMENTS_BANK_URL + path,
            headers={
                "Tungban-Signature": sign(f"GET {path}".encode(), secret=settings.TUNGBAN_PAYMENTS_BANK_REQUEST_SECRET)
            },
            timeout=(2, settings.TUNGBAN_PAYMENTS_STATEMENT_FETCH_TIMEOUT),
        )
    except requests.RequestException as exc:
        return None, b"", type(exc).__name__
    if response.status_code != 200:
        return response.status_code, b"", f"HTTP {response.status_code}"
    return 200, response.content, ""


def run_fetch(import_id, attempt: int = 1) -> StatementImport:
    """One attempt to download a ``fetching`` import's statement; on success the file is
    stored and its import task queued (one transaction), else the next attempt is queued
    after ``jobs.retry_delay(attempt)`` while ``jobs.can_retry(attempt)``, then ``failed``."""
    with transaction.atomic():
        imp = StatementImport.objects.select_for_update().get(pk=import_id)
        if imp.state != ImportState.FETCHING or imp.fetch_attempts >= attempt:
            return imp
        imp.fetch_attempts = attempt
        imp.save(update_fields=["fetch_attempts"])
    status, data, error = _download(imp.statement_date)
    with transaction.atomic():
        imp = StatementImport.objects.select_for_update().get(pk=import_id)
        if status == 200 and data:
            imp.content = as_stored(data)
            imp.sha256 = hashlib.sha256(data).hexdigest()
            imp.size = len(data)
            imp.filename = f"camt053-{imp.statement_date.isoformat()}.xml"
            imp.state, imp.last_error, imp.next_attempt_at = ImportState.QUEUED, "", None
            imp.task_id = jobs.enqueue(import_task, str(imp.id))
        elif jobs.can_retry(attempt):
            wait = jobs.retry_delay(attempt)
            imp.last_error = error or _("The bank sent an empty file.")
            imp.next_attempt_at = timezone.now() + wait
            imp.task_id = jobs.enqueue(fetch_task, str(imp.id), attempt + 1, delay=wait)
        else:
            imp.state, imp.last_error = ImportState.FAILED, error or _("The bank sent an empty file.")
            imp.next_attempt_at, imp.finished_at = None, timezone.now()
        imp.save()
    return imp


@task()
def fetch_task(import_id: str, attempt: int = 1) -> str:
    """Background task: :func:`run_fetch`."""
    return run_fetch(import_id, attempt).state


def fetch_due_statements(now: dt.datetime) -> dict[str, int]:
    """The worker's periodic run (``core.retention``): once it is past
    ``TUNGBAN_PAYMENTS_STATEMENT_FETCH_HOUR`` in Hong Kong, fetch yesterday's statement unless
    a fetch of it exists (a failed fetch is left to an officer)."""
    if not settings.TUNGBAN_PAYMENTS_STATEMENT_FETCH_AUTO:
        return {}
    local = now.astimezone(HONG_KONG)
    if local.hour < settings.TUNGBAN_PAYMENTS_STATEMENT_FETCH_HOUR:
        return {}
    day = local.date() - dt.timedelta(days=1)
    if StatementImport.objects.filter(source=ImportSource.FETCH, statement_date=day).exists():
        return {}
    _imp, made = fetch_statement(day)
    return {"payments.StatementImport (fetch queued)": int(made)}


# --- the exceptions queue ----------------------------------------------------------------------
#: Exceptions not yet resolved (the queue's "open" shows a proposal waiting too).
UNRESOLVED = (ExceptionState.OPEN, ExceptionState.PROPOSED)


def exceptions_queue(
    *, state: str = ExceptionState.OPEN, kind: str = "", day: dt.date | None = None, limit: int = 200
) -> list[ReconciliationException]:
    """Exceptions by ``state`` (``open``: not yet resolved, proposals waiting included)."""
    qs = ReconciliationException.objects.select_related("transfer", "debit", "order", "resolved_order")
    if state == ExceptionState.OPEN:
        qs = qs.filter(state__in=UNRESOLVED)
    elif state:
        qs = qs.filter(state=state)
    if kind:
        qs = qs.filter(kind=kind)
    if day:
        qs = qs.filter(business_date=day)
    return list(qs.order_by("-business_date", "created_at")[:limit])


def queue_counts() -> dict[str, int]:
    """Unresolved exceptions per kind (every kind, zero included)."""
    counts = dict.fromkeys(ExceptionKind.values, 0)
    for kind in ReconciliationException.objects.filter(state__in=UNRESOLVED).values_list("kind", flat=True):
        counts[kind] += 1
    return counts


def get_exception(exception_id, *, lock: bool = False) -> ReconciliationException:
    """:raises DomainError: ``exception_unknown``."""
    qs = ReconciliationException.objects.select_related("transfer", "order", "resolved_order")
    if lock:
        qs = qs.select_for_update(of=("self",))
    try:
        return qs.get(pk=exception_id)
    except (ReconciliationException.DoesNotExist, ValidationError, ValueError, TypeError):
        raise errors.ExceptionUnknown() from None


#: What an officer may do with each kind of exception (the transfer's money is either applied
#: to an order already — late, duplicate, wrong amount — or not: unmatched).
ALLOWED = {
    ExceptionKind.UNMATCHED: (Resolution.MATCHED, Resolution.REFUND, Resolution.WRITTEN_OFF),
    ExceptionKind.DUPLICATE: (Resolution.REFUND, Resolution.WRITTEN_OFF),
    ExceptionKind.WRONG_AMOUNT: (Resolution.REFUND, Resolution.WRITTEN_OFF),
    ExceptionKind.LATE: (Resolution.MATCHED, Resolution.REFUND, Resolution.WRITTEN_OFF),
    # A notified transfer the statement did not show: a later statement resolves it by itself
    # (``on_statement``); an officer who has checked with the bank writes it off, with the reason.
    ExceptionKind.NOT_ON_STATEMENT: (Resolution.WRITTEN_OFF,),
    # The conflicting report is applied to nothing: it can be matched, refunded or written off.
    ExceptionKind.CONFLICTING_DUPLICATE: (Resolution.MATCHED, Resolution.REFUND, Resolution.WRITTEN_OFF),
    # The money is gone (a reversal, a debit nobody instructed): an officer records what was done.
    ExceptionKind.REVERSED: (Resolution.WRITTEN_OFF,),
    ExceptionKind.UNKNOWN_DEBIT: (Resolution.WRITTEN_OFF,),
}


def refundable_cents(exc: ReconciliationException) -> int:
    """What a refund of ``exc`` returns at most: the excess of an overpaid order, else the
    whole transfer."""
    transfer, order = exc.transfer, exc.order
    if (
        exc.kind == ExceptionKind.WRONG_AMOUNT
        and order is not None
        and order.amount_received_cents > order.amount_cents
    ):
        return min(transfer.amount_cents, order.amount_received_cents - order.amount_cents)
    return transfer.amount_cents


#: Every resolution but this one moves money or changes an order: a second reconciler approves
#: it. Accepting a late payment for the order it was already applied to changes nothing.
def needs_second_reconciler(exc: ReconciliationException, resolution: str) -> bool:
    return not (resolution == Resolution.MATCHED and exc.kind == ExceptionKind.LATE)


def _check(
    exc: ReconciliationException, transfer: CreditTransfer, resolution: str, note: str, reference: str, refund_cents
) -> tuple[PaymentOrder | None, int | None]:
    """The refusals of a resolution (nothing written): the order a match names and the
    refund's amount."""
    if resolution not in ALLOWED[exc.kind]:
        raise errors.ResolutionNotAllowed(
            resolution=Resolution(resolution).label if resolution in Resolution.values else resolution,
            kind=ExceptionKind(exc.kind).label,
        )
    if resolution == Resolution.MATCHED:
        return _match_target(exc, transfer, reference), None
    if resolution == Resolution.REFUND:
        most = refundable_cents(exc)
        amount = most if refund_cents is None else refund_cents
        if amount <= 0 or amount > most:
            raise errors.RefundInvalid(most=f"{most // 100}.{most % 100:02d}")
        return None, amount
    if not note:
        raise errors.NoteRequired()
    return None, None


def propose(
    exception_id,
    resolution: str,
    *,
    officer: str,
    note: str = "",
    reference: str = "",
    refund_cents: int | None = None,
) -> ReconciliationException:
    """A reconciler proposes a resolution of an open exception (one transaction):

    - ``matched``: an unmatched transfer to the order ``reference`` names (applied, on
      approval, as the bank's notification would be: paid, partially or overpaid; a new
      exception if the amount differs); a late one accepted for its order (``reference`` may
      be empty) — that one is done at once, by this reconciler alone (it changes nothing);
    - ``refund``: a refund of ``refund_cents`` (default and most :func:`refundable_cents`);
    - ``written_off``: closed with the officer's ``note`` (required).

    Every other resolution waits, ``proposed``, for :func:`approve_resolution` by another
    reconciler.

    :raises DomainError: ``exception_unknown``, ``exception_resolved`` (resolved or already
        proposed), ``resolution_not_allowed``, ``note_required``, ``order_unknown``,
        ``refund_invalid``.
    """
    note = (note or "").strip()
    with transaction.atomic():
        exc = get_exception(exception_id, lock=True)
        if exc.state != ExceptionState.OPEN:
            raise errors.ExceptionResolved()
        transfer = _locked_transfer(exc)
        order, amount = _check(exc, transfer, resolution, note, reference, refund_cents)
        if not needs_second_reconciler(exc, resolution):
            return _carry_out(exc, transfer, resolution, officer=officer, note=note)
        exc.propose()
        exc.resolution = resolution
        exc.resolved_order = order
        exc.refund_cents = amount
        exc.note = note[:500]
        exc.proposed_by = officer[:150]
        exc.proposed_at = timezone.now()
        exc.save()
    return exc


def approve_resolution(exception_id, *, officer: str) -> ReconciliationException:
    """A second reconciler approves the proposed resolution: it is carried out (checked again
    against the order and transfer as they are now) and recorded with both people; a refund
    opens a :class:`Refund` (:func:`tungban.payments.refunds.request_refund`, requested by
    ``reconciliation:<proposer>+<approver>``; the refunds workflow approves and sends it).

    :raises DomainError: ``exception_unknown``, ``resolution_not_proposed`` (409),
        ``resolution_self_approval`` (403: ``officer`` proposed it), and the refusals of
        :func:`propose` and of ``request_refund`` (e.g. ``refund_too_large``) when the order or
        transfer changed since — nothing is changed then.
    """
    with transaction.atomic():
        exc = get_exception(exception_id, lock=True)
        if exc.state != ExceptionState.PROPOSED:
            raise errors.ResolutionNotProposed(state=ExceptionState(exc.state).label)
        if officer == exc.proposed_by:
            raise errors.ResolutionSelfApproval()
        transfer = _locked_transfer(exc)
        reference = exc.resolved_order.reference if exc.resolved_order_id else ""
        _check(exc, transfer, exc.resolution, exc.note, reference, exc.refund_cents)
        return _carry_out(
            exc,
            transfer,
            exc.resolution,
            officer=officer,
            note=exc.note,
            reference=reference,
            refund_cents=exc.refund_cents,
        )


def decline_resolution(exception_id, *, officer: str, reason: str) -> ReconciliationException:
    """Any reconciler (the proposer too: a withdrawal) turns a proposed resolution down: the
    exception is ``open`` again, the refusal kept (``declined_by``, ``declined_at``,
    ``declined_reason``).

    :raises DomainError: ``exception_unknown``, ``resolution_not_proposed``, ``note_required``.
    """
    reason = (reason or "").strip()
    if not reason:
        raise errors.NoteRequired()
    with transaction.atomic():
        exc = get_exception(exception_id, lock=True)
        if exc.state != ExceptionState.PROPOSED:
            raise errors.ResolutionNotProposed(state=ExceptionState(exc.state).label)
        exc.decline()
        exc.declined_by, exc.declined_at, exc.declined_reason = officer[:150], timezone.now(), reason[:500]
        exc.resolution, exc.resolved_order, exc.refund_cents, exc.note = "", None, None, ""
        exc.proposed_by, exc.proposed_at = "", None
        exc.save()
    return exc


def _refund_reasons(exc: ReconciliationException) -> tuple[str, str]:
    """The refund's reason in English and Chinese (the payer reads it): why reconciliation
    gives the money back."""
    texts = []
    for language in ("en", "zh-hant"):
        with translation.override(language):
            texts.append(
                _("Money returned by the payments reconciliation: %(reason)s.")
                % {"reason": ExceptionReason(exc.reason).label}
            )
    return texts[0], texts[1]


def _carry_out(
    exc: ReconciliationException,
    transfer: CreditTransfer,
    resolution: str,
    *,
    officer: str,
    note: str,
    reference: str = "",
    refund_cents: int | None = None,
) -> ReconciliationException:
    """Do the (checked) resolution in the caller's transaction; ``officer`` approved it (or
    made it alone, :func:`needs_second_reconciler`)."""
    if resolution == Resolution.MATCHED:
        exc.resolved_order = _match(exc, transfer, reference, officer)
    elif resolution == Resolution.REFUND:
        applied = transfer.order_id and transfer.match_status not in (MatchStatus.UNMATCHED, MatchStatus.ORDER_CLOSED)
        reason_en, reason_zh = _refund_reasons(exc)
        exc.refund = refunds.request_refund(
            transfer.order if applied else None,
            None,
            amount_cents=refund_cents,
            amount_available=None,
            reason_en=reason_en,
            reason_zh=reason_zh,
            system=f"reconciliation:{exc.proposed_by}+{officer}"[:150],
            transfer=transfer,
        )
        exc.refund_cents = refund_cents
    exc.resolve()
    exc.resolution = resolution
    exc.note = note[:500]
    exc.resolved_by = officer[:150]
    exc.resolved_at = timezone.now()
    exc.save()
    order = exc.resolved_order or (transfer.order if transfer else None)
    if order is not None:
        proposer = f" proposed by {exc.proposed_by}" if exc.proposed_by else ""
        PaymentEvent.objects.create(
            order=order,
            from_state=order.state,
            to_state=order.state,
            actor_kind=ActorKind.OFFICER,
            actor_id=officer[:150],
            reason=f"exception:{exc.kind}:{resolution} {_money_line(exc, transfer)}{proposer}"[:300],
        )
    return exc


def _locked_transfer(exc: ReconciliationException) -> CreditTransfer | None:
    """The exception's credit transfer, locked; ``None`` for a statement debit's exception."""
    return CreditTransfer.objects.select_for_update().get(pk=exc.transfer_id) if exc.transfer_id else None


def _money_line(exc: ReconciliationException, transfer: CreditTransfer | None) -> str:
    """What an order's event names: the credit transfer, or the statement debit."""
    return f"credit:{transfer.end_to_end_id}" if transfer else f"debit:{exc.debit.key if exc.debit_id else ''}"


def _match_target(exc: ReconciliationException, transfer: CreditTransfer, reference: str) -> PaymentOrder:
    """The order a match applies ``transfer`` to (refusals only: nothing written)."""
    refused = errors.ResolutionNotAllowed(
        resolution=Resolution(Resolution.MATCHED).label, kind=ExceptionKind(exc.kind).label
    )
    if exc.kind == ExceptionKind.LATE:
        order = transfer.order
        if reference and (order is None or normalise(reference) != order.reference):
            raise refused
        if order is None:  # pragma: no cover - a late transfer was applied to its order
            raise errors.OrderUnknown()
        return order
    if transfer is None or transfer.match_status not in (
        MatchStatus.UNMATCHED,
        MatchStatus.ORDER_CLOSED,
        MatchStatus.CONFLICT,
    ):
        raise refused
    order = find_by_reference(reference) if reference else None
    if order is None:
        raise errors.OrderUnknown()
    if order.currency != transfer.currency:
        raise refused
    return order


def _match(exc: ReconciliationException, transfer: CreditTransfer, reference: str, officer: str) -> PaymentOrder:
    order = _match_target(exc, transfer, reference)
    if exc.kind == ExceptionKind.LATE:
        return order
    order = find_by_reference(order.reference, lock=True)
    apply_credit(order, transfer, actor_kind=ActorKind.OFFICER, actor_id=officer)
    matching.raise_for(transfer)
    return order


# --- the daily close ------------------------------------------------------------------------------
_refund_sources: list[Callable[[dt.date], dict[tuple[str, str], int]]] = []


def register_refunds(source: Callable[[dt.date], dict[tuple[str, str], int]]) -> None:
    """Add a source to the report's refunds column (the refunds workflow's exported refunds are
    always counted, :func:`_refunds_exported`): ``source(day)`` returns HK$
    cents refunded on ``day`` per ``(department, fee item code)`` (``""`` for refunds not of a
    fee item, e.g. an unmatched transfer's)."""
    if source not in _refund_sources:
        _refund_sources.append(source)


def _refunds_exported(day: dt.date) -> dict[tuple[str, str], int]:
    """Refunds sent to the bank in the department's instruction file of ``day`` (the refunds
    workflow's ``RefundBatch.business_date``), per department and fee item: a refund is
    spread over its order's fee lines in order, each up to its amount."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    sent = Refund.objects.filter(
        batch__business_date=day, state__in=(RefundState.EXPORTED, RefundState.COMPLETED)
    ).select_related("order")
    for refund in sent:
        dept = refunds.department_of(refund)
        left, lines = refund.amount_cents, (refund.order.lines if refund.order_id else None) or [{}]
        for line in lines:
            take = min(left, int(line.get("total_cents", 0)))
            if take:
                out[(dept, line.get("code", ""))] += take
                left -= take
        if left:
            out[(dept, lines[-1].get("code", ""))] += left
    return out


#: Refunds asked for and not yet sent to the bank.
PENDING_REFUND_STATES = (RefundState.REQUESTED, RefundState.APPROVED)


def _refunds_pending(day: dt.date) -> dict[str, int]:
    """HK$ cents of the refunds asked for on ``day`` (Hong Kong time) that are not yet sent
    to the bank, per department (``""``: refunds of transfers applied to no order) — "refunds
    pending", never counted as refunded."""
    start = dt.datetime.combine(day, dt.time.min, HONG_KONG)
    out: dict[str, int] = defaultdict(int)
    pending = Refund.objects.filter(
        state__in=PENDING_REFUND_STATES, requested_at__gte=start, requested_at__lt=start + dt.timedelta(days=1)
    ).select_related("order")
    for refund in pending:
        out[refunds.department_of(refund)] += refund.amount_cents
    return out


def _refunds(day: dt.date) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = defaultdict(int, _refunds_exported(day))
    for source in _refund_sources:
        for key, cents in source(day).items():
            out[key] += cents
    return out


def close_report(day: dt.date) -> dict:
    """The daily close report of ``day`` (what :func:`close_day` records; a closed day's report
    is the one recorded then).

    :returns: ``{"date", "closed", "closed_by", "closed_at", "rows": [{"department",
        "fee_item", "label_en", "label_zh", "orders_paid", "amount_cents", "refunds_cents"}],
        "departments": [{"department", "received_cents", "transfers", "orders_paid",
        "refunds_cents", "refunds_pending_cents", "reversals", "reversals_cents", "exceptions_open"}],
        "totals": {...}}``. ``refunds_cents``: refunds exported or completed;
    ``refunds_pending_cents``: asked for that day, not yet sent; ``reversals`` / ``reversals_cents``:
    credits of the day the bank reversed (:func:`debits.reversals_on`); ``exceptions_open``: not
    yet resolved (a proposal waiting included). An order counts on the day
    of the transfer that completed it (the one that brought its received amount to the amount
    due); ``received_cents`` counts every transfer of the day applied to the department's
    orders; transfers applied to no order are department ``""``.
    """
    closed = DailyClose.objects.filter(business_date=day).first()
    if closed is not None:
        return {
            "date": day.isoformat(),
            "closed": True,
            "closed_by": closed.closed_by,
            "closed_at": closed.closed_at.isoformat(),
            **closed.report,
        }
    return {"date": day.isoformat(), "closed": False, "closed_by": "", "closed_at": "", **_compute(day)}


def _completion_days(orders: dict) -> dict:
    """For each order (by pk), the business day of the transfer that brought its received
    amount up to the amount due (None if none did)."""
    days: dict = {}
    received: dict = defaultdict(int)
    applied = (
        CreditTransfer.objects.filter(order_id__in=list(orders))
        .exclude(match_status__in=(MatchStatus.UNMATCHED, MatchStatus.ORDER_CLOSED))
        .order_by("received_at", "pk")
        .values_list("order_id", "amount_cents", "business_date", "value_date")
    )
    for order_id, cents, business, value in applied.iterator(chunk_size=2000):
        before = received[order_id]
        received[order_id] += cents
        if order_id not in days and before < orders[order_id].amount_cents <= received[order_id]:
            days[order_id] = business or value
    return days


def _compute(day: dt.date) -> dict:
    credits = list(CreditTransfer.objects.filter(business_date=day).select_related("order"))
    departments: dict[str, dict] = defaultdict(
        lambda: {
            "received_cents": 0,
            "transfers": 0,
            "orders_paid": 0,
            "refunds_cents": 0,
            "refunds_pending_cents": 0,
            "reversals": 0,
            "reversals_cents": 0,
            "exceptions_open": 0,
        }
    )
    rows: dict[tuple[str, str], dict] = {}
    done_orders = set()
    paid_orders = {c.order_id: c.order for c in credits if c.order is not None and c.order.state in PAID_STATES}
    completed = {pk for pk, on in _completion_days(paid_orders).items() if on == day} if paid_orders else set()
    for credit in credits:
        order = credit.order
        applied = order is not None and credit.match_status not in (MatchStatus.UNMATCHED, MatchStatus.ORDER_CLOSED)
        dept = order.department if applied else ""
        departments[dept]["received_cents"] += credit.amount_cents
        departments[dept]["transfers"] += 1
        if not applied or order.pk in done_orders or order.state not in PAID_STATES:
            continue
        if order.pk not in completed:
            continue
        done_orders.add(order.pk)
        departments[dept]["orders_paid"] += 1
        for line in order.lines:
            key = (dept, line.get("code", ""))
            row = rows.setdefault(
                key,
                {
                    "department": dept,
                    "fee_item": key[1],
                    "label_en": line.get("label_en", ""),
                    "label_zh": line.get("label_zh", ""),
                    "orders_paid": 0,
                    "amount_cents": 0,
                    "refunds_cents": 0,
                },
            )
            row["orders_paid"] += 1
            row["amount_cents"] += int(line.get("total_cents", 0))
    for (dept, code), cents in _refunds(day).items():
        departments[dept]["refunds_cents"] += cents
        if code:
            rows.setdefault(
                (dept, code),
                {
                    "department": dept,
                    "fee_item": code,
                    "label_en": "",
                    "label_zh": "",
                    "orders_paid": 0,
                    "amount_cents": 0,
                    "refunds_cents": 0,
                },
            )["refunds_cents"] += cents
    for dept, cents in _refunds_pending(day).items():
        departments[dept]["refunds_pending_cents"] += cents
    for dept, (count, cents) in debits.reversals_on(day).items():  # pay-left: credits the bank took back
        departments[dept]["reversals"] += count
        departments[dept]["reversals_cents"] += cents
    for dept in ReconciliationException.objects.filter(state__in=UNRESOLVED, business_date=day).values_list(
        "department", flat=True
    ):
        departments[dept]["exceptions_open"] += 1
    dept_rows = [{"department": d, **v} for d, v in sorted(departments.items())]
    totals = {
        k: sum(d[k] for d in dept_rows)
        for k in (
            "received_cents",
            "transfers",
            "orders_paid",
            "refunds_cents",
            "refunds_pending_cents",
            "reversals",
            "reversals_cents",
            "exceptions_open",
        )
    }
    totals["amount_cents"] = sum(r["amount_cents"] for r in rows.values())
    return {"rows": [rows[k] for k in sorted(rows)], "departments": dept_rows, "totals": totals}


def unsettled(day: dt.date) -> int:
    """How many transfers counting on ``day`` stop it from closing: reported by a notification
    or a ``camt.054``, shown by no ``camt.053`` yet, not reversed, and without a
    ``not_on_statement`` exception an officer has resolved (review finding 1: a notification
    is not final)."""
    accounted = ReconciliationException.objects.filter(
        kind=ExceptionKind.NOT_ON_STATEMENT, state=ExceptionState.RESOLVED
    ).values("transfer_id")
    return matching.provisional(business_date=day).exclude(pk__in=accounted).count()


def close_day(day: dt.date, *, officer: str) -> DailyClose:
    """Close ``day``: its report is recorded as it is now, and nothing recorded afterwards
    counts on it (later transfers with that value date count on the next open day and are
    raised as ``late`` / ``after_close``). The day is locked while it closes
    (:func:`matching.lock_day`): a transfer being recorded on it is waited for, one recorded
    meanwhile waits and counts on the next open day (review finding 13).

    :raises DomainError: ``day_not_over`` (today or later, Hong Kong time), ``day_closed``,
        ``day_not_settled`` (:func:`unsettled`: transfers the statement has not shown yet),
        ``day_statement_held`` (:func:`held_for`: an uploaded file of the day waits for a
        second reconciler — its lines would count on the next open day).
    """
    if day >= today():
        raise errors.DayNotOver(date=day.isoformat())
    with transaction.atomic():
        matching.lock_day(day, shared=False)
        # One closer at a time: the unique business_date makes a concurrent second close fail.
        if DailyClose.objects.filter(business_date=day).exists():
            raise errors.DayClosed(date=day.isoformat())
        if waiting := unsettled(day):
            raise errors.DayNotSettled(date=day.isoformat(), count=waiting, details={"count": waiting})
        if held := held_for(day):
            raise errors.DayStatementHeld(date=day.isoformat(), count=held, details={"count": held})
        report = _compute(day)
        close = DailyClose.objects.create(
            business_date=day, closed_by=officer[:150], report=report, totals=report["totals"]
        )
    return close


def closes(limit: int = 30) -> list[DailyClose]:
    return list(DailyClose.objects.order_by("-business_date")[:limit])


CSV_HEADER = (
    "business_date",
    "department",
    "fee_item",
    "label_en",
    "label_zh",
    "orders_paid",
    "amount_hkd",
    "refunds_hkd",
    "received_hkd",
    "exceptions_open",
    "refunds_pending_hkd",
    "reversals",
    "reversals_hkd",
)


def _hkd(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def close_csv(day: dt.date) -> str:
    """The report as CSV (UTF-8): one row per department and fee item, then one per
    department with ``fee_item`` empty (its totals: received, refunds, exceptions open,
    refunds pending, reversals and their amount; a day closed before reversals were counted
    shows 0)."""
    report = close_report(day)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_HEADER, restval="")  # a column a row lacks is blank
    writer.writeheader()
    for r in report["rows"]:
        writer.writerow(
            {
                "business_date": report["date"],
                "department": r["department"],
                "fee_item": r["fee_item"],
                "label_en": r["label_en"],
                "label_zh": r["label_zh"],
                "orders_paid": r["orders_paid"],
                "amount_hkd": _hkd(r["amount_cents"]),
                "refunds_hkd": _hkd(r["refunds_cents"]),
            }
        )
    for d in report["departments"]:
        writer.writerow(
            {
                "business_date": report["date"],
                "department": d["department"],
                "orders_paid": d["orders_paid"],
                "refunds_hkd": _hkd(d["refunds_cents"]),
                "received_hkd": _hkd(d["received_cents"]),
                "exceptions_open": d["exceptions_open"],
                "refunds_pending_hkd": _hkd(d.get("refunds_pending_cents", 0)),
                "reversals": d.get("reversals", 0),
                "reversals_hkd": _hkd(d.get("reversals_cents", 0)),
            }
        )
    return out.getvalue()
