"""The platform's reader of ISO 20022 camt.053 / camt.054 files (``tungban.payments.camt``): what
the demo bank writes reads back field for field; an older version's shape reads too; a file that
is not XML, declares a DTD, is not a camt document, misses a required element, carries a bad
amount, or whose totals do not add up is refused whole with its problems and their lines; the
official XSD, when an operator provides it, is applied."""

from __future__ import annotations

import datetime as dt

import pytest

from tungban.core.errors import DomainError
from tungban.payments import camt

from . import recon_support as s

HKT = dt.timezone(dt.timedelta(hours=8))
BOOKED = dt.datetime(2026, 12, 4, 10, 15, 30, tzinfo=HKT)


def _t(**kw):
    t = s.transfer("TB12 3456 7890 1234", 35000, booked_at=BOOKED)
    t.update(kw)
    return t


def _refused(data: bytes) -> DomainError:
    with pytest.raises(DomainError) as caught:
        camt.parse(data)
    return caught.value


def test_a_statement_from_the_bank_reads_back():
    a, b = _t(), _t(amount_cents=12345, reference="", debtor_name="WONG S* L***")
    debit = _t(amount_cents=500, credit=False)
    data = s.statement([a, b, debit], day=BOOKED.date(), opening=100_000, message_id="STMT-1")
    message = camt.parse(data)
    assert (message.kind, message.version, message.message_id) == ("camt053", "camt.053.001.08", "STMT-1")
    assert message.statement_date == BOOKED.date() and not message.schema_checked
    (report,) = message.reports
    assert report.account == s.account()["number"] and report.currency == "HKD"
    assert (report.opening.code, report.opening.amount_cents) == ("PRCD", 100_000)
    assert (report.closing.code, report.closing.amount_cents) == ("CLBD", 100_000 + 35000 + 12345 - 500)
    first, second, third = message.lines
    assert first.key == first.end_to_end_id == a["end_to_end_id"]
    assert (first.amount_cents, first.currency, first.credit, first.status) == (35000, "HKD", True, "BOOK")
    assert first.booked_at == BOOKED and first.value_date == BOOKED.date() == first.booking_date
    assert first.remittance == "TB12 3456 7890 1234" and first.debtor_name == "CHAN TAI MAN"
    assert first.account_servicer_ref == a["account_servicer_ref"] and first.message_id == a["message_id"]
    assert (second.amount_cents, second.remittance, second.debtor_name) == (12345, "", "WONG S* L***")
    assert third.credit is False and third.amount_cents == 500


def test_a_notification_reads_back():
    message = camt.parse(s.notification([_t(), _t()]))
    assert message.kind == "camt054" and message.version == "camt.054.001.08"
    assert len(message.lines) == 2 and message.statement_date is None


OLD_VERSION = b"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>OLD-1</MsgId><CreDtTm>2026-12-05T01:00:00</CreDtTm></GrpHdr>
  <Stmt>
   <Id>S1</Id>
   <Acct><Id><IBAN>HK00DEMO0000000000000001</IBAN></Id><Ccy>HKD</Ccy></Acct>
   <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="HKD">0.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-04</Dt></Dt></Bal>
   <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="HKD">350.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-04</Dt></Dt></Bal>
   <Ntry>
    <Amt Ccy="HKD">350.50000</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2026-12-04</Dt></BookgDt><ValDt><Dt>2026-12-04</Dt></ValDt><AcctSvcrRef>ASR-OLD-1</AcctSvcrRef>
    <BkTxCd><Prtry><Cd>FPS</Cd></Prtry></BkTxCd>
    <NtryDtls><TxDtls>
     <Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
     <RltdPties><Dbtr><Nm>LEE K* Y**</Nm></Dbtr></RltdPties>
     <RmtInf><Ustrd>BILL TB12345678901234</Ustrd><Ustrd>THANK YOU</Ustrd></RmtInf>
    </TxDtls></NtryDtls>
   </Ntry>
  </Stmt>
 </BkToCstmrStmt>
</Document>"""


def test_an_older_version_reads_and_a_missing_end_to_end_id_falls_back_to_the_banks_reference():
    message = camt.parse(OLD_VERSION)
    assert message.version == "camt.053.001.02"
    (line,) = message.lines
    assert (line.key, line.end_to_end_id, line.amount_cents) == ("ASR:ASR-OLD-1", "", 35050)
    assert line.booked_at is None and line.booking_date == dt.date(2026, 12, 4)
    assert line.remittance == "BILL TB12345678901234 THANK YOU" and line.debtor_name == "LEE K* Y**"
    assert message.reports[0].account == "HK00DEMO0000000000000001"


@pytest.mark.parametrize(
    "data, code, where",
    [
        (b"", "statement_unreadable", None),
        (b"<Document><unclosed></Document>", "statement_unreadable", None),
        (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "xx">]>'
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">&x;</Document>',
            "statement_unreadable",
            None,
        ),
        (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"/>', "statement_schema_invalid", None),
        (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.99"/>', "statement_schema_invalid", None),
        (OLD_VERSION.replace(b"<MsgId>OLD-1</MsgId>", b""), "statement_schema_invalid", "GrpHdr/MsgId"),
        (OLD_VERSION.replace(b">350.50000<", b">350.505<"), "statement_schema_invalid", "Stmt/Ntry/Amt"),
        (OLD_VERSION.replace(b">350.50000<", b">-350.50<"), "statement_schema_invalid", "Stmt/Ntry/Amt"),
        (OLD_VERSION.replace(b"<Sts>BOOK</Sts>", b"<Sts>PDNG</Sts>"), "statement_schema_invalid", "Stmt/Ntry/Sts"),
        (
            OLD_VERSION.replace(b"<CdtDbtInd>CRDT</CdtDbtInd><Sts>", b"<CdtDbtInd>CR</CdtDbtInd><Sts>"),
            "statement_schema_invalid",
            "Stmt/Ntry/CdtDbtInd",
        ),
        (
            OLD_VERSION.replace(b"<ValDt><Dt>2026-12-04</Dt>", b"<ValDt><Dt>04/12/2026</Dt>"),
            "statement_schema_invalid",
            "Stmt/Ntry/ValDt/Dt",
        ),
        (
            OLD_VERSION.replace(b"<AcctSvcrRef>ASR-OLD-1</AcctSvcrRef>", b""),
            "statement_schema_invalid",
            "Stmt/Ntry/NtryDtls/TxDtls",
        ),
        (
            OLD_VERSION.replace(b"<BkTxCd><Prtry><Cd>FPS</Cd></Prtry></BkTxCd>", b""),
            "statement_schema_invalid",
            "Stmt/Ntry/BkTxCd",
        ),
        (OLD_VERSION.replace(b">350.50</Amt>", b">350.49</Amt>"), "statement_schema_invalid", "Stmt/Bal"),
        (
            OLD_VERSION.replace(b"THANK YOU", b"X" * 141),
            "statement_schema_invalid",
            "Stmt/Ntry/NtryDtls/TxDtls/RmtInf/Ustrd",
        ),
    ],
)
def test_bad_files_are_refused_whole_with_their_problems(data, code, where):
    error = _refused(data)
    assert error.code == code
    if where:
        problems = error.details["problems"]
        assert any(p["path"] == where for p in problems), problems
        assert all(p["line"] for p in problems)


def test_a_statement_whose_summary_disagrees_with_its_entries_is_refused():
    data = s.statement([_t(), _t()], day=BOOKED.date())
    tampered = data.replace(b"<NbOfNtries>2</NbOfNtries>", b"<NbOfNtries>3</NbOfNtries>", 1)
    problems = _refused(tampered).details["problems"]
    assert [p["path"] for p in problems] == ["Stmt/TxsSummry/TtlNtries/NbOfNtries"]
    tampered = data.replace(b"<Sum>700.00</Sum>", b"<Sum>700.01</Sum>", 1)
    assert [p["path"] for p in _refused(tampered).details["problems"]] == ["Stmt/TxsSummry/TtlNtries/Sum"]


def test_problems_are_listed_up_to_a_limit():
    data = s.statement([_t() for _ in range(30)], day=BOOKED.date()).replace(b"<Cd>BOOK</Cd>", b"<Cd>XXXX</Cd>")
    error = _refused(data)
    assert len(error.details["problems"]) == camt.MAX_PROBLEMS and error.details["more"] is True


ACCEPT_ANYTHING = """<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
 targetNamespace="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08" elementFormDefault="qualified">
 <xs:element name="Document"><xs:complexType><xs:sequence>
  <xs:any processContents="skip" minOccurs="0" maxOccurs="unbounded"/>
 </xs:sequence></xs:complexType></xs:element>
</xs:schema>"""

WANTS_SOMETHING_ELSE = """<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
 targetNamespace="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08" elementFormDefault="qualified">
 <xs:element name="Document"><xs:complexType><xs:sequence>
  <xs:element name="SomethingElse" type="xs:string"/>
 </xs:sequence></xs:complexType></xs:element>
</xs:schema>"""


def test_an_official_schema_put_in_the_folder_is_applied(settings, tmp_path):
    data = s.statement([_t()], day=BOOKED.date())
    settings.TUNGBAN_PAYMENTS_CAMT_XSD_DIR = str(tmp_path)
    (tmp_path / "camt.053.001.08.xsd").write_text(ACCEPT_ANYTHING)
    assert camt.parse(data).schema_checked
    assert not camt.parse(s.notification(_t())).schema_checked  # no camt.054 schema there
    (tmp_path / "camt.053.001.08.xsd").write_text(WANTS_SOMETHING_ELSE)
    error = _refused(data)
    assert error.code == "statement_schema_invalid" and error.details["problems"][0]["path"] == "XSD"
