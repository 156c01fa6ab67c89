"""Officers' e-licence pages (/staff/credentials/) and the public 認證易 page (/verify/)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tungban.credentials import pdf, services
from tungban.credentials.models import Credential, IssuanceBatch, Issuer
from tungban.credentials.tests.conftest import make_holder
from tungban.credentials.verify import DatabaseTrust, verify_presentation
from tungban.identity import hkid as hkid_mod
from tungban.testing.factories import login_staff, make_officer, staff_user, valid_hkid

SENIOR = "senior-citizen-card"


def _officer_of(*issuer_ids):
    user = make_officer()
    for issuer_id in issuer_ids:
        Issuer.objects.get(id=issuer_id).officers.add(user)
    return user


@pytest.fixture
def swd_client(client, bundled):
    login_staff(client, _officer_of("swd"))
    return client


@pytest.fixture
def csb_client(client, bundled):
    login_staff(client, _officer_of("csb"))
    return client


def _en(client):
    client.cookies["tungban_language"] = "en"
    return client


def _zh(client):
    client.cookies["tungban_language"] = "zh-hant"
    return client


def _field_error(html: str, field_id: str) -> str:
    match = re.search(rf'<ul class="errorlist"[^>]*id="{field_id}_error"[^>]*>(.*?)</ul>', html, re.S)
    return match.group(1) if match else ""


# --------------------------------------------------------------------------- access


def test_officer_pages_need_a_staff_login(client, bundled):
    resp = client.get("/staff/credentials/")
    assert resp.status_code == 302 and "/admin/login/" in resp["Location"]
    assert client.get("/verify/").status_code == 200  # 認證易 is public


def test_staff_user_of_no_issuer_gets_403(client, bundled):
    login_staff(client, make_officer())
    assert client.get("/staff/credentials/").status_code == 403


def test_officer_of_another_issuer_gets_403(csb_client, senior_card):
    base = f"/staff/credentials/{senior_card.id}"
    assert csb_client.get(f"/staff/credentials/issue/{SENIOR}").status_code == 403
    resp = csb_client.post(
        f"/staff/credentials/issue/{SENIOR}", {"hkid": make_holder().resident.hkid, "claim_card_number": "SC00000001"}
    )
    assert resp.status_code == 403
    assert csb_client.get(f"/staff/credentials/bulk/{SENIOR}").status_code == 403
    assert csb_client.get(f"/staff/credentials/bulk/{SENIOR}/sample.csv").status_code == 403
    assert csb_client.get(base).status_code == 403
    assert csb_client.get(f"{base}/pdf").status_code == 403
    assert csb_client.post(f"{base}/status", {"status": "revoked"}).status_code == 403
    assert Credential.objects.count() == 1
    senior_card.refresh_from_db()
    assert senior_card.status == "valid"
    # Their own types are fine, and the search does not find other departments' credentials.
    assert csb_client.get("/staff/credentials/issue/cre-result").status_code == 200
    resp = csb_client.get("/staff/credentials/", {"q": str(senior_card.id)})
    assert resp.status_code == 200 and f'href="/staff/credentials/{senior_card.id}"' not in resp.content.decode()


def test_unknown_type_is_404(swd_client):
    assert swd_client.get("/staff/credentials/issue/no-such-type").status_code == 404


def test_links_from_the_home_pages(client, officer, bundled):
    assert 'href="/verify/"' in client.get("/").content.decode()
    login_staff(client, officer)
    assert 'href="/staff/credentials/"' in client.get("/staff/").content.decode()


# --------------------------------------------------------------------------- home and search


def test_home_lists_issuer_types_search_and_recent(swd_client, senior_card):
    html = _en(swd_client).get("/staff/credentials/").content.decode()
    assert "Social Welfare Department" in html and "Senior Citizen Card" in html
    assert f'href="/staff/credentials/issue/{SENIOR}"' in html and f'href="/staff/credentials/bulk/{SENIOR}"' in html
    assert "cre-result" not in html  # the Civil Service Bureau's types are not theirs
    assert str(senior_card.id) in html  # recently issued
    # By HKID number, in any spelling.
    hkid = hkid_mod.display(senior_card.holder.hkid).lower()
    html = swd_client.get("/staff/credentials/", {"q": hkid}).content.decode()
    assert (
        'id="search-results"' in html
        and f'href="/staff/credentials/{senior_card.id}"' in html
        and 'data-status="valid"' in html
    )
    # By id.
    html = swd_client.get("/staff/credentials/", {"q": str(senior_card.id)}).content.decode()
    assert 'id="search-results"' in html
    # A bad HKID number is explained.
    html = swd_client.get("/staff/credentials/", {"q": "A123456(4)"}).content.decode()
    assert "check digit" in html and 'id="search-results"' not in html


def test_superuser_sees_every_issuer(client, bundled):
    login_staff(client, staff_user("admin", username="root"))
    html = _en(client).get("/staff/credentials/").content.decode()
    assert "Social Welfare Department" in html and "Civil Service Bureau" in html and "Fire Services Department" in html


# --------------------------------------------------------------------------- issuing one


def test_issue_form_is_built_from_the_schema(csb_client):
    html = _en(csb_client).get("/staff/credentials/issue/cre-result").content.decode()
    assert 'id="id_hkid"' in html and 'id="issue-submit"' in html
    assert re.search(r'<input type="date" name="claim_exam_date"[^>]*id="id_claim_exam_date"', html)
    assert re.search(r'<select name="claim_use_of_english"[^>]*id="id_claim_use_of_english"', html)
    assert '<option value="Level 2">' in html
    assert re.search(r'<input type="text" name="claim_candidate_number"[^>]*id="id_claim_candidate_number"', html)
    assert "Use of English" in html and "Candidate number" in html
    assert "claim_family_name" not in html  # filled from the holder's account
    html = csb_client.get("/staff/credentials/issue/bl-nsl-test-result").content.decode()
    assert re.search(r'<input type="number" name="claim_score"[^>]*min="0"', html)
    # Labels in Chinese.
    html = _zh(csb_client).get("/staff/credentials/issue/cre-result").content.decode()
    assert "英文運用" in html and "考生編號" in html


def test_issue_one_success_goes_to_the_detail_page(swd_client, holder):
    resp = _en(swd_client).post(
        f"/staff/credentials/issue/{SENIOR}",
        {"hkid": hkid_mod.display(holder.resident.hkid), "claim_card_number": "SC12345678"},
    )
    credential = Credential.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/staff/credentials/{credential.id}"
    assert credential.holder == holder.resident and credential.issued_by.startswith("officer:")
    assert services.issued_claims(credential)["card_number"] == "SC12345678"
    html = swd_client.get(resp["Location"]).content.decode()
    assert 'id="credential-status" data-status="valid"' in html
    assert "SC12345678" in html and "Card number" in html and "CHAN" in html
    assert hkid_mod.masked(holder.resident.hkid) in html and holder.resident.hkid not in html
    assert f'id="log-index" data-leaf="{credential.log_index}"' in html
    assert f'id="download-pdf" href="/staff/credentials/{credential.id}/pdf"' in html


@pytest.mark.parametrize(
    ("hkid", "card", "field", "text"),
    [
        ("A123456(4)", "SC12345678", "id_hkid", "check digit"),
        ("not an id", "SC12345678", "id_hkid", "An HKID number is 1 or 2 letters"),
        ("UNKNOWN", "SC12345678", "id_hkid", "No account exists"),
        ("YOUNG", "SC12345678", "id_hkid", "at least 65"),
        ("HOLDER", "12345", "id_claim_card_number", "not in the right form"),
        ("HOLDER", "", "id_claim_card_number", "required"),
    ],
)
def test_issue_one_field_errors_issue_nothing(swd_client, holder, hkid, card, field, text):
    if hkid == "UNKNOWN":
        hkid = valid_hkid("Z")
    elif hkid == "YOUNG":
        hkid = make_holder(date_of_birth=dt.date(1990, 1, 1)).resident.hkid
    elif hkid == "HOLDER":
        hkid = holder.resident.hkid
    resp = _en(swd_client).post(f"/staff/credentials/issue/{SENIOR}", {"hkid": hkid, "claim_card_number": card})
    assert resp.status_code == 400
    html = resp.content.decode()
    assert text in _field_error(html, field), html
    assert 'aria-invalid="true"' in html
    assert Credential.objects.count() == 0


def test_issue_errors_in_chinese(swd_client):
    resp = _zh(swd_client).post(
        f"/staff/credentials/issue/{SENIOR}", {"hkid": "A123456(4)", "claim_card_number": "SC12345678"}
    )
    assert "檢查碼" in _field_error(resp.content.decode(), "id_hkid")
    assert Credential.objects.count() == 0


def test_issue_with_enum_and_date_claims(csb_client, holder):
    resp = csb_client.post(
        "/staff/credentials/issue/cre-result",
        {
            "hkid": holder.resident.hkid,
            "claim_candidate_number": "12345678",
            "claim_exam_date": "2025-03-01",
            "claim_use_of_chinese": "Level 2",
            "claim_use_of_english": "",
            "claim_aptitude_test": "Pass",
        },
    )
    assert resp.status_code == 302
    claims = services.issued_claims(Credential.objects.get())
    assert (
        claims["use_of_chinese"] == "Level 2" and claims["exam_date"] == "2025-03-01" and "use_of_english" not in claims
    )


# --------------------------------------------------------------------------- bulk


def _bulk_csv(good: list, bad_hkid: str = "A123456(4)") -> bytes:
    lines = ["hkid,card_number"]
    lines += [f"{hkid_mod.display(h.resident.hkid)},SC{n:08d}" for n, h in enumerate(good, start=1)]
    lines += [
        f"{bad_hkid},SC00000099",
        f"{good[0].resident.hkid[:-1]}{'0' if good[0].resident.hkid[-1] != '0' else '1'},SC00000098",
    ]
    return ("\n".join(lines) + "\n").encode()


def _with_bad_card(data: bytes, holder) -> bytes:
    return data + f"{holder.resident.hkid},SC12\n".encode()


@pytest.fixture
def three_holders(bundled):
    return [make_holder() for _ in range(3)]


def test_bulk_page_shows_format_and_sample(swd_client):
    html = _en(swd_client).get(f"/staff/credentials/bulk/{SENIOR}").content.decode()
    for element in (
        'id="id_file"',
        'id="id_issue_valid_rows"',
        'id="bulk-submit"',
        'id="csv-header"',
        'id="sample-csv"',
    ):
        assert element in html
    assert ">hkid,card_number</pre>" in html
    assert "Issue the valid rows and skip the invalid ones" in html
    resp = swd_client.get(f"/staff/credentials/bulk/{SENIOR}/sample.csv")
    assert resp["Content-Type"].startswith("text/csv")
    text = resp.content.decode("utf-8-sig")
    assert text.splitlines() == ["hkid,card_number", "A123456(3),SC12345678"]
    rows, errors = services.read_csv(services.get_type(SENIOR), resp.content)
    assert len(rows) == 1 and errors == []


def test_bulk_with_bad_rows_lists_every_error_and_issues_nothing(swd_client, three_holders, run_tasks):
    good = three_holders
    data = _with_bad_card(_bulk_csv(good[:2]), good[2])
    resp = _en(swd_client).post(
        f"/staff/credentials/bulk/{SENIOR}", {"file": SimpleUploadedFile("seniors.csv", data, "text/csv")}
    )
    assert resp.status_code == 302
    run_tasks()
    html = _en(swd_client).get(resp["Location"]).content.decode()
    assert "Nothing was issued." in html and 'id="rejected-rows"' in html
    table = html.split('id="rejected-rows"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr data-row="(\d+)" data-code="([a-z_]+)"><td>\d+</td><td>([^<]*)</td><td>([^<]*)</td>', table)
    assert [(r[0], r[1].split("_")[0], r[2]) for r in rows] == [
        ("4", "hkid", "hkid"),
        ("5", "hkid", "hkid"),
        ("6", "claims", "card_number"),
    ]
    assert "check digit" in rows[0][3]
    assert Credential.objects.count() == 0 and IssuanceBatch.objects.get().state == "rejected"


def test_bulk_three_good_two_bad(swd_client, three_holders, run_tasks):
    """The brief's case: 3 good rows and 2 bad → rejected whole; then issued with the box ticked."""
    lines = [
        "hkid,card_number",
        *[f"{h.resident.hkid},SC0000000{n}" for n, h in enumerate(three_holders, start=1)],
        "A123456(4),SC00000009",
        f"{make_holder().resident.hkid},SCX",
    ]
    data = ("\r\n".join(lines) + "\r\n").encode()
    resp = _en(swd_client).post(f"/staff/credentials/bulk/{SENIOR}", {"file": SimpleUploadedFile("s.csv", data)})
    assert resp.status_code == 302
    run_tasks()
    html = _en(swd_client).get(resp["Location"]).content.decode()
    assert html.count('<tr data-row="') == 2 and 'data-row="5"' in html and 'data-row="6"' in html
    assert "2 rows of 5 are invalid." in html
    assert Credential.objects.count() == 0

    resp = swd_client.post(
        f"/staff/credentials/bulk/{SENIOR}", {"file": SimpleUploadedFile("s.csv", data), "issue_valid_rows": "on"}
    )
    batch = IssuanceBatch.objects.get(issue_valid_rows=True)
    assert resp.status_code == 302 and resp["Location"] == f"/staff/credentials/batches/{batch.id}"
    queued = swd_client.get(resp["Location"]).content.decode()
    assert 'data-state="queued"' in queued and 'http-equiv="refresh"' in queued and "<progress" in queued
    run_tasks()
    batch.refresh_from_db()
    assert batch.state == "done" and 'http-equiv="refresh"' not in swd_client.get(resp["Location"]).content.decode()
    assert Credential.objects.count() == 3 and batch.rows_issued == 3 and batch.rows_rejected == 2
    assert {c.holder for c in Credential.objects.all()} == {h.resident for h in three_holders}
    html = swd_client.get(resp["Location"]).content.decode()
    assert '<dd id="rows-issued">3</dd>' in html and '<dd id="rows-rejected">2</dd>' in html
    assert 'id="rejected-rows"' in html and 'data-row="5"' in html and 'data-row="6"' in html
    assert html.count("<tr data-credential=") == 3
    # The officers' home lists the batch.
    home = swd_client.get("/staff/credentials/").content.decode()
    assert f'href="/staff/credentials/batches/{batch.id}"' in home and '<td data-state="done">' in home


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"A123456(3),SC12345678\n", "including “hkid”"),
        ("hkid,card_number\nA123456(3),SC1234567é\n".encode("latin-1"), "not UTF-8"),
        (b"hkid,card_number,colour\n", "Unknown column"),
        (b"hkid,card_number\n", "no rows"),
    ],
)
def test_bulk_malformed_file_is_explained(swd_client, data, text):
    resp = _en(swd_client).post(f"/staff/credentials/bulk/{SENIOR}", {"file": SimpleUploadedFile("bad.csv", data)})
    assert resp.status_code == 400
    assert text in _field_error(resp.content.decode(), "id_file")
    assert Credential.objects.count() == 0


def test_bulk_requires_a_file(swd_client):
    resp = swd_client.post(f"/staff/credentials/bulk/{SENIOR}", {})
    assert resp.status_code == 400 and _field_error(resp.content.decode(), "id_file")


# --------------------------------------------------------------------------- status changes


def test_revoke_from_the_detail_page(swd_client, senior_card, holder):
    url = f"/staff/credentials/{senior_card.id}"
    html = _en(swd_client).get(url).content.decode()
    assert (
        'id="revoke"' in html and 'id="suspend"' in html and 'id="reinstate"' not in html
    )  # the reason is asked on the confirmation page (test_status_confirmation.py)
    assert "Revocation is final" in html
    resp = swd_client.post(f"{url}/status", {"status": "revoked", "reason": "Card holder deceased", "confirm": "on"})
    assert resp.status_code == 302 and resp["Location"].startswith(url)
    senior_card.refresh_from_db()
    assert senior_card.status == "revoked"
    html = swd_client.get(url).content.decode()
    assert 'id="credential-status" data-status="revoked"' in html
    history = html.split('id="status-history"', 1)[1].split("</table>", 1)[0]
    assert 'data-status="revoked"' in history and "Card holder deceased" in history
    assert 'id="revoke"' not in html and 'id="reinstate"' not in html and 'id="suspend"' not in html
    result = verify_presentation(holder.present(senior_card.sd_jwt, None), DatabaseTrust())
    assert not result.valid and "credential_revoked" in result.codes()
    # Revocation is final, even when posted by hand.
    swd_client.post(f"{url}/status", {"status": "valid"})
    senior_card.refresh_from_db()
    assert senior_card.status == "revoked"


def test_suspend_then_reinstate(swd_client, senior_card):
    url = f"/staff/credentials/{senior_card.id}"
    swd_client.post(f"{url}/status", {"status": "suspended", "reason": "under review"})
    html = _en(swd_client).get(url).content.decode()
    assert (
        'data-status="suspended"' in html
        and 'id="reinstate"' in html
        and 'id="revoke"' in html
        and 'id="suspend"' not in html
    )
    swd_client.post(f"{url}/status", {"status": "valid"})
    senior_card.refresh_from_db()
    assert senior_card.status == "valid"
    assert senior_card.status_changes.count() == 2


def test_officer_pdf_download(swd_client, senior_card):
    resp = swd_client.get(f"/staff/credentials/{senior_card.id}/pdf")
    assert resp.status_code == 200 and resp["Content-Type"] == "application/pdf"
    assert resp.content.startswith(b"%PDF")


# --------------------------------------------------------------------------- 認證易


def _verify(client, text):
    return client.post("/verify/", {"credential": text})


def _region(html: str) -> str:
    return html.split('<section id="verification"', 1)[1].split("</section>", 1)[0]


def test_verify_page_form(client, db):
    html = _en(client).get("/verify/").content.decode()
    assert '<textarea name="credential"' in html and 'id="credential"' in html and 'id="verify-submit"' in html
    assert "Paste the certificate&#x27;s text or its link" in html or "Paste the certificate's text or its link" in html
    assert 'id="scan-button" hidden' in html and "credentials/verify.js" in html
    assert 'id="verification"' not in html


def test_verify_valid_then_revoked_in_english(client, senior_card, holder):
    presentation = holder.present(senior_card.sd_jwt, ["given_name", "family_name", "card_number"])
    resp = _verify(_en(client), presentation)
    assert resp.status_code == 200 and resp["Cache-Control"] == "no-store"
    html = resp.content.decode()
    assert '<section id="verification" data-valid="true" data-status="valid"' in html and 'aria-live="polite"' in html
    region = _region(html)
    assert ">Valid<" in region and "Senior Citizen Card" in region and "Social Welfare Department" in region
    assert "Card number" in region and "SC12345678" in region and "Tai Man" in region
    assert "1950-03-02" not in region  # not disclosed
    assert "3 other details were not shared." in region
    assert 'data-binding="verified"' in region
    assert 'data-included="true"' in region and f"entry {senior_card.log_index} of" in region
    issued = senior_card.issued_at.astimezone(pdf.HKT).strftime("%Y-%m-%d %H:%M")
    assert f"{issued} Hong Kong time" in region

    services.change_status(senior_card, "revoked", reason="lost", changed_by="officer:test")
    html = _verify(client, holder.present(senior_card.sd_jwt, None)).content.decode()
    assert '<section id="verification" data-valid="false" data-status="revoked"' in html
    region = _region(html)
    assert ">Not valid<" in region and 'data-code="credential_revoked"' in region
    assert "The issuer has revoked this credential." in region and ">Revoked<" in region


def test_verify_valid_then_revoked_in_chinese(client, senior_card, holder):
    html = _verify(_zh(client), holder.present(senior_card.sd_jwt, None)).content.decode()
    assert 'data-valid="true" data-status="valid"' in html
    region = _region(html)
    assert (
        "長者咭" in region
        and "社會福利署" in region
        and "長者咭號碼" in region
        and "陳大文" in region
        and "年滿六十五歲" in region
    )
    assert 'id="undisclosed"' not in region
    assert '<html lang="zh-Hant-HK">' in html
    services.change_status(senior_card, "revoked", changed_by="officer:test")
    html = _verify(client, holder.present(senior_card.sd_jwt, None)).content.decode()
    assert 'data-valid="false" data-status="revoked"' in html and 'data-code="credential_revoked"' in html


def test_verify_suspended(client, senior_card, holder):
    services.change_status(senior_card, "suspended", changed_by="officer:test")
    html = _verify(client, holder.present(senior_card.sd_jwt, None)).content.decode()
    assert 'data-valid="false" data-status="suspended"' in html and 'data-code="credential_suspended"' in html


def test_verify_paper_copy_link_says_check_the_id_card(client, senior_card):
    html = _verify(_en(client), pdf.qr_payload(senior_card)).content.decode()
    region = _region(html)
    assert 'data-valid="true"' in html and 'data-binding="not_presented"' in region
    assert "Check the holder&#x27;s HKID card." in region or "Check the holder's HKID card." in region


def test_verify_tampered_credential_is_not_valid(client, senior_card, holder):
    presentation = holder.present(senior_card.sd_jwt, None)
    jwt, rest = presentation.split("~", 1)
    header, payload, signature = jwt.split(".")
    forged = (
        ".".join([header, payload, signature[:-4] + ("AAAA" if not signature.endswith("AAAA") else "BBBB")])
        + "~"
        + rest
    )
    html = _verify(_en(client), forged).content.decode()
    assert 'data-valid="false"' in html and "Not valid" in html and 'data-code="' in html


def test_verify_malformed_input_is_a_form_error(client, db):
    resp = _verify(_en(client), "hello, this is not a certificate")
    assert resp.status_code == 400
    html = resp.content.decode()
    assert "This is not an e-certificate." in _field_error(html, "id_credential")
    assert 'id="verification"' not in html
    assert _verify(client, "").status_code == 400
