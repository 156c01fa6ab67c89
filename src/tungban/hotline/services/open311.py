"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) over 1823's cases: a case type is
a *service* (``service_code``), a case a *service request* (``service_request_id`` = its
reference). The views (:mod:`tungban.hotline.views_open311`) render what these functions return
as JSON or XML; field names are the specification's.

Decisions (documented in ``docs/integrators.md``, "1823 and Open311"):

* **Submitting** (``POST requests``) needs an ``api_key`` issued to the client
  (:class:`~tungban.hotline.models.Open311Client`, command ``tungban open311_key``): missing →
  401 ``api_key_required``, unknown or withdrawn → 403 ``api_key_invalid``. The response carries
  the ``service_request_id`` at once (the service ``type`` is ``realtime``): no ``token``, and no
  ``tokens/{token}`` endpoint. ``media_url`` is **refused** (400 ``media_url_refused``): 1823
  does not fetch files from other sites (the server would be made to call any address, and the
  bytes could not be checked before the case is stored); photos go through the 1823 website.
* **Reading** (``GET requests``, ``GET requests/{id}``) is public but never shows personal data
  (PDPO, Schedule 1 DPP3: personal data are used only for the purpose they were collected for —
  getting the case handled — and DPP4, protection against unauthorised access): the
  ``description``, ``address`` and contact details are ``null``; ``lat``/``long`` are rounded to
  :data:`PUBLIC_DECIMALS` decimal places (0.01° ≈ 1.1 km: a neighbourhood, not the building
  a complainant may live in); ``status_notes`` (the department's closure reply, which may quote
  or name the person) is ``null``. Only cases of case types that ask for a location (matters
  in public places, ``location`` ``required`` or ``optional``) are listed publicly; a case about
  a person's own dealings with a department (``location`` ``none``) is not listed.
* **The submitting client** — a GET carrying the ``api_key`` of the client that submitted the
  request — sees its own requests in full: description, address, exact coordinates and
  ``status_notes`` (the closure reply once closed). It submitted those data for the person.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import zoneinfo
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language

from .. import errors
from ..constants import CaseKind, CaseState, Channel
from ..models import Case, CaseType, Open311Client

HONG_KONG = zoneinfo.ZoneInfo("Asia/Hong_Kong")
#: Decimal places of the coordinates on the public GET (0.01° ≈ 1.1 km).
PUBLIC_DECIMALS = 2
#: The most requests one GET returns (the specification's default limit: 1,000).
MAX_RESULTS = 1000
#: The longest span of a GET's start_date..end_date (the specification: 90 days).
MAX_SPAN = dt.timedelta(days=90)
#: The specification's document.
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
#: The kind of case a service request becomes unless the client says otherwise (``kind``, an
#: extension): Open311's requests are reports of problems.
DEFAULT_KIND = CaseKind.COMPLAINT


# --- API keys ---


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_key(name: str, *, contact: str = "") -> tuple[Open311Client, str]:
    """A new client ``name`` (or a new key for an existing one: the old key stops working)
    and its ``api_key`` (43 characters, 256 random bits), which is returned once and not stored."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValueError("the client's name must have 1 to 100 characters")
    key = secrets.token_urlsafe(32)
    client, _ = Open311Client.objects.update_or_create(
        name=name,
        defaults={"key_digest": _digest(key), "key_prefix": key[:8], "active": True, "contact": contact},
    )
    return client, key


def withdraw_key(name: str) -> bool:
    """Withdraw client ``name``'s key; whether there was an active one."""
    return bool(Open311Client.objects.filter(name=name, active=True).update(active=False))


def client_for(api_key: str | None, *, required: bool) -> Open311Client | None:
    """The active client whose key is ``api_key``.

    :raises errors.Open311KeyRequired: (401) no key and ``required``.
    :raises errors.Open311KeyInvalid: (403) a key that is unknown or withdrawn."""
    api_key = (api_key or "").strip()
    if not api_key:
        if required:
            raise errors.Open311KeyRequired()
        return None
    client = Open311Client.objects.filter(key_digest=_digest(api_key), active=True).first()
    if client is None:
        raise errors.Open311KeyInvalid()
    return client


def client_id(client: Open311Client) -> str:
    """The case's ``client_id`` for ``client``."""
    return f"open311:{client.name}"


# --- services ---


def _zh() -> bool:
    return not (get_language() or "en").startswith("en")


def _pick(en: str, zh: str) -> str:
    return (zh or en) if _zh() else (en or zh)


def discovery(base_url: str) -> dict:
    """The service discovery document (``discovery.{json,xml}``); ``base_url``: this API's
    absolute address (``…/open311/v2``)."""
    return {
        "changeset": "2026-12-06T00:00:00+08:00",
        "contact": "1823 (Efficiency Office) 1823@1823.gov.hk",
        "key_service": "Ask 1823 for an api_key: it is issued with the command tungban open311_key.",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base_url,
                "changeset": "2026-12-06T00:00:00+08:00",
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


def _service(ct: CaseType) -> dict:
    return {
        "service_code": ct.code,
        "service_name": _pick(ct.name_en, ct.name_zh),
        "description": _pick(ct.description_en, ct.description_zh),
        "metadata": bool(ct.attributes),
        "type": "realtime",
        "keywords": ct.keywords,
        "group": _pick(ct.group_en, ct.group_zh),
    }


def services() -> list[dict]:
    """``GET services``: every active case type, in the request's language."""
    return [_service(ct) for ct in CaseType.objects.filter(active=True)]


def case_type(service_code: str) -> CaseType:
    """The active case type ``service_code``.

    :raises errors.UnknownCaseType: (404) no such active case type."""
    ct = CaseType.objects.filter(code=service_code, active=True).first()
    if ct is None:
        raise errors.UnknownCaseType(status=404)
    return ct


def service_definition(service_code: str) -> dict:
    """``GET services/{service_code}``: the service's attributes (Open311's service
    definition; ``variable`` is true for every attribute, which all take an answer).

    :raises errors.UnknownCaseType: (404)."""
    ct = case_type(service_code)
    attrs = []
    for i, a in enumerate(sorted(ct.attributes, key=lambda a: a.get("order", 0)), start=1):
        attr = {
            "variable": True,
            "code": a["code"],
            "datatype": a.get("datatype", "string"),
            "required": bool(a.get("required")),
            "datatype_description": "",
            "order": a.get("order", i),
            "description": _pick(a.get("description_en", ""), a.get("description_zh", "")),
        }
        if attr["datatype"] in ("singlevaluelist", "multivaluelist"):
            attr["values"] = [
                {"key": v["key"], "name": _pick(v.get("name_en", ""), v.get("name_zh", ""))}
                for v in a.get("values", [])
            ]
        attrs.append(attr)
    return {"service_code": ct.code, "attributes": attrs}


# --- service requests ---


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 with the offset (Hong Kong time), as the specification requires."""
    if value is None:
        return None
    return timezone.localtime(value, HONG_KONG).isoformat(timespec="seconds")


def _round(value: Decimal | None) -> float | None:
    if value is None:
        return None
    return float(Decimal(value).quantize(Decimal(1).scaleb(-PUBLIC_DECIMALS), rounding=ROUND_HALF_UP))


def _public_types() -> Q:
    return ~Q(case_type__location="none")


def request_dict(case: Case, *, client: Open311Client | None = None) -> dict:
    """One service request in GeoReport v2's fields. Personal data only for the client that
    submitted it (module docstring)."""
    own = client is not None and case.client_id == client_id(client)
    closed = case.state == CaseState.CLOSED
    dept = case.department
    expected = None
    if case.close_due and not closed:
        expected = dt.datetime.combine(case.close_due, dt.time(23, 59, 59), tzinfo=HONG_KONG)
    return {
        "service_request_id": case.reference,
        "status": case.open311_status,
        "status_notes": (case.closure_reply or None) if own and closed else None,
        "service_name": _pick(case.case_type.name_en, case.case_type.name_zh),
        "service_code": case.case_type_id,
        "description": case.description if own else None,
        "agency_responsible": _pick(dept.name_en, dept.name_zh) if dept else "1823",
        "service_notice": None,
        "requested_datetime": iso(case.submitted_at),
        "updated_datetime": iso(case.closed_at if closed and case.closed_at else case.updated_at),
        "expected_datetime": iso(expected),
        "address": (case.address or None) if own else None,
        "address_id": None,
        "zipcode": None,
        "lat": (float(case.lat) if case.lat is not None else None) if own else _round(case.lat),
        "long": (float(case.long) if case.long is not None else None) if own else _round(case.long),
        "media_url": None,
    }


def _visible(client: Open311Client | None):
    qs = Case.objects.select_related("case_type", "department")
    own = Q(client_id=client_id(client)) if client else Q(pk__in=[])
    return qs.filter(_public_types() | own)


def get_request(reference: str, *, client: Open311Client | None = None) -> dict:
    """``GET requests/{id}``.

    :raises errors.CaseUnknown: (404) no such request, or one not listed publicly. The id is
        read case-insensitively (references are upper case)."""
    case = _visible(client).filter(reference=(reference or "").strip().upper()).first()
    if case is None:
        raise errors.CaseUnknown()
    return request_dict(case, client=client)


def parse_datetime(value: str, field: str) -> dt.datetime:
    """An ISO 8601 date-time (a date alone is its midnight); naive values are Hong Kong time.

    :raises errors.InvalidDate: (400)."""
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise errors.InvalidDate(field=field) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=HONG_KONG)
    return parsed


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def find_requests(
    *,
    service_request_id: str = "",
    service_code: str = "",
    start_date: str = "",
    end_date: str = "",
    status: str = "",
    client: Open311Client | None = None,
    now: dt.datetime | None = None,
) -> list[dict]:
    """``GET requests``: newest first, at most :data:`MAX_RESULTS`. ``service_request_id`` (a
    comma list) overrides the other filters (the specification). Otherwise requests of
    ``service_code`` (comma list), requested between ``start_date`` and ``end_date`` (both
    default to the most recent 90 days; a span over 90 days is refused), with ``status``
    (``open``, ``closed`` or both, comma list).

    :raises errors.InvalidDate: (400) a date that is not ISO 8601.
    :raises errors.DateRangeTooLong: (400) more than 90 days, or end before start.
    :raises errors.InvalidStatus: (400)."""
    qs = _visible(client)
    ids = _csv(service_request_id)
    if ids:
        qs = qs.filter(reference__in=ids[:MAX_RESULTS])
    else:
        now = now or timezone.now()
        start = parse_datetime(start_date, "start_date") if start_date else None
        end = parse_datetime(end_date, "end_date") if end_date else None
        if start and not end:
            end = min(start + MAX_SPAN, max(now, start))
        end = end or now
        start = start or end - MAX_SPAN
        if end < start or end - start > MAX_SPAN:
            raise errors.DateRangeTooLong(field="end_date")
        qs = qs.filter(submitted_at__gte=start, submitted_at__lte=end)
        codes = _csv(service_code)
        if codes:
            qs = qs.filter(case_type_id__in=codes)
        statuses = set(_csv(status))
        if statuses - {"open", "closed"}:
            raise errors.InvalidStatus()
        if statuses == {"open"}:
            qs = qs.exclude(state=CaseState.CLOSED)
        elif statuses == {"closed"}:
            qs = qs.filter(state=CaseState.CLOSED)
    return [request_dict(c, client=client) for c in qs.order_by("-submitted_at")[:MAX_RESULTS]]


def submit(client: Open311Client, data, *, language: str, idempotency_key: str = "") -> tuple[Case, dict]:
    """``POST requests`` (form-encoded, the specification's fields): ``service_code``,
    ``lat``+``long`` or ``address_string``, ``attribute[code]`` (``attribute[code][]`` for a
    multivaluelist), ``email``, ``first_name``, ``last_name``, ``phone``, ``description``;
    extensions: ``kind`` (enquiry, complaint (default), suggestion, compliment) and
    ``district`` (:mod:`~tungban.hotline.districts` code). ``jurisdiction_id``, ``address_id``,
    ``device_id`` and ``account_id`` are ignored; ``media_url`` is refused. Returns the case and
    the response item ``{"service_request_id", "service_notice", "account_id"}``.

    :raises errors.MediaUrlRefused: (400). Everything :func:`.cases.submit` raises
    (``unknown_case_type``, ``description_required``, ``attribute_required``, ``location_required``, …)."""
    from . import cases

    if (data.get("media_url") or "").strip():
        raise errors.MediaUrlRefused()
    kind = (data.get("kind") or DEFAULT_KIND).strip()
    district = (data.get("district") or "").strip()
    attributes: dict = {}
    for key in data:
        if key.startswith("attribute[") and "]" in key:
            code = key[len("attribute[") : key.index("]")]
            values = data.getlist(key) if hasattr(data, "getlist") else [data[key]]
            attributes[code] = values if key.endswith("[]") else values[-1]
    name = " ".join(p for p in ((data.get("first_name") or "").strip(), (data.get("last_name") or "").strip()) if p)
    contact = {"name": name, "email": (data.get("email") or "").strip(), "phone": (data.get("phone") or "").strip()}
    case, _code = cases.submit(
        case_type=(data.get("service_code") or "").strip(),
        kind=kind,
        description=data.get("description") or "",
        language=language,
        channel=Channel.OPEN311,
        contact=contact if any(contact.values()) else None,
        address=(data.get("address_string") or "").strip(),
        district=district,
        lat=data.get("lat") or None,
        long=data.get("long") or None,
        attribute_values=attributes,
        client_id=client_id(client),
        idempotency_key=idempotency_key,
        submitter_key=f"client:{client.pk}",
    )
    ct = case.case_type
    notice = (
        f"1823 case {case.reference}: the department pledges to close it within {ct.close_days} working days."
        if not _zh()
        else f"1823個案 {case.reference}：部門承諾於 {ct.close_days} 個工作天內結案。"
    )
    return case, {"service_request_id": case.reference, "service_notice": notice, "account_id": None}
