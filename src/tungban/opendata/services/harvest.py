"""Harvest sources (issue 21): a resource whose file a provider publishes at its own URL,
polled on a schedule by the worker; a new version is stored when the content changes.

Scheduling: :func:`poll_due` is registered with :mod:`tungban.core.retention` (the worker's
periodic sweep, every ``TUNGBAN_PURGE_INTERVAL`` seconds): it claims each due source (an
``UPDATE`` conditional on the ``next_run_at`` it read, so two workers never both claim one)
and queues :func:`harvest_task` for it (``django.tasks``, database backend, in the same
transaction). One run (:func:`run`):

* fetches the URL with timeouts (``TUNGBAN_OPENDATA_HARVEST_TIMEOUT``), a size cap
  (``TUNGBAN_OPENDATA_MAX_UPLOAD``) and the stored ``ETag`` as ``If-None-Match``;
* ``304`` or the same SHA-256 as the resource's newest version → nothing stored,
  ``last_status = "unchanged"``;
* changed → a new version (:func:`.versions.add_version` with ``source=harvest``, which
  checks the Table Schema); published at once (:func:`.publishing.publish_version`) if the
  source is ``approved`` (``last_status = "published"``), else left pending for the next
  publication request (``"pending"``);
* fails its Table Schema (or too large, empty) → ``"invalid"``, the error in
  ``last_error``, nothing stored; the next run at the normal interval;
* down, timeout, an HTTP error → ``"error"``, ``failures`` + 1, ``last_error``; the next run
  after :func:`tungban.core.jobs.retry_delay` (``TUNGBAN_TASK_RETRY_DELAY`` doubled per
  failure, at most an hour, never later than the normal interval) while
  :func:`tungban.core.jobs.can_retry`; after that at the normal interval.

Everything is visible on the :class:`~tungban.opendata.models.HarvestSource` row
(``last_run_at``, ``last_status``, ``last_error``, ``failures``, ``next_run_at``, ``etag``).
Addresses on private networks are refused unless ``TUNGBAN_OPENDATA_HARVEST_PRIVATE`` is on
(the check resolves the host once before the fetch; it is a guard, not a firewall).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.tasks import task
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from tungban.core import jobs
from tungban.core.errors import DomainError
from tungban.core.netguard import PrivateAddress, check_public_host

from .. import errors, storage
from ..constants import DatasetState, VersionSource
from ..models import DatasetEvent, HarvestSource, Resource, ResourceVersion
from . import publishing, versions

log = logging.getLogger("tungban.opendata.harvest")

USER_AGENT = "tungban-opendata-harvester/1"
#: The longest interval between two harvests: a year, in minutes.
MAX_INTERVAL = 366 * 24 * 60


def register_source(user, resource: Resource, url: str, interval_minutes: int = 1440) -> HarvestSource:
    """Register (or change) where ``resource``'s file is harvested from, by a data officer of
    its provider. The source is not approved until the Departmental Data Officer approves the
    dataset's next publication request (a change of address needs that approval again); its
    first run is due at once.

    :raises Forbidden: ``not_data_officer``. :raises DomainError: ``invalid_harvest_source``
        (not http/https, or an interval under ``TUNGBAN_OPENDATA_HARVEST_MIN_INTERVAL``
        minutes or over :data:`MAX_INTERVAL`), ``dataset_withdrawn``."""
    publishing.role_of(user, resource.dataset.organization)
    if resource.dataset.state == DatasetState.DELETED:
        raise errors.DatasetWithdrawn()
    minimum = settings.TUNGBAN_OPENDATA_HARVEST_MIN_INTERVAL
    parts = urlsplit(url or "")
    try:
        interval = int(interval_minutes)
    except (TypeError, ValueError):
        interval = 0
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or len(url) > 1000
        or not minimum <= interval <= MAX_INTERVAL
    ):
        raise errors.InvalidHarvestSource(minimum=minimum, maximum=MAX_INTERVAL)
    with transaction.atomic():
        source, _ = HarvestSource.objects.update_or_create(
            resource=resource,
            defaults={
                "url": url,
                "interval_minutes": interval,
                "approved": False,
                "registered_at": timezone.now(),
                "active": True,
                "next_run_at": timezone.now(),
                "failures": 0,
                "last_error": "",
                "etag": "",
            },
        )
        DatasetEvent.objects.create(
            dataset_id=resource.dataset_id, actor=publishing._actor(user), action="harvest_registered"
        )
    return source


def sources_for_approval(submission) -> list[dict]:
    """The harvest sources of ``submission``'s dataset as its approval page lists them:
    ``{"source": HarvestSource, "approves": bool}`` — whether approving the request approves
    the address (registered before the request was submitted; see ``publishing.approve``)."""
    rows = (
        HarvestSource.objects.filter(resource__dataset_id=submission.dataset_id)
        .select_related("resource")
        .order_by("resource__position")
    )
    return [
        {"source": h, "approves": h.registered_at is not None and h.registered_at <= submission.submitted_at}
        for h in rows
    ]


# --- scheduling -------------------------------------------------------------------------------


def poll_due(now: dt.datetime) -> dict[str, int]:
    """The worker's sweep: claim every active source due at ``now`` and queue a
    :func:`harvest_task` for each; returns ``{"opendata.HarvestSource (queued)": n}``."""
    queued = 0
    due = HarvestSource.objects.filter(
        Q(next_run_at__lte=now) | Q(next_run_at__isnull=True),
        active=True,
        resource__dataset__state__in=[DatasetState.DRAFT, DatasetState.ACTIVE],
    )
    for pk, interval, next_run_at in due.values_list("pk", "interval_minutes", "next_run_at"):
        # claimed until the run sets its own next time; a worker lost mid-run retries at the interval
        claimed = HarvestSource.objects.filter(pk=pk, next_run_at=next_run_at).update(
            next_run_at=now + dt.timedelta(minutes=interval)
        )
        if claimed:
            jobs.enqueue(harvest_task, pk)
            queued += 1
    return {"opendata.HarvestSource (queued)": queued}


@task
def harvest_task(source_id: int) -> str:
    """Run one harvest (:func:`run`); returns its status."""
    return run(source_id)


# --- one run ----------------------------------------------------------------------------------


class _Fetched:
    def __init__(self, status: int, data: bytes = b"", etag: str = ""):
        self.status, self.data, self.etag = status, data, etag


class _SourceDown(Exception):
    pass


class _TooLarge(Exception):
    pass


def _check_host(url: str) -> None:
    if settings.TUNGBAN_OPENDATA_HARVEST_PRIVATE:
        return
    try:
        check_public_host(url)
    except PrivateAddress as e:
        raise _SourceDown(str(e)) from None


#: Redirects a harvest follows, each to an address checked as the first one is.
MAX_REDIRECTS = 5


def _fetch(url: str, etag: str) -> _Fetched:
    """GET ``url`` (conditional on ``etag``): redirects followed by hand, at most
    :data:`MAX_REDIRECTS`, each target's host checked against private networks before it is
    asked (``requests`` would follow them unchecked); the whole download bounded by
    ``TUNGBAN_OPENDATA_HARVEST_TIMEOUT`` × 4 seconds as well as each connect and read (a source
    that sends a byte at a time cannot hold a worker), and by ``TUNGBAN_OPENDATA_MAX_UPLOAD``
    bytes."""
    limit = settings.TUNGBAN_OPENDATA_MAX_UPLOAD
    timeout = settings.TUNGBAN_OPENDATA_HARVEST_TIMEOUT
    deadline = time.monotonic() + timeout * 4
    headers = {"User-Agent": USER_AGENT}
    if etag:
        headers["If-None-Match"] = etag
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            if urlsplit(url).scheme not in ("http", "https"):
                raise _SourceDown("redirected to a non-HTTP address")
            _check_host(url)
            with requests.get(
                url, headers=headers, timeout=(timeout, timeout), stream=True, allow_redirects=False
            ) as r:
                if r.is_redirect:
                    url = urljoin(url, r.headers.get("Location", ""))
                    continue
                if r.status_code == 304:
                    return _Fetched(304, etag=r.headers.get("ETag", etag))
                if r.status_code != 200:
                    raise _SourceDown(f"HTTP {r.status_code}")
                length = r.headers.get("Content-Length")
                if length and length.isdigit() and int(length) > limit:
                    raise _TooLarge()
                chunks, size = [], 0
                for chunk in r.iter_content(16 * 1024):
                    size += len(chunk)
                    if size > limit:
                        raise _TooLarge()
                    if time.monotonic() > deadline:
                        raise _SourceDown(f"the download took longer than {timeout * 4} s")
                    chunks.append(chunk)
                return _Fetched(200, b"".join(chunks), r.headers.get("ETag", ""))
        raise _SourceDown(f"more than {MAX_REDIRECTS} redirects")
    except requests.RequestException as e:
        raise _SourceDown(f"{type(e).__name__}: {e}"[:500]) from None


def _finish(source_id: int, now: dt.datetime, **fields) -> None:
    HarvestSource.objects.filter(pk=source_id).update(last_run_at=now, **fields)


def run(source_id: int, *, now: dt.datetime | None = None) -> str:
    """Harvest the source ``source_id`` once; returns the status recorded on the row
    (``published``, ``pending``, ``unchanged``, ``invalid``, ``error``; ``gone`` if the row
    or its dataset is gone or inactive)."""
    now = now or timezone.now()
    source = HarvestSource.objects.select_related("resource", "resource__dataset").filter(pk=source_id).first()
    if source is None or not source.active:
        return "gone"
    resource = source.resource
    normal_next = now + dt.timedelta(minutes=source.interval_minutes)
    if resource.dataset.state == DatasetState.DELETED:
        _finish(source_id, now, active=False, last_status="gone", next_run_at=None)
        return "gone"
    try:
        fetched = _fetch(source.url, source.etag)
    except (_SourceDown, _TooLarge) as e:
        if isinstance(e, _TooLarge):
            message = str(errors.FileTooLarge(limit=filesizeformat(settings.TUNGBAN_OPENDATA_MAX_UPLOAD)))
            _finish(
                source_id,
                now,
                last_status="invalid",
                last_error=message,
                failures=source.failures + 1,
                next_run_at=normal_next,
            )
            return "invalid"
        failures = source.failures + 1
        retry_at = now + jobs.retry_delay(failures) if jobs.can_retry(failures) else normal_next
        _finish(
            source_id,
            now,
            last_status="error",
            last_error=str(e),
            failures=failures,
            next_run_at=min(retry_at, normal_next),
        )
        log.info("Harvest of %s failed (%s failures): %s", source.url, failures, e)
        return "error"
    ok = {"failures": 0, "last_error": "", "next_run_at": normal_next, "etag": fetched.etag[:200]}
    if fetched.status == 304:
        _finish(source_id, now, last_status="unchanged", **ok)
        return "unchanged"
    sha = storage.digest(fetched.data)
    newest = ResourceVersion.objects.filter(resource=resource).order_by("-captured_at", "-pk").first()
    if newest is not None and newest.sha256 == sha:
        _finish(source_id, now, last_status="unchanged", **ok)
        return "unchanged"
    try:
        with transaction.atomic():
            version = versions.add_version(None, resource, fetched.data, source=VersionSource.HARVEST, captured_at=now)
            if version.captured_at != now:  # these bytes are an older version: nothing new to store
                status = "unchanged"
            elif source.approved and resource.dataset.state == DatasetState.ACTIVE:
                publishing.publish_version(version, now=now)
                DatasetEvent.objects.create(dataset_id=resource.dataset_id, actor="harvest", action="harvested")
                status = "published"
            else:
                status = "pending"
            _finish(source_id, now, last_status=status, **ok)
    except DomainError as e:  # the file fails its Table Schema, is empty or too large
        _finish(
            source_id,
            now,
            last_status="invalid",
            last_error=str(e.message)[:2000],
            failures=source.failures + 1,
            next_run_at=normal_next,
        )
        return "invalid"
    return status
