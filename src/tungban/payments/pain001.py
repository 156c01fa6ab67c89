"""Refund instructions for the bank: an ISO 20022 ``pain.001.001.03`` *CustomerCreditTransfer
Initiation* file (issue 18, "exported as refund instructions"), one payment information block
debiting the government's collection account, one credit transfer per refund.

Why this version and this code: Hong Kong banks' host-to-host and FPS bulk channels take
``pain.001.001.03`` (the version most implementation guides are written against); the
generators on PyPI are SEPA's (``sepaxml`` requires IBANs and BICs, which Hong Kong accounts
and FPS proxies do not have), so the XML is built here with lxml and **validated against
the ISO 20022 schema** ``pain.001.001.03.xsd`` before anyone can download it — the schema
as published by the ISO 20022 Registration Authority, shipped inside the ``sepaxml``
package (MIT), which is installed for that file only (:func:`schema`).

Mapping (element paths in the message; ISO 20022 message definition report for pain.001):

* ``GrpHdr/MsgId`` the batch's message id (≤ 35), ``CreDtTm``, ``NbOfTxs``, ``CtrlSum``
  (sum of amounts, HK$ with 2 decimals), ``InitgPty/Nm`` the platform;
* ``PmtInf``: ``PmtMtd`` ``TRF``; ``PmtTpInf/LclInstrm/Prtry`` ``FPS`` (the clearing the
  bank is asked to use; proprietary code: bank guides differ); ``ReqdExctnDt``; ``Dbtr/Nm``
  the department; ``DbtrAcct/Id/Othr/Id`` the collection account; ``DbtrAgt`` its bank by
  Hong Kong clearing code (``ClrSysId/Cd`` ``HKNCC``, ISO external code list
  *ExternalClearingSystemIdentification1Code*: Hong Kong Interbank Clearing Code);
* each ``CdtTrfTxInf``: ``PmtId/InstrId`` and ``EndToEndId`` the refund's own end-to-end
  id (the bank's statement carries it back for the completion), ``Amt/InstdAmt Ccy="HKD"``,
  ``Cdtr/Nm`` the payer's name as the bank reported it for the original transfer (in full:
  the bank pays a named account holder; review finding 6), ``CdtrAcct/Id/Othr/Id`` the
  account the original transfer came from (``DbtrAcct``), when its bank named it (otherwise
  omitted — optional in this schema; the bank then returns the money by the original
  transfer's end-to-end id), and
  ``InstrForDbtrAgt`` + ``RmtInf/Ustrd`` (≤ 140) naming the original transfer's end-to-end
  id and the order's bill reference, so the bank can return the money to the account it came
  from.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from importlib import resources

from lxml import etree

NS = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"
MESSAGE = "pain.001.001.03"
#: ExternalClearingSystemIdentification1Code: Hong Kong Interbank Clearing Code.
HK_CLEARING = "HKNCC"


class SchemaError(ValueError):
    """The file does not validate against the pain.001.001.03 schema: ``errors`` lists
    libxml2's messages (line: message)."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors[:5]))
        self.errors = errors


@dataclass(frozen=True)
class Transfer:
    """One refund: amounts in HK cents; texts as they go into the file."""

    instruction_id: str  # ≤ 35
    end_to_end_id: str  # ≤ 35
    amount_cents: int
    creditor_name: str  # ≤ 70 used
    remittance: str  # ≤ 140
    creditor_account: str = ""  # the payer's account, if known
    original_end_to_end_id: str = ""


@dataclass(frozen=True)
class Batch:
    message_id: str  # ≤ 35
    created_at: dt.datetime
    execution_date: dt.date
    initiating_party: str
    debtor_name: str
    debtor_account: str
    debtor_bank_code: str
    transfers: list[Transfer] = field(default_factory=list)


def amount(cents: int) -> str:
    """``12345`` → ``"123.45"`` (ISO 20022 ``ActiveOrHistoricCurrencyAndAmount``: decimal)."""
    return f"{cents // 100}.{cents % 100:02d}"


def _el(parent, tag: str, text: str | None = None, **attrib):
    node = etree.SubElement(parent, f"{{{NS}}}{tag}", attrib)
    if text is not None:
        node.text = text
    return node


def _path(parent, *tags: str, text: str | None = None):
    node = parent
    for tag in tags:
        node = _el(node, tag)
    if text is not None:
        node.text = text
    return node


def _clean(text: str, limit: int) -> str:
    """Control characters out, runs of spaces folded, cut to ``limit`` characters."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())[:limit]


def build(batch: Batch) -> bytes:
    """The pain.001.001.03 document of ``batch`` (UTF-8 XML with declaration), validated.

    :raises SchemaError: the document does not validate (a value too long, a bad code…).
    :raises ValueError: an empty batch.
    """
    if not batch.transfers:
        raise ValueError("a refund batch has at least one transfer")
    total = sum(t.amount_cents for t in batch.transfers)
    root = etree.Element(f"{{{NS}}}Document", nsmap={None: NS})
    initiation = _el(root, "CstmrCdtTrfInitn")
    header = _el(initiation, "GrpHdr")
    _el(header, "MsgId", batch.message_id[:35])
    _el(header, "CreDtTm", batch.created_at.astimezone(dt.UTC).replace(microsecond=0, tzinfo=None).isoformat())
    _el(header, "NbOfTxs", str(len(batch.transfers)))
    _el(header, "CtrlSum", amount(total))
    _path(header, "InitgPty", "Nm", text=_clean(batch.initiating_party, 140))

    info = _el(initiation, "PmtInf")
    _el(info, "PmtInfId", batch.message_id[:35])
    _el(info, "PmtMtd", "TRF")
    _el(info, "NbOfTxs", str(len(batch.transfers)))
    _el(info, "CtrlSum", amount(total))
    _path(info, "PmtTpInf", "LclInstrm", "Prtry", text="FPS")
    _el(info, "ReqdExctnDt", batch.execution_date.isoformat())
    _path(info, "Dbtr", "Nm", text=_clean(batch.debtor_name, 140))
    _path(info, "DbtrAcct", "Id", "Othr", "Id", text=_clean(batch.debtor_account, 34))
    agent = _path(info, "DbtrAgt", "FinInstnId", "ClrSysMmbId")
    _path(agent, "ClrSysId", "Cd", text=HK_CLEARING)
    _el(agent, "MmbId", _clean(batch.debtor_bank_code, 35))
    _el(info, "ChrgBr", "SLEV")

    for t in batch.transfers:
        tx = _el(info, "CdtTrfTxInf")
        ids = _el(tx, "PmtId")
        _el(ids, "InstrId", t.instruction_id[:35])
        _el(ids, "EndToEndId", t.end_to_end_id[:35])
        _el(_el(tx, "Amt"), "InstdAmt", amount(t.amount_cents), Ccy="HKD")
        _path(tx, "Cdtr", "Nm", text=_clean(t.creditor_name or "NOTPROVIDED", 70))
        if t.creditor_account:
            _path(tx, "CdtrAcct", "Id", "Othr", "Id", text=_clean(t.creditor_account, 34))
        if t.original_end_to_end_id:
            _el(tx, "InstrForDbtrAgt", _clean(f"Return of FPS transfer {t.original_end_to_end_id}", 140))
        _path(tx, "RmtInf", "Ustrd", text=_clean(t.remittance, 140))

    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    validate(data)
    return data


@functools.cache
def schema() -> etree.XMLSchema:
    """The ISO 20022 ``pain.001.001.03`` XML schema (from the ``sepaxml`` package's data)."""
    path = resources.files("sepaxml").joinpath("schemas", f"{MESSAGE}.xsd")
    with resources.as_file(path) as xsd:
        return etree.XMLSchema(etree.parse(str(xsd)))


def validate(data: bytes) -> None:
    """Validate a pain.001.001.03 document.

    :raises SchemaError: with libxml2's messages; also for XML that does not parse.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        doc = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise SchemaError([str(exc)]) from None
    checker = schema()
    if not checker.validate(doc):
        raise SchemaError([f"{e.line}: {e.message}" for e in checker.error_log])
