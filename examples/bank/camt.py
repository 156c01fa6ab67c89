"""The demo bank's ISO 20022 cash-management messages to its customer (the government's
collection account): a ``camt.054.001.08`` *BankToCustomerDebitCreditNotification* per booked
transfer and a ``camt.053.001.08`` *BankToCustomerStatement* at the end of each day.

Like the rest of the demo bank this module does not import ``tungban``: the platform reads
what a bank sends, with its own reader (``tungban.payments.camt``). XML is built with lxml.

A transfer is a mapping with::

    end_to_end_id     str, ≤ 35 (set by the payer's side; the platform's exactly-once key)
    account_servicer_ref  str, ≤ 35 (the bank's own reference of the booking)
    message_id        str, ≤ 35 (the interbank message that carried it)
    amount_cents      int > 0 (HK$ cents)
    credit            bool (True: money in)
    booked_at         datetime with zone (booking time)
    value_date        date
    reference         str, ≤ 140 (remittance information: the bill reference the payer typed
                      or the QR code carried)
    debtor_name       str, ≤ 140
    reversal          bool, optional (``RvslInd``: the entry reverses the transfer whose
                      end-to-end id it carries, booked the other way: a reversed credit is
                      ``credit: False, reversal: True``)
    debtor_account    str, ≤ 34 (the payer's account number)

Element order follows the message definitions *BankToCustomerStatementV08* (AccountStatement9,
ReportEntry10, EntryTransaction10, TransactionReferences6, TransactionParties6) and
*BankToCustomerDebitCreditNotificationV08* (AccountNotification17).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from lxml import etree

NS_053 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
NS_054 = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"
HONG_KONG = dt.timezone(dt.timedelta(hours=8))
#: ISO bank transaction code of an FPS credit received: Payments / Received credit transfers
#: / Domestic credit transfer (ExternalBankTransactionDomain/Family/SubFamily code sets).
BANK_TX_CODE = ("PMNT", "RCDT", "DMCT")
REFUND_TX_CODE = ("PMNT", "ICDT", "DMCT")


def amount(cents: int) -> str:
    """HK$ cents as an ISO 20022 decimal amount: ``12345`` → ``"123.45"``."""
    return f"{cents // 100}.{cents % 100:02d}"


def _iso(at: dt.datetime) -> str:
    return at.astimezone(HONG_KONG).isoformat(timespec="seconds")


class _Builder:
    def __init__(self, ns: str):
        self.ns = ns

    def el(self, parent, tag: str, text: str | None = None, **attrs):
        name = f"{{{self.ns}}}{tag}"
        if parent is None:
            node = etree.Element(name, attrs, nsmap={None: self.ns})
        else:
            node = etree.SubElement(parent, name, attrs)
        if text is not None:
            node.text = text
        return node

    def path(self, parent, tags: str, text: str | None = None):
        node = parent
        for tag in tags.split("/"):
            node = self.el(node, tag)
        if text is not None:
            node.text = text
        return node

    def account(self, parent, account: Mapping) -> None:
        acct = self.el(parent, "Acct")
        self.path(acct, "Id/Othr/Id", account["number"])
        self.el(acct, "Ccy", "HKD")
        self.el(acct, "Nm", account["name"])
        self.path(acct, "Svcr/FinInstnId/BICFI", account["bic"])

    def entry(self, parent, t: Mapping, entry_ref: str | None = None) -> None:
        credit = t.get("credit", True)
        ntry = self.el(parent, "Ntry")
        if entry_ref:
            self.el(ntry, "NtryRef", entry_ref)
        self.el(ntry, "Amt", amount(t["amount_cents"]), Ccy="HKD")
        self.el(ntry, "CdtDbtInd", "CRDT" if credit else "DBIT")
        if t.get("reversal"):
            self.el(ntry, "RvslInd", "true")
        self.path(ntry, "Sts/Cd", "BOOK")
        self.path(ntry, "BookgDt/DtTm", _iso(t["booked_at"]))
        self.path(ntry, "ValDt/Dt", t["value_date"].isoformat())
        self.el(ntry, "AcctSvcrRef", t["account_servicer_ref"])
        domain, family, sub = BANK_TX_CODE if credit else REFUND_TX_CODE
        code = self.path(ntry, "BkTxCd/Domn")
        self.el(code, "Cd", domain)
        fmly = self.el(code, "Fmly")
        self.el(fmly, "Cd", family)
        self.el(fmly, "SubFmlyCd", sub)
        tx = self.path(ntry, "NtryDtls/TxDtls")
        refs = self.el(tx, "Refs")
        if t.get("message_id"):
            self.el(refs, "MsgId", t["message_id"])
        self.el(refs, "AcctSvcrRef", t["account_servicer_ref"])
        self.el(refs, "EndToEndId", t["end_to_end_id"])
        self.el(tx, "Amt", amount(t["amount_cents"]), Ccy="HKD")
        self.el(tx, "CdtDbtInd", "CRDT" if credit else "DBIT")
        if t.get("debtor_name"):
            parties = self.el(tx, "RltdPties")
            self.path(parties, "Dbtr/Pty/Nm", t["debtor_name"][:140])
            if t.get("debtor_account"):
                self.path(parties, "DbtrAcct/Id/Othr/Id", t["debtor_account"][:34])
        if t.get("reference"):
            self.path(tx, "RmtInf/Ustrd", t["reference"][:140])
        self.path(tx, "RltdDts/IntrBkSttlmDt", t["value_date"].isoformat())


def _header(b: _Builder, top, message_id: str, created_at: dt.datetime) -> None:
    header = b.el(top, "GrpHdr")
    b.el(header, "MsgId", message_id)
    b.el(header, "CreDtTm", _iso(created_at))
    pages = b.el(header, "MsgPgntn")
    b.el(pages, "PgNb", "1")
    b.el(pages, "LastPgInd", "true")


def _document(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def notification(
    account: Mapping, transfers: Mapping | Iterable[Mapping], *, message_id: str, created_at: dt.datetime
) -> bytes:
    """A ``camt.054.001.08`` for booked transfers (one ``Ntfctn``, one ``Ntry`` per transfer;
    a bank sends one per transfer, or a batch).

    :param account: ``{"number", "name", "bic"}`` of the account credited."""
    if isinstance(transfers, Mapping):
        transfers = [transfers]
    b = _Builder(NS_054)
    root = b.el(None, "Document")
    top = b.el(root, "BkToCstmrDbtCdtNtfctn")
    _header(b, top, message_id, created_at)
    ntfctn = b.el(top, "Ntfctn")
    b.el(ntfctn, "Id", message_id)
    b.el(ntfctn, "CreDtTm", _iso(created_at))
    b.account(ntfctn, account)
    for transfer in transfers:
        b.entry(ntfctn, transfer)
    return _document(root)


def statement(
    account: Mapping,
    day: dt.date,
    transfers: Iterable[Mapping],
    *,
    opening_cents: int,
    message_id: str,
    created_at: dt.datetime,
    sequence: int = 1,
) -> bytes:
    """The ``camt.053.001.08`` of ``day``: balances ``PRCD`` (the previous day's closing,
    ``opening_cents``) and ``CLBD``, the transaction summary, and one ``BOOK`` entry per
    transfer in the given order.

    :param account: ``{"number", "name", "bic"}``.
    :param sequence: the statement's electronic sequence number (one per day)."""
    transfers = list(transfers)
    b = _Builder(NS_053)
    root = b.el(None, "Document")
    top = b.el(root, "BkToCstmrStmt")
    _header(b, top, message_id, created_at)
    stmt = b.el(top, "Stmt")
    b.el(stmt, "Id", message_id)
    b.el(stmt, "ElctrncSeqNb", str(sequence))
    b.el(stmt, "CreDtTm", _iso(created_at))
    start = dt.datetime.combine(day, dt.time(0, 0), HONG_KONG)
    period = b.el(stmt, "FrToDt")
    b.el(period, "FrDtTm", _iso(start))
    b.el(period, "ToDtTm", _iso(start + dt.timedelta(days=1) - dt.timedelta(seconds=1)))
    b.account(stmt, account)
    credits = sum(t["amount_cents"] for t in transfers if t.get("credit", True))
    debits = sum(t["amount_cents"] for t in transfers if not t.get("credit", True))
    closing = opening_cents + credits - debits
    for code, cents, on in (("PRCD", opening_cents, day - dt.timedelta(days=1)), ("CLBD", closing, day)):
        bal = b.el(stmt, "Bal")
        b.path(bal, "Tp/CdOrPrtry/Cd", code)
        b.el(bal, "Amt", amount(abs(cents)), Ccy="HKD")
        b.el(bal, "CdtDbtInd", "CRDT" if cents >= 0 else "DBIT")
        b.path(bal, "Dt/Dt", on.isoformat())
    summary = b.el(stmt, "TxsSummry")
    total = b.el(summary, "TtlNtries")
    b.el(total, "NbOfNtries", str(len(transfers)))
    b.el(total, "Sum", amount(credits + debits))
    net = b.el(total, "TtlNetNtry")
    b.el(net, "Amt", amount(abs(credits - debits)))
    b.el(net, "CdtDbtInd", "CRDT" if credits >= debits else "DBIT")
    for tag, part_cents in (("TtlCdtNtries", credits), ("TtlDbtNtries", debits)):
        part = b.el(summary, tag)
        count = sum(1 for t in transfers if t.get("credit", True) == (tag == "TtlCdtNtries"))
        b.el(part, "NbOfNtries", str(count))
        b.el(part, "Sum", amount(part_cents))
    for i, t in enumerate(transfers, 1):
        b.entry(stmt, t, entry_ref=str(i))
    return _document(root)
