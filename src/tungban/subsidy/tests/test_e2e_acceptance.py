"""Issue 20, acceptance 1: the whole chain end to end in headless Chromium at phone width, on
the one-node Slurm cluster of ``scripts/slurm-cluster`` (skipped without ``TUNGBAN_SLURM=1``).

1. The director of Sha Tin Sample University (demo company register and register of eligible
   institutions, seed 000 §11(a); a CorpID mandate for ``cyberport/ai-subsidy-scheme`` with the
   actions ``apply`` and ``sign``) applies through the e-services portal "for a company"
   (seed 002 ITIB229: organisations only).
2. The Cyberport secretariat marks it complete and recommends (seed 000 §13, §15).
3. The batch's committee meeting exists (``committees.services.create_meeting``); the
   secretariat puts the application on its agenda; the member whose organisation is the
   university (same BRN) is recused at once: "recused", no scoring form (seed 000 §12).
4. The other members score the four criteria (seed 000 §13); the chair approves at 80%, an
   exceptional case with its reasons in both languages (seed 000 §13: up to 90%), with the
   decision's reasons, through the committee's decision form (``AwardTermsForm``).
5. The grantee signs the agreement on ``/subsidy/grants/<award>/`` (seed 000 §21); the first
   month's co-payment invoice is issued as a payments order, its amount on the grant page:
   node-months × price × (1 − 0.8).
6. The scheduler account exists on Slurm with the schedule's GPU-minutes
   (``sacctmgr show assoc``: ``gres/gpu=<nodes × 8 GPUs × days × 1440>``); a job charged to it
   runs to completion, ``compute.services.sync_usage`` imports it and the grant page shows the
   usage; a job past the limit is held by Slurm (22.05: pending, reason
   ``AssocGrpGRESMinutes``).

Test-only steps, said here: the award is 1 node for the current month (the account opens on
the award's first day; a later month would leave it pending until then). A month of one node is
far too many GPU-minutes to exhaust in a test, so the account's limit is lowered with
``compute.services.set_limit`` to just above the first job's usage, as the compute tests do.
The grantee names its cluster user on the grant page ("Cluster users"): the test's own OS
user (the one ``compute/tests/test_slurm.py`` submits as, the only user the test cluster's
node knows), which the compute app's task adds to the account (``sacctmgr show assoc``).
The first job uses 8 GPUs for 8 s (≥ 1 GPU-minute) rather than 1 GPU for 1 s, so that the usage
shown is not 0. Queued tasks run in the test process (``tungban.testing.tasks``).
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import re
import subprocess
import time
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext

from tungban.committees import services as committees
from tungban.committees.management.commands.load_committee import DEFAULT as COMMITTEE_FILE
from tungban.committees.models import AgendaItem, Member
from tungban.compute import services as compute
from tungban.compute.models import Account, AccountState
from tungban.corpid.models import Mandate
from tungban.eservices.models import Application as EApplication
from tungban.payments.models import PaymentOrder
from tungban.subsidy import rules
from tungban.subsidy.constants import ApplicationState, AwardState
from tungban.subsidy.models import Application, Award, CoPaymentInvoice
from tungban.subsidy.services import intake, scheme
from tungban.testing.a11y import assert_no_violations
from tungban.testing.browser import TIMEOUT, add_virtual_authenticator, approval_url, bind_web_app, code_shown
from tungban.testing.factories import staff_login_page, staff_user
from tungban.testing.tasks import run_queued_tasks
from tungban.wallet import services as wallet

from .intake_helpers import UNIVERSITY, director_of, secretariat, setup_scheme

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slurm,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        os.environ.get("TUNGBAN_SLURM") != "1" or not os.environ.get("SLURM_CONF"),
        reason="no Slurm test cluster: run scripts/slurm-cluster start and set TUNGBAN_SLURM=1 and SLURM_CONF",
    ),
]

PHONE = {"width": 390, "height": 844}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SLURM_TIMEOUT = 300  # seconds for any condition on the cluster (the machine may be loaded)
ME = getpass.getuser()
RATE = Decimal("0.80")
PRICE = Decimal("320000")


@pytest.fixture(autouse=True)
def slurm(settings):
    settings.TUNGBAN_SCHEDULER = "slurm"
    settings.TUNGBAN_SLURM_CLUSTER = "tungban"
    settings.TUNGBAN_SLURM_CONF = os.environ["SLURM_CONF"]
    settings.TUNGBAN_TASK_MAX_ATTEMPTS = 1


def _run(*args: str) -> str:
    done = subprocess.run(
        list(args), capture_output=True, text=True, env={**os.environ, "TZ": "UTC"}, timeout=120, check=False
    )
    assert done.returncode == 0, f"{args}: {done.stderr or done.stdout}"
    return done.stdout


def _until(what: str, check, timeout: float = SLURM_TIMEOUT):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout}s")
        time.sleep(0.5)


def _sacct_state(job_id: str) -> str:
    return (_run("sacct", "-X", "-n", "-P", "-j", job_id, "--format=State").split() or [""])[0]


def _submit(account: str, gpus: int, minutes: int, command: str) -> str:
    out = _run(
        "sbatch", "--parsable", f"--account={account}", f"--gres=gpu:{gpus}", f"--time={minutes}",
        "--output=/dev/null", f"--wrap={command}",
    )  # fmt: skip
    return out.strip().split(";")[0]


def _context(browser, locale):
    ctx = browser.new_context(locale=locale, viewport=PHONE)
    ctx.set_default_timeout(TIMEOUT)
    return ctx


def _page(browser, locale, errors):
    page = _context(browser, locale).new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page


def _continue(web, page_id):
    web.click("#continue")
    web.wait_for_url(re.compile(rf".*/page/{page_id}$"))


def _member(committee, username, *, role="member", brn="", name):
    user = staff_user("none", username=username)
    return Member.objects.create(
        committee=committee, user=user, display_name=name, role=role, sector="academia",
        organisation_brn=brn, organisation_name=f"Organisation {brn}" if brn else "",
        term_from=dt.date(2025, 1, 1), term_to=dt.date(2027, 12, 31),
    )  # fmt: skip


def _apply(web, phone, issuer, director, mandate, month, lang):
    """Step 1: the director applies for the university through the portal (as test_e2e_intake)."""
    web.goto(f"{issuer}/services/{intake.SLUG}/apply")
    web.click("#start-company")
    web.wait_for_selector("#open-app")
    link, code = approval_url(web), code_shown(web)
    phone.bring_to_front()
    phone.goto(link)
    phone.wait_for_selector("#screen-approve:not([hidden])")
    phone.wait_for_selector("#choice-set:not([hidden])")
    phone.check(f'#choice-options input[value="{mandate.public_id}"]')
    phone.fill("#approve-code", code)
    phone.click("#approve-button")
    phone.wait_for_selector("#result:not([hidden])")
    web.bring_to_front()
    web.wait_for_url(re.compile(r".*/services/my/CYBERPORT-[0-9A-Z]{4}-[0-9A-Z]{5}/page/organisation$"))
    web.check("input[name=category][value=university]")
    web.check("input[name=non_profit][value=true]")
    web.set_input_files("#f-evidence", files=[{"name": "evidence.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    _continue(web, "project")
    web.fill("#f-project_title_en", "Cantonese speech model")
    web.fill("#f-project_title_zh", "粵語語音模型")
    web.fill("#f-project_summary", "A speech model for Cantonese.")
    _continue(web, "team")
    web.fill("#f-team", "Five researchers.")
    web.fill("#f-track_record", "Two published speech models.")
    _continue(web, "compute")
    web.check("input[name=service_class][value=h800]")
    web.fill("#f-compute_months-0-month", month.strftime("%Y-%m"))
    web.fill("#f-compute_months-0-nodes", "1")
    _continue(web, "justification")
    web.fill("#f-model_size", "7 billion parameters")
    web.fill("#f-dataset", "2 trillion tokens")
    web.check("input[name=precision][value=bf16]")
    web.check("input[name=workload][value=training]")
    web.fill("#f-justification", "Fine-tuning takes a month on one node.")
    _continue(web, "costs")
    web.fill("#f-cost_items-0-description", "Computing power")
    web.fill("#f-cost_items-0-amount", "320000")
    web.check("input[name=cost_items__0__other_funding][value=false]")
    _continue(web, "attachments")
    web.set_input_files("#f-proposal", files=[{"name": "proposal.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    _continue(web, "declaration")
    web.check("#f-declaration")
    web.click("#continue")
    web.wait_for_url(re.compile(r".*/check$"))
    web.click("#submit")
    web.wait_for_selector("#state[data-state=submitted]")
    assert_no_violations(web, f"acceptance: the application submitted ({lang})")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_issue20_acceptance1_apply_recommend_recuse_score_approve_sign_invoice_and_compute(
    issuer, officer, e2e_browser, settings, tmp_path, lang, monkeypatch
):
    from tungban.eservices import portal

    # the test cluster knows only the runner's OS user (root in CI), a reserved name otherwise
    monkeypatch.setattr(compute, "RESERVED_USERS", compute.RESERVED_USERS - {ME})

    setup_scheme(settings, tmp_path)
    scheme.load_scheme(release_started=True)  # the price book, capacity and this year's funds (seed 000 §16)
    portal.ensure_portal()
    director, _ = director_of(officer, UNIVERSITY)
    mandate = Mandate.objects.get(holder=director)
    month = timezone.localdate().replace(day=1)
    locale = "en-GB" if lang == "en" else "zh-HK"
    errors: list[str] = []

    # 1. The university applies in a batch through the portal.
    web = _page(e2e_browser, locale, errors)
    phone_ctx = _context(e2e_browser, locale)
    phone = phone_ctx.new_page()
    phone.on("pageerror", lambda exc: errors.append(str(exc)))
    add_virtual_authenticator(phone_ctx, phone)
    bind_web_app(phone, issuer, director.hkid, wallet.issue_activation_code(director, officer))
    _apply(web, phone, issuer, director, mandate, month, lang)
    e_app = EApplication.objects.get(resident=director)
    app = Application.objects.get(reference=e_app.reference)
    assert app.state == ApplicationState.SUBMITTED and app.assessment.eligible and app.batch is not None

    # 3 (set-up). The batch's meeting, planned through committees.services; its members.
    committee = committees.load_committee(COMMITTEE_FILE)
    committee.members.filter(role="chair").update(role="member")
    chair = _member(committee, "acc-chair", role="chair", brn="20000000", name="Chair Person")
    recused = _member(committee, "acc-recused", brn=UNIVERSITY[0], name="Professor of the university")
    scorers = [_member(committee, f"acc-member{i}", brn=f"3000000{i}", name=f"Member {i}") for i in (1, 2)]
    meeting = committees.create_meeting(committee, intake.batch_label(app.batch), timezone.localdate(), quorum=3)

    # 2. The secretariat marks it complete, recommends, and puts it on the meeting's agenda.
    desk = _page(e2e_browser, locale, errors)
    staff_login_page(desk, issuer, secretariat(), f"/staff/subsidy/applications/{app.public_id}/")
    desk.click("#complete")
    desk.wait_for_selector("#state[data-state=complete]")
    desk.fill(f"#nodes-{month:%Y-%m}", "1")
    desk.fill("#price", str(PRICE))
    desk.fill("#rate", "70")
    desk.fill("#reasons_en", "A strong team and a clear need.")
    desk.fill("#reasons_zh", "團隊實力強，需要清晰。")
    desk.click("#recommend")
    desk.wait_for_selector("#state[data-state=recommended]")
    desk.click("#agenda")
    desk.wait_for_selector("#state[data-state=on_agenda]")
    assert_no_violations(desk, f"acceptance: on the agenda ({lang})")
    item = AgendaItem.objects.get(meeting=meeting, subject_id=str(app.public_id))
    committees.open_meeting(meeting, actor=chair.user)
    item_path = f"/staff/committees/items/{item.pk}/"

    # 3. The member of the university's own organisation is recused: no scoring form.
    page = _page(e2e_browser, locale, errors)
    staff_login_page(page, issuer, recused.user, item_path)
    page.wait_for_selector("#recused")
    assert page.locator("#score-form").count() == 0 and page.locator("#scores").count() == 0
    assert_no_violations(page, f"acceptance: the item, recused member ({lang})")
    with pytest.raises(Exception) as refused:
        committees.score(item, recused.user, "a", 9, "")
    assert getattr(refused.value, "code", "") == "member_conflicted"

    # 4. The other members score the four criteria (seed 000 §13).
    for member, values in zip(scorers, (("8", "7", "8", "9"), ("9", "8", "7", "8")), strict=True):
        page = _page(e2e_browser, locale, errors)
        staff_login_page(page, issuer, member.user, item_path)
        for code, value in zip("abcd", values, strict=True):
            page.fill(f"#id_score-c_{code}", value)
        page.click("#save-scores")
        page.wait_for_function("document.querySelector('#weighted-score').textContent.trim() !== ''")
    assert committees.weighted_score(item) is not None
    assert_no_violations(page, f"acceptance: the item scored ({lang})")

    # ... the chair approves at 80%: exceptional, with its reasons in both languages.
    page = _page(e2e_browser, locale, errors)
    staff_login_page(page, issuer, chair.user, item_path)
    page.check("#id_decision-outcome_0")  # approve
    page.fill("#id_decision-reasons_en", "A national-level Cantonese model with a strong team.")
    page.fill("#id_decision-reasons_zh", "團隊實力強，項目為具全港意義的粵語模型。")
    page.fill("#id_terms-schedule", f"{month:%Y-%m} 1")
    page.fill("#id_terms-price", str(PRICE))
    page.fill("#id_terms-rate_percent", "80")
    page.check("#id_terms-exceptional")
    page.fill("#id_terms-exceptional_reason_en", "Public research infrastructure for Cantonese language technology.")
    page.fill("#id_terms-exceptional_reason_zh", "為粵語語言科技建設公共研究基建。")
    assert_no_violations(page, f"acceptance: the decision form ({lang})")
    page.click("#record-decision")
    page.wait_for_selector('#item-state[data-state="approve"]')
    assert_no_violations(page, f"acceptance: the item approved ({lang})")
    award = Award.objects.get(application=app)
    assert (award.state, award.rate, award.exceptional) == (AwardState.OFFERED, RATE, True)
    app.refresh_from_db()
    assert app.state == ApplicationState.APPROVED

    # 5. The grantee signs on the grant page; the co-payment invoice is issued.
    grant_path = f"/subsidy/grants/{award.public_id}/"
    web.goto(f"{issuer}{grant_path}")
    assert_no_violations(web, f"acceptance: the grant page before signing ({lang})")
    web.click("#sign")
    web.wait_for_selector("#agreement")
    run_queued_tasks()  # the invoice's order and the scheduler account (parts A, B)
    co_payment = (Decimal(1) * PRICE * (1 - RATE)).quantize(Decimal("0.01"))  # node-months × price × (1 − rate)
    invoice = CoPaymentInvoice.objects.get(award=award, month=month)
    assert (invoice.state, invoice.amount) == ("issued", co_payment)
    order = PaymentOrder.objects.get(reference=invoice.order_reference)
    assert order.purpose == "subsidy.co_payment" and order.amount_cents == int(co_payment * 100)
    web.goto(f"{issuer}{grant_path}")
    assert f"HK${co_payment:,.2f}" in web.text_content("#invoices")
    pay = web.locator(f'#invoices a[href="{grant_path}invoices/{invoice.id}/pay/"]')
    assert pay.count() == 1  # the grant's pay route checks the payer's mandate, then the order's page
    assert_no_violations(web, f"acceptance: the grant page signed ({lang})")
    pay.click()
    web.wait_for_url(f"**/pay/{order.id}/")

    # 6. The account on Slurm with the schedule's GPU-minutes.
    award.refresh_from_db()
    acct = award.account
    expected = rules.gpu_minutes({month: 1}, 8)
    assert expected == 8 * 1440 * ((month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - month).days
    assert Account.objects.get(name=acct).state == AccountState.ACTIVE
    out = _run("sacctmgr", "-n", "-P", "show", "assoc", f"account={acct}", "format=Account,GrpTRESMins")
    assert f"{acct}|gres/gpu={expected}" in out.splitlines()

    # The grantee names its cluster user on the grant page (see the module's docstring).
    web.goto(f"{issuer}{grant_path}")
    web.fill("#cluster-user", ME)
    web.click("#add-cluster-user button[type=submit]")
    web.wait_for_selector("#cluster-users-table")
    run_queued_tasks()  # sacctmgr add user (compute.user_task)
    assert ME in {line.split("|")[1] for line in _run(
        "sacctmgr", "-n", "-P", "show", "assoc", f"account={acct}", "format=Account,User"
    ).splitlines()}  # fmt: skip
    web.goto(f"{issuer}{grant_path}")
    assert ME in web.text_content("#cluster-users-table")
    assert_no_violations(web, f"acceptance: the grant page with its cluster user ({lang})")
    # 8 GPUs × ≥ 8 s = at least one GPU-minute.
    job = _submit(acct, 8, 1, "sleep 8")
    _until("the job completes", lambda: _sacct_state(job) in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"))
    assert _sacct_state(job) == "COMPLETED"
    assert compute.sync_usage() >= 1
    used = compute.usage(acct)["used_gpu_minutes"]
    assert used >= 1
    web.goto(f"{issuer}{grant_path}")
    with translation.override("en" if lang == "en" else "zh-hant"):
        shown = gettext("%(used)s of %(limit)s GPU-minutes used.") % {"used": used, "limit": expected}
    assert shown in web.text_content("#usage")

    # Past the limit: lowered to just above the usage, a 16 GPU-minute job is held by Slurm.
    compute.set_limit(acct, used + 2, reason="lowered so that a test job can pass it (acceptance test)")
    run_queued_tasks()
    over = _submit(acct, 8, 2, "sleep 1")
    try:
        reason = _until(
            "the job waits on the limit",
            lambda: (
                (r := _run("squeue", "-h", "-j", over, "-o", "%T|%r").strip()) == "PENDING|AssocGrpGRESMinutes" and r
            ),
        )
        assert reason == "PENDING|AssocGrpGRESMinutes"
    finally:
        subprocess.run(["scancel", over], check=False)
    assert not errors, errors
