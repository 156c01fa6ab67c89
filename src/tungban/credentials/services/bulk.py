"""Bulk issuance from a CSV file, as a resumable background job on ``django.tasks`` (run by
``tungban worker``; retry rule in :mod:`tungban.core.jobs`): reading the file, checking each
row (HKID, holder, claims), then issuing the valid rows in chunks of
``TUNGBAN_ISSUANCE_CHUNK``, each chunk one transaction with the next task (see
:func:`run_batch_step`). Signing and logging are :func:`.issuance._issue_many`'s.

The task is :func:`issue_batch_task`. Its module path, stored as ``task_path`` in queued task
rows and compared by :func:`_on_task_finished`, is
``tungban.credentials.services.bulk.issue_batch_task`` since ``credentials/services.py``
became a package; it was ``tungban.credentials.services.issue_batch_task`` before. Rows
queued under the old path still run: the package re-exports the task, so the old path
imports the same :class:`~django.tasks.Task`, whose ``module_path`` is the new one. Keep
that re-export while such rows may exist.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.dispatch import receiver
from django.tasks import TaskResultStatus, task
from django.tasks.signals import task_finished
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tungban.core import jobs
from tungban.core.errors import DomainError
from tungban.core.killpoints import killpoint
from tungban.identity import hkid as hkid_mod
from tungban.identity.models import Resident

from .. import errors as credential_errors
from ..models import Credential, CredentialType, IssuanceBatch, JobState
from .claims import claims_validator, input_claims, prepare_claims
from .issuance import _chunks, _issue_many, _Prepared

log = logging.getLogger(__name__)


@dataclass
class RowError:
    """One rejected CSV row: ``row`` is the line number in the file (header = 1)."""

    row: int
    code: str
    message: str
    field: str | None = None

    def as_dict(self) -> dict:
        return {"row": self.row, "error": self.code, "message": self.message, "field": self.field}


MAX_BULK_ROWS = 50_000


def read_csv(ctype: CredentialType, data: bytes | str) -> tuple[list[dict], list[RowError]]:
    """Parse a bulk-issuance CSV: UTF-8 (BOM allowed), a header row with ``hkid`` and the
    type's input claims (:func:`input_claims`; optional ones may be left out).

    :returns: ``(rows, errors)``; each row is ``{"row": line, "hkid": ..., "claims": {...}}``.
    :raises DomainError: ``csv_invalid`` for a file that cannot be read at all (not UTF-8,
        no header, missing required columns, unknown columns, more than ``MAX_BULK_ROWS`` rows).
    """
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise credential_errors.CsvInvalid() from None
    reader = csv.DictReader(io.StringIO(data))
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise credential_errors.CsvInvalid(
            _("The file cannot be read as CSV: %(problem)s") % {"problem": exc}
        ) from None
    if "hkid" not in header:
        raise credential_errors.CsvInvalid(_("The first row must name the columns, including “hkid”."))
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise credential_errors.CsvInvalid(_("The column “%(name)s” appears twice.") % {"name": repeated[0]})
    allowed = set(input_claims(ctype))
    unknown = [h for h in header if h not in allowed and h != "hkid"]
    if unknown:
        raise credential_errors.CsvInvalid(
            _("Unknown column “%(name)s”. Columns: %(columns)s")
            % {"name": unknown[0], "columns": ", ".join(["hkid", *input_claims(ctype)])}
        )
    required = set(ctype.schema.get("required", [])) & allowed
    missing = sorted(required - set(header))
    if missing:
        raise credential_errors.CsvInvalid(_("Missing column “%(name)s”.") % {"name": missing[0]})
    reader.fieldnames = header
    rows, errors = [], []
    records = iter(reader)
    while True:
        try:
            record = next(records)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. a cell beyond the csv module's field size limit
            raise credential_errors.CsvInvalid(
                _("Line %(line)d cannot be read: %(problem)s") % {"line": reader.line_num + 1, "problem": exc}
            ) from None
        line = reader.line_num
        if len(rows) + len(errors) >= MAX_BULK_ROWS:
            raise credential_errors.CsvInvalid(_("A file may hold at most %(n)d rows.") % {"n": MAX_BULK_ROWS})
        if None in record:
            errors.append(RowError(line, "row_malformed", gettext("The row has more cells than the header.")))
            continue
        if all(not (v or "").strip() for v in record.values()):
            continue
        rows.append(
            {
                "row": line,
                "hkid": (record.pop("hkid") or "").strip(),
                "claims": {k: (v or "") for k, v in record.items()},
            }
        )
    return rows, errors


def validate_rows(ctype: CredentialType, rows: list[dict]) -> tuple[list[_Prepared], list[RowError]]:
    """Check each parsed row (HKID, holder, claims); never writes."""
    canon = {}
    errors: list[RowError] = []
    for r in rows:
        try:
            canon[r["row"]] = hkid_mod.normalize(r["hkid"])
        except DomainError as exc:
            errors.append(RowError(r["row"], exc.code, str(exc.message), "hkid"))
    wanted = sorted(set(canon.values()))
    residents = {x.hkid: x for chunk in _chunks(wanted) for x in Resident.objects.by_hkids(chunk)}
    validator = claims_validator(ctype)
    seen: dict[str, int] = {}
    prepared = []
    for r in rows:
        if r["row"] not in canon:
            continue
        resident = residents.get(canon[r["row"]])
        if resident is None:
            errors.append(RowError(r["row"], "no_account", gettext("No account exists for this HKID number."), "hkid"))
            continue
        if canon[r["row"]] in seen:
            errors.append(
                RowError(
                    r["row"],
                    "duplicate_holder",
                    gettext("Same HKID number as row %(row)d.") % {"row": seen[canon[r["row"]]]},
                    "hkid",
                )
            )
            continue
        seen[canon[r["row"]]] = r["row"]
        try:
            prepared.append(
                _Prepared(resident, prepare_claims(ctype, resident, r["claims"], validator=validator), r["row"])
            )
        except DomainError as exc:
            errors.append(RowError(r["row"], exc.code, str(exc.message), exc.field))
    errors.sort(key=lambda e: e.row)
    return prepared, errors


def submit_bulk(
    ctype: CredentialType, data: bytes | str, *, issued_by: str, filename: str = "", issue_valid_rows: bool = False
) -> IssuanceBatch:
    """Accept a CSV for issuance (see :func:`read_csv`) and return at once: the rows are
    stored with the batch and a background task (``tungban worker``) checks and issues them.

    The job (``batch.state``): ``queued`` → ``running`` (rows checked, then issued in chunks of
    ``TUNGBAN_ISSUANCE_CHUNK``, each one transaction) → ``done``; ``rejected`` when some row
    is invalid and ``issue_valid_rows`` is false (nothing issued; ``batch.errors`` lists every
    row's error, as ``[{row, error, message, field}]``); ``failed`` after
    ``TUNGBAN_TASK_MAX_ATTEMPTS`` unexpected errors. With ``issue_valid_rows`` the valid rows
    are issued and ``errors`` records the skipped ones. Each chunk checks its rows again
    when it issues them: a row that became invalid since the file was checked (its holder
    suspended or unbound meanwhile) is skipped and recorded in ``errors`` even without
    ``issue_valid_rows``, while rows of earlier chunks stay issued (the job is not
    all-or-nothing once issuing has begun; revoke them if the whole file must go).

    :returns: the new :class:`IssuanceBatch` (state ``queued``).
    :raises DomainError: ``csv_invalid`` (the file itself cannot be used); ``bulk_empty``.
    """
    rows, errors = read_csv(ctype, data)
    total = len(rows) + len(errors)
    if total == 0:
        raise credential_errors.BulkEmpty()
    with transaction.atomic():
        batch = IssuanceBatch.objects.create(
            credential_type=ctype,
            issued_by=issued_by,
            filename=filename[:255],
            rows_total=total,
            rows_rejected=len(errors),
            errors=[e.as_dict() for e in errors],
            rows=rows,
            issue_valid_rows=issue_valid_rows,
            state=JobState.QUEUED,
        )
        batch.task_id = jobs.enqueue(issue_batch_task, str(batch.id))
        batch.save(update_fields=["task_id"])
    return batch


def issue_bulk(
    ctype: CredentialType, data: bytes | str, *, issued_by: str, filename: str = "", issue_valid_rows: bool = False
) -> IssuanceBatch:
    """:func:`submit_bulk`, then carry the job out in this process, with no worker (for
    command-line tools and benchmarks; web requests use :func:`submit_bulk`).

    :returns: the finished batch (``state`` ``done``, ``rejected`` or ``failed``).
    """
    from django_tasks_db.models import DBTaskResult

    batch = submit_bulk(ctype, data, issued_by=issued_by, filename=filename, issue_valid_rows=issue_valid_rows)
    ran = []
    while not batch.finished:
        ran.append(batch.task_id)
        run_batch_step(str(batch.id), batch.task_id)
        batch.refresh_from_db()
    DBTaskResult.objects.filter(id__in=ran).delete()  # done here: nothing left for a worker
    return batch


@task(takes_context=True)
def issue_batch_task(context, batch_id: str) -> str:
    """One step of a bulk issuance job (:func:`run_batch_step`), retried with backoff."""
    try:
        return run_batch_step(batch_id, context.task_result.id)
    except Exception as exc:
        _retry_or_fail(batch_id, context.task_result.id, exc)
        raise


def _retry_or_fail(batch_id: str, task_id: str, exc: Exception) -> None:
    """Count a failed attempt of the job: queue the next one after a backoff, or fail the job
    with a code the department may see (``worker_lost`` or ``internal_error``); the error
    itself, which may name database hosts, keys or paths, goes to the log only."""
    with transaction.atomic():
        batch = IssuanceBatch.objects.select_for_update().get(pk=batch_id)
        if batch.finished or batch.task_id != str(task_id):
            return
        batch.attempts += 1
        if jobs.can_retry(batch.attempts):
            batch.task_id = jobs.enqueue(issue_batch_task, batch_id, delay=jobs.retry_delay(batch.attempts))
        else:
            batch.state, batch.finished_at, batch.rows = JobState.FAILED, timezone.now(), []
            batch.failure = "worker_lost" if isinstance(exc, jobs.WorkerLost) else "internal_error"
            log.error("Bulk issuance %s failed after %d attempts: %r", batch_id, batch.attempts, exc)
        batch.save(update_fields=["attempts", "task_id", "state", "finished_at", "rows", "failure"])


@receiver(task_finished)
def _on_task_finished(sender, task_result, **kwargs):
    """A bulk-issuance task that failed outside its own handler (``tungban worker`` gave up on
    it after its workers died repeatedly) counts as a failed attempt of its job."""
    if task_result.status == TaskResultStatus.FAILED and task_result.task.module_path == issue_batch_task.module_path:
        _retry_or_fail(task_result.args[0], str(task_result.id), jobs.WorkerLost("the worker died"))


def _current(batch_id: str, task_id: str) -> IssuanceBatch | None:
    """The batch, locked, if ``task_id`` is still the task meant to carry it on."""
    batch = (
        IssuanceBatch.objects.select_for_update(of=("self",)).select_related("credential_type__issuer").get(pk=batch_id)
    )
    if batch.finished or batch.task_id != str(task_id):
        return None
    return batch


def run_batch_step(batch_id: str, task_id: str) -> str:
    """Carry a bulk issuance one step on: check every row (first step), then issue the next
    chunk of valid rows, then queue the next step. Each step commits in one transaction
    with the next task, so a worker killed at any point leaves the job resumable: the rerun
    of the interrupted task starts from the last committed chunk. A task that is no longer
    the job's current one (``task_id``) does nothing, and ``(batch, batch_row)`` is unique.

    :returns: what the step did (``checked``, ``issued``, ``done``, ``rejected``, ``skipped``).
    """
    batch = IssuanceBatch.objects.select_related("credential_type").get(pk=batch_id)
    if batch.finished or batch.task_id != str(task_id):
        return "skipped"
    IssuanceBatch.objects.filter(pk=batch.pk, state=JobState.QUEUED).update(state=JobState.RUNNING)
    if batch.valid_rows is None:
        return _check_batch(batch, task_id)
    with transaction.atomic():
        batch = _current(batch_id, task_id)
        if batch is None:
            return "skipped"
        return _issue_chunk(batch)


def _check_batch(batch: IssuanceBatch, task_id: str) -> str:
    """First step: every row's checks (no transaction held while checking)."""
    ctype = batch.credential_type
    prepared, row_errors = validate_rows(ctype, batch.rows)
    errors = sorted([RowError(**_row_error(e)) for e in batch.errors] + row_errors, key=lambda e: e.row)
    with transaction.atomic():
        batch = _current(str(batch.id), task_id)
        if batch is None:
            return "skipped"
        batch.errors = [e.as_dict() for e in errors]
        batch.rows_rejected = len(errors)
        batch.state = JobState.RUNNING
        if not prepared or (errors and not batch.issue_valid_rows):
            batch.state, batch.finished_at, batch.rows, batch.valid_rows = (
                JobState.REJECTED,
                timezone.now(),
                [],
                [],
            )
            batch.save()
            return "rejected"
        batch.valid_rows = [p.row for p in prepared]
        batch.task_id = jobs.enqueue(issue_batch_task, str(batch.id))
        batch.save()
    return "checked"


def _row_error(e: dict) -> dict:
    return {"row": e["row"], "code": e["error"], "message": e["message"], "field": e.get("field")}


def _issue_chunk(batch: IssuanceBatch) -> str:
    """Issue the next ``TUNGBAN_ISSUANCE_CHUNK`` valid rows (inside the caller's transaction:
    status-list positions, signatures, log leaves and credentials commit together, so a
    crash leaks no position and a rerun re-issues nothing)."""
    ctype = batch.credential_type
    wanted = batch.valid_rows[batch.cursor : batch.cursor + settings.TUNGBAN_ISSUANCE_CHUNK]
    by_row = {r["row"]: r for r in batch.rows}
    done = set(Credential.objects.filter(batch=batch, batch_row__in=wanted).values_list("batch_row", flat=True))
    rows = [by_row[n] for n in wanted if n not in done]
    # The file was checked as a whole (e.g. duplicate holders); check each row again now, as
    # an account may have changed since.
    prepared, late = validate_rows(ctype, rows)
    if prepared:
        credentials = _issue_many(ctype, prepared, issued_by=batch.issued_by, batch=batch)[0]
        batch.rows_issued += len(credentials)
        killpoint("credentials.bulk_chunk")  # credentials written, positions taken, nothing committed
    if late:
        batch.errors = sorted([*batch.errors, *(e.as_dict() for e in late)], key=lambda e: e["row"])
        batch.rows_rejected += len(late)
    batch.cursor += len(wanted)
    if batch.cursor >= len(batch.valid_rows):
        batch.state, batch.finished_at, batch.rows = JobState.DONE, timezone.now(), []
        batch.save()
        return "done"
    batch.task_id = jobs.enqueue(issue_batch_task, str(batch.id))
    batch.save()
    return "issued"
