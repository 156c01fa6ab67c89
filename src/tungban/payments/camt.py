"""Reading ISO 20022 bank-to-customer cash management messages: ``camt.053`` (the bank's
end-of-day statement, *BankToCustomerStatement*) and ``camt.054`` (a debit/credit
notification, *BankToCustomerDebitCreditNotification*), versions ``001.02`` to ``001.13``.

:func:`parse` turns the bytes of one file into a :class:`Message` of plain values, or refuses
the whole file with :class:`~tungban.payments.errors.StatementUnreadable` (not XML, a DTD,
too large) or :class:`~tungban.payments.errors.StatementSchemaInvalid` (listing each problem
with its line in the file). It never writes: the import (:mod:`.reconciliation`) stores
nothing from a refused file.

**Why lxml behind this adapter rather than a statement library** (issue 18, evaluated
2026-12): ``pycamt`` 1.1 reads camt.053 only (no camt.054), recognises versions 001.02–04,
returns amounts as strings and takes the first ``Amt`` below an entry wherever it is;
``camt053`` 0.0.x and ``bankstatementparser`` 0.0.x (one author's suite, weeks old) pin
``click``, ``jinja2``, ``rich`` exactly and bring FastAPI and uvicorn into the platform. The
fields reconciliation needs are a handful of paths shared by both messages, so a small reader
over lxml (already installed with the signing stack; pinned in ``pyproject.toml``) is less
code to trust than any of them.

**Validation.** The official XSDs are published by the ISO 20022 Registration Authority
(iso20022.org, "intended to be used and reproduced freely"), but cannot be fetched from this
build environment and no well-kept package ships the camt schemas, so none is vendored. An
operator who downloads them puts ``camt.053.001.08.xsd`` (etc., named after the namespace's
message identifier) in ``settings.TUNGBAN_PAYMENTS_CAMT_XSD_DIR``: a file whose version has a
schema there is validated against it with lxml first. Every file is then checked
structurally, whatever its version: the elements this module reads must be present with the
ISO data types (``Max35Text``, ``ISODate``, ``ActiveOrHistoricCurrencyAndAmount``,
``CreditDebitCode``, ``ExternalBalanceType1Code``, ``ExternalEntryStatus1Code``), a camt.053
holds booked entries only (``BOOK``; message definition *BankToCustomerStatementV08*,
"Usage"), the transaction summary (``TxsSummry/TtlNtries``) agrees with the entries, and the
opening balance (``PRCD`` or ``OPBD``) plus credits minus debits equals the closing booked
balance (``CLBD``).

Paths read, per entry (``Ntry``) and transaction (``NtryDtls/TxDtls``)::

    Ntry/Amt[@Ccy], Ntry/CdtDbtInd, Ntry/RvslInd, Ntry/Sts (001.02–06 text, 001.07+ Sts/Cd),
    Ntry/BookgDt/(Dt|DtTm), Ntry/ValDt/(Dt|DtTm), Ntry/AcctSvcrRef, Ntry/BkTxCd,
    TxDtls/Amt (else the entry's), TxDtls/Refs/EndToEndId, TxDtls/Refs/MsgId,
    TxDtls/RmtInf/Ustrd (each ≤ 140 characters, joined by a space: the bill reference),
    TxDtls/RltdPties/Dbtr/(Pty/)Nm (the payer's name; Party40Choice from 001.08)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _
from lxml import etree

from . import errors

#: ``urn:iso:std:iso:20022:tech:xsd:camt.053.001.08`` → ("053", 8)
_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.(053|054)\.001\.(\d\d)")
#: Versions read (each published version of both messages up to 2025 keeps these paths).
VERSIONS = range(2, 14)
KINDS = {"053": "camt053", "054": "camt054"}
_ROOTS = {"053": ("BkToCstmrStmt", "Stmt"), "054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn")}
#: ISO 20022 ``ActiveOrHistoricCurrencyAndAmount``: up to 18 digits, at most 5 after the point.
_AMOUNT = re.compile(r"\d{1,18}(\.\d{1,5})?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: Balance codes (ExternalBalanceType1Code) that open and close a statement.
OPENING_CODES = ("PRCD", "OPBD")
CLOSING_CODE = "CLBD"
ENTRY_STATUSES = ("BOOK", "PDNG", "INFO", "FUTR")
#: An end-to-end id that says there is none (ISO 20022 usage rule for ``EndToEndId``).
NOT_PROVIDED = "NOTPROVIDED"
#: The most problems listed when a file is refused.
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class Balance:
    """A ``Bal``: ``code`` (e.g. ``PRCD``, ``CLBD``), signed ``amount_cents`` (debit < 0)."""

    code: str
    amount_cents: int
    currency: str
    date: dt.date


@dataclass(frozen=True)
class Line:
    """One credit or debit transfer of a statement or notification.

    ``key`` is what identifies the transfer for ever (:attr:`CreditTransfer.end_to_end_id`):
    the end-to-end id the payer's bank set, or ``ASR:<AcctSvcrRef>`` when it is
    missing or ``NOTPROVIDED`` (:func:`fallback_key`). ``amount_cents`` is positive; ``credit`` tells the direction.
    ``booked_at`` is set when the bank gave a booking time (``BookgDt/DtTm``), else None.
    ``xml_line`` is the entry's line in the file, for messages. ``debtor_name`` and
    ``debtor_account``: the payer as ``RltdPties/Dbtr`` (``Pty/Nm`` or ``Nm``) and
    ``RltdPties/DbtrAcct/Id`` (``Othr/Id`` or ``IBAN``) give them (camt.053.001.08
    *TransactionParties6*), ``""`` when absent.
    """

    position: int
    xml_line: int
    key: str
    end_to_end_id: str
    account_servicer_ref: str
    message_id: str
    amount_cents: int
    currency: str
    credit: bool
    reversal: bool
    status: str
    booking_date: dt.date | None
    booked_at: dt.datetime | None
    value_date: dt.date | None
    remittance: str
    debtor_name: str
    debtor_account: str = ""


@dataclass(frozen=True)
class Report:
    """One ``Stmt`` (camt.053) or ``Ntfctn`` (camt.054): one account's entries."""

    id: str
    account: str
    currency: str
    created_at: dt.datetime | None
    from_date: dt.date | None
    to_date: dt.date | None
    opening: Balance | None
    closing: Balance | None
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Message:
    """A whole file: ``kind`` ``camt053`` | ``camt054``, ``version`` e.g. ``camt.053.001.08``."""

    kind: str
    version: str
    message_id: str
    created_at: dt.datetime
    reports: tuple[Report, ...]
    schema_checked: bool = False

    @property
    def lines(self) -> list[Line]:
        return [line for report in self.reports for line in report.lines]

    @property
    def statement_date(self) -> dt.date | None:
        """The day a camt.053 reports on: its closing balance's date, else its period's end."""
        for report in self.reports:
            if report.closing is not None:
                return report.closing.date
            if report.to_date is not None:
                return report.to_date
        return None


@dataclass
class _Problems:
    items: list[dict] = field(default_factory=list)
    overflow: bool = False

    def add(self, line: int | None, path: str, message: str) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append({"line": line, "path": path, "message": message})
        else:
            self.overflow = True

    def raise_if_any(self) -> None:
        if self.items:
            raise errors.StatementSchemaInvalid(
                problems="; ".join(_describe(p) for p in self.items[:3]),
                details={"problems": self.items, "more": self.overflow},
            )


def _describe(problem: dict) -> str:
    where = _("line %(line)s") % {"line": problem["line"]} if problem["line"] else ""
    return " ".join(p for p in (where, problem["path"] + ":", problem["message"]) if p)


class _Reader:
    """Namespaced look-ups below an element, with the problems found on the way."""

    def __init__(self, ns: str, problems: _Problems):
        self.ns = ns
        self.problems = problems

    def q(self, path: str) -> str:
        return "/".join(f"{{{self.ns}}}{part}" for part in path.split("/"))

    def find(self, el, path: str):
        return el.find(self.q(path))

    def findall(self, el, path: str):
        return el.findall(self.q(path))

    def text(self, el, path: str, *, required: bool = False, max_length: int | None = None, where: str = "") -> str:
        node = self.find(el, path)
        value = (node.text or "").strip() if node is not None else ""
        label = f"{where}/{path}" if where else path
        if not value:
            if required:
                self.problems.add(el.sourceline, label, _("required, missing or empty"))
            return ""
        if max_length is not None and len(value) > max_length:
            self.problems.add(
                node.sourceline, label, _("longer than %(n)d characters (ISO 20022 Max%(n)dText)") % {"n": max_length}
            )
        return value

    def amount(self, el, path: str, where: str, *, required: bool = True) -> tuple[int, str] | None:
        """``(cents, currency)`` of an ``ActiveOrHistoricCurrencyAndAmount``; HK$ amounts are
        whole cents (a non-zero third decimal is refused)."""
        node = self.find(el, path)
        label = f"{where}/{path}"
        if node is None:
            if required:
                self.problems.add(el.sourceline, label, _("required, missing"))
            return None
        raw = (node.text or "").strip()
        currency = node.get("Ccy", "")
        if not _CURRENCY.fullmatch(currency):
            self.problems.add(node.sourceline, label, _("the Ccy attribute must be an ISO 4217 code"))
            return None
        if not _AMOUNT.fullmatch(raw):
            self.problems.add(node.sourceline, label, _("“%(value)s” is not an amount") % {"value": raw[:40]})
            return None
        try:
            cents = Decimal(raw) * 100
        except InvalidOperation:  # pragma: no cover - the pattern above admits only decimals
            self.problems.add(node.sourceline, label, _("“%(value)s” is not an amount") % {"value": raw[:40]})
            return None
        if cents != cents.to_integral_value():
            self.problems.add(node.sourceline, label, _("an amount in fractions of a cent"))
            return None
        return int(cents), currency

    def direction(self, el, path: str, where: str, *, required: bool = True) -> bool | None:
        value = self.text(el, path, required=required, where=where)
        if not value:
            return None
        if value not in ("CRDT", "DBIT"):
            self.problems.add(el.sourceline, f"{where}/{path}", _("must be CRDT or DBIT"))
            return None
        return value == "CRDT"

    def date_or_time(self, el, path: str, where: str) -> tuple[dt.date | None, dt.datetime | None]:
        """A ``DateAndDateTime2Choice`` (``Dt`` or ``DtTm``): ``(date, datetime or None)``;
        a time without a zone is taken as Hong Kong time."""
        node = self.find(el, path)
        if node is None:
            return None, None
        day = self.find(node, "Dt")
        if day is not None:
            return self.iso_date(day, f"{where}/{path}/Dt"), None
        moment = self.find(node, "DtTm")
        if moment is not None:
            at = self.iso_datetime(moment, f"{where}/{path}/DtTm")
            return (at.astimezone(_HONG_KONG).date() if at else None), at
        self.problems.add(node.sourceline, f"{where}/{path}", _("needs Dt or DtTm"))
        return None, None

    def iso_date(self, node, label: str) -> dt.date | None:
        raw = (node.text or "").strip()
        if _ISO_DATE.fullmatch(raw):
            try:
                return dt.date.fromisoformat(raw)
            except ValueError:
                pass
        self.problems.add(node.sourceline, label, _("“%(value)s” is not an ISO date") % {"value": raw[:40]})
        return None

    def iso_datetime(self, node, label: str) -> dt.datetime | None:
        raw = (node.text or "").strip()
        try:
            at = dt.datetime.fromisoformat(raw)
        except ValueError:
            self.problems.add(
                node.sourceline, label, _("“%(value)s” is not an ISO date and time") % {"value": raw[:40]}
            )
            return None
        return at if at.tzinfo else at.replace(tzinfo=_HONG_KONG)


_HONG_KONG = dt.timezone(dt.timedelta(hours=8), "HKT")


def _xml(data: bytes):
    """The parsed document; refuses what is not plain XML (DTDs and entities, too large)."""
    limit = settings.TUNGBAN_PAYMENTS_STATEMENT_MAX_BYTES
    if len(data) > limit:
        raise errors.StatementUnreadable(
            _("The file is larger than %(size)d MB.") % {"size": limit // 1_000_000}, details={"bytes": len(data)}
        )
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise errors.StatementUnreadable(
            _("The file is not well-formed XML: %(problem)s") % {"problem": str(exc)[:200]}
        ) from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise errors.StatementUnreadable(_("The file declares a DTD: bank statements never do."))
    return root


def identify(root) -> tuple[str, int, str]:
    """``(message "053"|"054", version number, namespace)`` of a ``Document`` root.

    :raises StatementSchemaInvalid: not a camt.053/camt.054 document of a version read here."""
    qname = etree.QName(root)
    match = _NAMESPACE.fullmatch(qname.namespace or "")
    if qname.localname != "Document" or not match or int(match.group(2)) not in VERSIONS:
        raise errors.StatementSchemaInvalid(
            problems=_("the root element is not the Document of camt.053 or camt.054 (versions 001.02 to 001.13)"),
            details={"problems": [{"line": root.sourceline, "path": qname.text, "message": "unsupported message"}]},
        )
    return match.group(1), int(match.group(2)), qname.namespace


def _check_xsd(root, version: str) -> bool:
    """Validate against ``<TUNGBAN_PAYMENTS_CAMT_XSD_DIR>/<version>.xsd`` if the operator put
    the official schema there; True when a schema was applied."""
    folder = settings.TUNGBAN_PAYMENTS_CAMT_XSD_DIR
    if not folder:
        return False
    path = Path(folder) / f"{version}.xsd"
    if not path.is_file():
        return False
    schema = _schema(path.read_bytes())
    if not schema.validate(root):
        problems = _Problems()
        for entry in schema.error_log:
            problems.add(entry.line, "XSD", entry.message)
        problems.raise_if_any()
    return True


_SCHEMAS: dict[str, etree.XMLSchema] = {}


def _schema(data: bytes) -> etree.XMLSchema:
    # Compiled once per content (a compiled schema is immutable data, not state two workers
    # could disagree on); the official camt schemas are single files without imports.
    key = hashlib.sha256(data).hexdigest()
    if key not in _SCHEMAS:
        parser = etree.XMLParser(no_network=True, resolve_entities=False)
        _SCHEMAS[key] = etree.XMLSchema(etree.fromstring(data, parser))
    return _SCHEMAS[key]


def fallback_key(servicer_ref: str, index: int | None = None) -> str:
    """The transfer key of a line without an end-to-end id: ``ASR:`` and the bank's own
    reference of the booking (``AcctSvcrRef``, unique per account), or of its SHA-256 when that
    would not fit the 35 characters of an end-to-end id; ``index`` tells apart the
    transactions of one batch entry."""
    text = servicer_ref if index is None else f"{servicer_ref}/{index}"
    if len(text) <= 31:
        return f"ASR:{text}"
    return "ASR:" + hashlib.sha256(text.encode()).hexdigest()[:31]


def parse(data: bytes) -> Message:
    """Read one camt.053 or camt.054 file (see the module docstring for what is checked).

    :param data: the file's bytes (UTF-8 XML, at most ``TUNGBAN_PAYMENTS_STATEMENT_MAX_BYTES``).
    :returns: the :class:`Message`, its lines in file order.
    :raises StatementUnreadable: not well-formed XML, a DTD, too large.
    :raises StatementSchemaInvalid: the structure or the totals are wrong; ``details.problems``
        lists up to :data:`MAX_PROBLEMS` ``{"line", "path", "message"}``.
    """
    root = _xml(data)
    message, version_number, ns = identify(root)
    version = f"camt.{message}.001.{version_number:02d}"
    schema_checked = _check_xsd(root, version)
    problems = _Problems()
    r = _Reader(ns, problems)
    top_name, report_name = _ROOTS[message]
    top = r.find(root, top_name)
    if top is None:
        problems.add(root.sourceline, top_name, _("required, missing"))
        problems.raise_if_any()
    header = r.find(top, "GrpHdr")
    message_id, created_at = "", None
    if header is None:
        problems.add(top.sourceline, f"{top_name}/GrpHdr", _("required, missing"))
    else:
        message_id = r.text(header, "MsgId", required=True, max_length=35, where="GrpHdr")
        node = r.find(header, "CreDtTm")
        if node is None:
            problems.add(header.sourceline, "GrpHdr/CreDtTm", _("required, missing"))
        else:
            created_at = r.iso_datetime(node, "GrpHdr/CreDtTm")
    report_nodes = r.findall(top, report_name)
    if not report_nodes:
        problems.add(top.sourceline, f"{top_name}/{report_name}", _("at least one is required"))
    position = 0
    reports = []
    for node in report_nodes:
        report, position = _report(r, node, report_name, message, position, version_number)
        reports.append(report)
    problems.raise_if_any()
    return Message(
        kind=KINDS[message],
        version=version,
        message_id=message_id,
        created_at=created_at,
        reports=tuple(reports),
        schema_checked=schema_checked,
    )


def _account(r: _Reader, node, where: str) -> str:
    acct = r.find(node, "Acct")
    if acct is None:
        r.problems.add(node.sourceline, f"{where}/Acct", _("required, missing"))
        return ""
    iban = r.text(acct, "Id/IBAN", max_length=34, where=f"{where}/Acct")
    other = r.text(acct, "Id/Othr/Id", max_length=34, where=f"{where}/Acct")
    if not (iban or other):
        r.problems.add(acct.sourceline, f"{where}/Acct/Id", _("needs IBAN or Othr/Id"))
    return iban or other


def _report(r: _Reader, node, name: str, message: str, position: int, version: int) -> tuple[Report, int]:
    report_id = r.text(node, "Id", required=True, max_length=35, where=name)
    account = _account(r, node, name)
    currency = r.text(node, "Acct/Ccy", where=name)
    created = r.find(node, "CreDtTm")
    created_at = r.iso_datetime(created, f"{name}/CreDtTm") if created is not None else None
    from_date = to_date = None
    period = r.find(node, "FrToDt")
    if period is not None:
        start, end = r.find(period, "FrDtTm"), r.find(period, "ToDtTm")
        if start is not None and (at := r.iso_datetime(start, f"{name}/FrToDt/FrDtTm")):
            from_date = at.astimezone(_HONG_KONG).date()
        if end is not None and (at := r.iso_datetime(end, f"{name}/FrToDt/ToDtTm")):
            to_date = at.astimezone(_HONG_KONG).date()
    balances = [_balance(r, b, name) for b in r.findall(node, "Bal")]
    balances = [b for b in balances if b is not None]
    if message == "053" and not r.findall(node, "Bal"):
        r.problems.add(node.sourceline, f"{name}/Bal", _("a statement needs its balances"))
    opening = next((b for code in OPENING_CODES for b in balances if b.code == code), None)
    closing = next((b for b in balances if b.code == CLOSING_CODE), None)
    lines: list[Line] = []
    entries = r.findall(node, "Ntry")
    for entry in entries:
        for line in _entry_lines(r, entry, name, position, version):
            if message == "053" and line.status != "BOOK":
                r.problems.add(entry.sourceline, f"{name}/Ntry/Sts", _("a statement holds booked entries (BOOK) only"))
            lines.append(line)
            position += 1
    if message == "053":
        _check_totals(r, node, name, entries, opening, closing)
    report = Report(
        id=report_id,
        account=account,
        currency=currency,
        created_at=created_at,
        from_date=from_date,
        to_date=to_date,
        opening=opening,
        closing=closing,
        lines=tuple(lines),
    )
    return report, position


def _balance(r: _Reader, node, where: str) -> Balance | None:
    label = f"{where}/Bal"
    code = r.text(node, "Tp/CdOrPrtry/Cd", max_length=4, where=label) or r.text(
        node, "Tp/CdOrPrtry/Prtry", max_length=35, where=label
    )
    if not code:
        r.problems.add(node.sourceline, f"{label}/Tp/CdOrPrtry", _("needs Cd or Prtry"))
    amount = r.amount(node, "Amt", label)
    credit = r.direction(node, "CdtDbtInd", label)
    day, _at = r.date_or_time(node, "Dt", label)
    if r.find(node, "Dt") is None:
        r.problems.add(node.sourceline, f"{label}/Dt", _("required, missing"))
    if not code or amount is None or credit is None or day is None:
        return None
    cents, currency = amount
    return Balance(code=code, amount_cents=cents if credit else -cents, currency=currency, date=day)


def _status(r: _Reader, entry) -> str:
    node = r.find(entry, "Sts")
    if node is None:
        r.problems.add(entry.sourceline, "Ntry/Sts", _("required, missing"))
        return ""
    code = r.find(node, "Cd")
    value = ((code.text if code is not None else node.text) or "").strip()
    if value not in ENTRY_STATUSES:
        r.problems.add(node.sourceline, "Ntry/Sts", _("“%(value)s” is not an entry status") % {"value": value[:10]})
    return value


def _entry_lines(r: _Reader, entry, where: str, position: int, version: int) -> list[Line]:
    label = f"{where}/Ntry"
    amount = r.amount(entry, "Amt", label)
    credit = r.direction(entry, "CdtDbtInd", label)
    reversal = r.text(entry, "RvslInd", where=label) == "true"
    status = _status(r, entry)
    booking_date, booked_at = r.date_or_time(entry, "BookgDt", label)
    value_date, _value_at = r.date_or_time(entry, "ValDt", label)
    servicer_ref = r.text(entry, "AcctSvcrRef", max_length=35, where=label)
    if r.find(entry, "BkTxCd") is None:
        r.problems.add(entry.sourceline, f"{label}/BkTxCd", _("required, missing"))
    details = r.findall(entry, "NtryDtls/TxDtls")
    if amount is None or credit is None:
        return []
    entry_cents, currency = amount
    if len(details) > 1 and any(r.find(d, "Amt") is None for d in details):
        r.problems.add(entry.sourceline, f"{label}/NtryDtls", _("each transaction of a batch entry needs its Amt"))
        return []
    common = {
        "xml_line": entry.sourceline,
        "credit": credit,
        "reversal": reversal,
        "status": status,
        "booking_date": booking_date,
        "booked_at": booked_at,
        "value_date": value_date,
    }
    if not details:
        key = fallback_key(servicer_ref) if servicer_ref else ""
        if not key:
            r.problems.add(entry.sourceline, label, _("an entry needs an end-to-end id or AcctSvcrRef"))
        return [
            Line(
                position=position,
                key=key,
                end_to_end_id="",
                account_servicer_ref=servicer_ref,
                message_id="",
                amount_cents=entry_cents,
                currency=currency,
                remittance=r.text(entry, "AddtlNtryInf", max_length=500, where=label),
                debtor_name="",
                **common,
            )
        ]
    lines = []
    tx_label = f"{label}/NtryDtls/TxDtls"
    total = 0
    for i, tx in enumerate(details):
        tx_amount = r.amount(tx, "Amt", tx_label, required=False) if len(details) > 1 else None
        cents, tx_currency = tx_amount if tx_amount else (entry_cents, currency)
        total += cents
        e2e = r.text(tx, "Refs/EndToEndId", max_length=35, where=tx_label)
        if e2e == NOT_PROVIDED:
            e2e = ""
        tx_ref = r.text(tx, "Refs/AcctSvcrRef", max_length=35, where=tx_label) or servicer_ref
        key = e2e or (fallback_key(tx_ref, i + 1 if len(details) > 1 else None) if tx_ref else "")
        if not key:
            r.problems.add(tx.sourceline, tx_label, _("a transaction needs an end-to-end id or AcctSvcrRef"))
        remittance = []
        for node in r.findall(tx, "RmtInf/Ustrd"):
            text = (node.text or "").strip()
            if len(text) > 140:
                r.problems.add(node.sourceline, f"{tx_label}/RmtInf/Ustrd", _("longer than 140 characters"))
            remittance.append(text)
        debtor = r.text(tx, "RltdPties/Dbtr/Pty/Nm", max_length=140, where=tx_label) or r.text(
            tx, "RltdPties/Dbtr/Nm", max_length=140, where=tx_label
        )
        account = r.text(tx, "RltdPties/DbtrAcct/Id/Othr/Id", max_length=34, where=tx_label) or r.text(
            tx, "RltdPties/DbtrAcct/Id/IBAN", max_length=34, where=tx_label
        )
        lines.append(
            Line(
                position=position + i,
                key=key,
                end_to_end_id=e2e,
                account_servicer_ref=tx_ref,
                message_id=r.text(tx, "Refs/MsgId", max_length=35, where=tx_label),
                amount_cents=cents,
                currency=tx_currency,
                remittance=" ".join(t for t in remittance if t),
                debtor_name=debtor,
                debtor_account=account,
                **common,
            )
        )
    if len(details) > 1 and total != entry_cents:
        r.problems.add(entry.sourceline, f"{label}/Amt", _("differs from the sum of its transactions"))
    return lines


def _check_totals(r: _Reader, node, where: str, entries, opening: Balance | None, closing: Balance | None) -> None:
    """A statement's figures must add up: ``TxsSummry/TtlNtries`` (count and sum) and opening
    + credits − debits = ``CLBD``. A statement whose figures disagree is refused whole."""
    net = 0
    total = Decimal(0)
    for entry in entries:
        amount_node = r.find(entry, "Amt")
        direction = r.find(entry, "CdtDbtInd")
        try:
            value = Decimal((amount_node.text or "").strip())
        except (InvalidOperation, AttributeError):
            return  # already reported
        total += value
        cents = int(value * 100)
        net += cents if direction is not None and (direction.text or "").strip() == "CRDT" else -cents
    count_text = r.text(node, "TxsSummry/TtlNtries/NbOfNtries", where=where)
    if count_text and count_text != str(len(entries)):
        r.problems.add(
            node.sourceline,
            f"{where}/TxsSummry/TtlNtries/NbOfNtries",
            _("says %(said)s entries; the statement has %(found)d") % {"said": count_text, "found": len(entries)},
        )
    sum_text = r.text(node, "TxsSummry/TtlNtries/Sum", where=where)
    if sum_text:
        try:
            said = Decimal(sum_text)
        except InvalidOperation:
            said = None
        if said != total:
            r.problems.add(
                node.sourceline,
                f"{where}/TxsSummry/TtlNtries/Sum",
                _("says %(said)s; the entries add up to %(found)s") % {"said": sum_text[:20], "found": total},
            )
    if opening is not None and closing is not None and opening.amount_cents + net != closing.amount_cents:
        r.problems.add(
            node.sourceline,
            f"{where}/Bal",
            _("the opening balance plus the entries is %(sum)s, not the closing balance %(closing)s")
            % {"sum": _money(opening.amount_cents + net), "closing": _money(closing.amount_cents)},
        )


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"
