"""``tungban seed_subsidy [--seed N]``: demonstration data for the AI Subsidy Scheme's reports
(issue 20 acceptance 3): 30 applications across the five applicant categories (seed 000 §11)
in four batches — 20 approved with awards and monthly schedules, 4 rejected and 3 ineligible
with reasons in both languages, 3 still in assessment — and progress reports. The same seed
gives the same rows. Rows it made before (references ``AISS-SEED-…``) are replaced.

Awards go through the scheme's award path (``subsidy.services.awards.make_award``), so they
follow its rules (seed 000 §13: at most 70% of the price, 90% in an exceptional case with its
reasons; §10: at most 90% of a month's capacity subsidised; §16: within each year's release;
seed 002 ITIB229: HK$320,000 per node-month list price; ITIB153: projects of 1.5–12 months) and
the fund's ledger holds their commitments and the capacity plan their nodes. The active awards' usage is imported as job records through
the compute app (``compute.services.import_usage``).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction

from tungban.compute import services as compute
from tungban.subsidy.constants import ApplicantCategory, ApplicationState, AwardState
from tungban.subsidy.models import (
    Agreement,
    Application,
    Award,
    Batch,
    Call,
    CoPaymentInvoice,
    LedgerEntry,
    RequestedMonth,
    ServiceClass,
)
from tungban.subsidy.models_progress import ProgressReport
from tungban.subsidy.services import awards, progress, scheme

PREFIX = "AISS-SEED-"
ORGANISATIONS = {
    ApplicantCategory.UNIVERSITY: [
        ("The Seed University of Hong Kong", "種子香港大學"),
        ("Seed Polytechnic University", "種子理工大學"),
    ],
    ApplicantCategory.RD_INSTITUTION: [
        ("Seed AI Research Centre", "種子人工智能研究中心"),
        ("Seed InnoHK Laboratory", "種子InnoHK實驗室"),
    ],
    ApplicantCategory.GOVERNMENT_DEPARTMENT: [
        ("Seed Observatory", "種子天文台"),
        ("Seed Lands Department", "種子地政總署"),
    ],
    ApplicantCategory.AI_STARTUP: [
        ("Seed Models Limited", "種子模型有限公司"),
        ("Seed Vision Limited", "種子視覺有限公司"),
    ],
    ApplicantCategory.STRATEGIC_ENTERPRISE: [
        ("Seed Robotics Limited", "種子機械人有限公司"),
        ("Seed Biotech Limited", "種子生物科技有限公司"),
    ],
}
TOPICS = [
    ("Speech foundation model", "語音基座大模型"),
    ("Protein design model", "蛋白質設計模型"),
    ("Materials pre-training model", "材料預訓練模型"),
    ("Edge reasoning model", "邊緣推理模型"),
    ("Weather nowcasting model", "天氣臨近預報模型"),
    ("Medical imaging model", "醫學影像模型"),
]
REJECTIONS = [
    (
        "The compute requested is not justified by the model and dataset described.",
        "所申請算力與描述的模型及數據集不相稱。",
    ),
    ("The project's expected outcomes are not clear enough to assess.", "項目預期成果不夠清晰，無法評審。"),
    (
        "The budget double-counts a cost item funded by another government scheme.",
        "預算中有開支項目已獲其他政府資助計劃資助。",
    ),
    ("The team's track record in AI model training is not shown.", "未能顯示團隊在人工智能模型訓練方面的往績。"),
]
INELIGIBLE = [
    ("The organisation is not in an eligible category (seed 000 §11).", "機構不屬合資格類別。"),
    ("The start-up is not an incubatee or graduate of a listed programme.", "初創企業並非所列計劃的培育或畢業公司。"),
    ("Individuals cannot apply (seed 002 ITIB229).", "個人不可申請。"),
]
HKT = dt.timezone(dt.timedelta(hours=8))
#: The day the seeded records describe: progress reports due by then are submitted (most) or
#: left overdue; a fixed day, so that a seed gives the same rows whenever it runs.
AS_OF = dt.date(2026, 4, 30)


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=HKT)


def seed_data(number: int = 1) -> dict:
    """Make the seeded rows for ``number`` (deterministic), replacing earlier seeded ones.
    Returns counts: ``applications``, ``awards``, ``progress_reports``."""
    rng = random.Random(number)
    with transaction.atomic():
        seeded = Award.objects.filter(application__reference__startswith=PREFIX)
        ProgressReport.objects.filter(award__in=seeded).delete()
        # The seed's own rows only: its awards' commitments go with them, so that seeding again
        # leaves the ledger equal to the awards (the ledger is append-only for real awards).
        LedgerEntry.objects.filter(award__in=seeded).delete()
        CoPaymentInvoice.objects.filter(award__in=seeded).delete()
        Agreement.objects.filter(award__in=seeded).delete()
        seeded.delete()
        Application.objects.filter(reference__startswith=PREFIX).delete()
        # The scheme's bundled classes of service, price book and capacity plan, and the funds
        # of the years begun by AS_OF released (seed 000 §16): what make_award checks against.
        scheme.load_scheme(release_started=True, today=AS_OF)
        node = ServiceClass.objects.get(code="h800")
        call, _c = Call.objects.get_or_create(
            code="aiss-2024",
            defaults={
                "title_en": "AI Subsidy Scheme",
                "title_zh": "人工智能資助計劃",
                "opens_on": dt.date(2024, 10, 7),
                "closes_on": dt.date(2027, 3, 31),
            },
        )
        batches = []
        for n, (cut, meeting) in enumerate(
            [
                (dt.date(2024, 11, 30), dt.date(2025, 1, 20)),
                (dt.date(2025, 2, 28), dt.date(2025, 4, 22)),
                (dt.date(2025, 6, 30), dt.date(2025, 8, 25)),
                (dt.date(2025, 10, 31), dt.date(2025, 12, 22)),
            ],
            start=1,
        ):
            batch, _c = Batch.objects.get_or_create(
                call=call, number=n, defaults={"cut_off": _at(cut, 18), "meeting_on": meeting}
            )
            batches.append(batch)

        categories = [c for c in ApplicantCategory for _i in range(6)]
        rng.shuffle(categories)
        outcomes = ["approved"] * 20 + ["rejected"] * 4 + ["ineligible"] * 3 + ["pending"] * 3
        rng.shuffle(outcomes)
        made = 0
        for i, (category, outcome) in enumerate(zip(categories, outcomes, strict=True)):
            batch = batches[i % 3] if outcome != "pending" else batches[3]
            previous_cut = batches[batch.number - 2].cut_off.date() if batch.number > 1 else dt.date(2024, 10, 7)
            submitted = _at(previous_cut + dt.timedelta(days=rng.randint(1, 55)), rng.randint(9, 17))
            name_en, name_zh = rng.choice(ORGANISATIONS[category])
            topic_en, topic_zh = rng.choice(TOPICS)
            app = Application(
                reference=f"{PREFIX}{number:03d}-{i + 1:02d}",
                batch=batch,
                br_number=f"{70000000 + number * 100 + i:08d}",
                organisation_name_en=name_en,
                organisation_name_zh=name_zh,
                category=category,
                non_profit=category in (ApplicantCategory.UNIVERSITY, ApplicantCategory.RD_INSTITUTION),
                project_title_en=topic_en,
                project_title_zh=topic_zh,
                service_class=node,
                submitted_at=submitted,
            )
            complete = submitted + dt.timedelta(days=rng.randint(2, 20), hours=rng.randint(0, 8))
            recommended = complete + dt.timedelta(days=rng.randint(15, 55), hours=rng.randint(0, 8))
            decided = recommended + dt.timedelta(days=rng.randint(5, 30), hours=rng.randint(0, 6))
            if outcome == "ineligible":
                app.state = ApplicationState.INELIGIBLE
                app.decided_at = submitted + dt.timedelta(days=rng.randint(3, 10))
                app.decision_reasons_en, app.decision_reasons_zh = rng.choice(INELIGIBLE)
            elif outcome == "pending":
                app.state = rng.choice(
                    [ApplicationState.SUBMITTED, ApplicationState.COMPLETE, ApplicationState.RECOMMENDED]
                )
                if app.state != ApplicationState.SUBMITTED:
                    app.complete_at = complete
                if app.state == ApplicationState.RECOMMENDED:
                    app.recommended_at = recommended
            else:
                app.complete_at, app.recommended_at, app.decided_at = complete, recommended, decided
                app.state = ApplicationState.APPROVED if outcome == "approved" else ApplicationState.REJECTED
                if outcome == "rejected":
                    app.decision_reasons_en, app.decision_reasons_zh = rng.choice(REJECTIONS)
                else:
                    app.decision_reasons_en = "Meets the criteria; compute justified by the training plan."
                    app.decision_reasons_zh = "符合評審準則；訓練計劃足以支持所申請算力。"
            app.save()
            first = (batch.meeting_on.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
            length = rng.randint(2, 12)
            months = _consecutive(first, length)
            schedule = {m: rng.randint(1, 12) for m in months}
            RequestedMonth.objects.bulk_create(
                [RequestedMonth(application=app, month=m, nodes=n) for m, n in schedule.items()]
            )
            if outcome == "approved":
                _award(app, schedule, decided, rng, exceptional=made in (3, 11))
                made += 1
        seeded_awards = list(
            Award.objects.filter(application__reference__startswith=PREFIX).order_by("application__reference")
        )
        for award in seeded_awards:
            _progress(award, rng)
        jobs = _usage(seeded_awards, rng)
    return {
        "jobs": jobs,
        "applications": Application.objects.filter(reference__startswith=PREFIX).count(),
        "awards": Award.objects.filter(application__reference__startswith=PREFIX).count(),
        "progress_reports": ProgressReport.objects.filter(award__application__reference__startswith=PREFIX).count(),
    }


def _award(app, schedule, decided, rng, *, exceptional):
    """The award through the scheme's own path: :func:`awards.make_award` checks the terms
    (seed 000 §13: at most 70% of the price, 90% in an exceptional case with its reasons in both
    languages; §10: at most 90% of a month's capacity subsidised; §16: within the year's
    release), stores the award, its months and one ``commitment`` per financial year in the
    ledger, and holds its nodes in the capacity plan. About four in five are then signed
    (seed 000 §21): active, with their scheduler account's name (no account is asked of the
    compute app: demonstration data must not create accounts on a real cluster; their usage is
    imported as job records, :func:`_usage`).

    The agreement itself is not signed through :func:`awards.sign_agreement`: that needs a
    resident with a CorpID mandate (``sign``) of a company on the companies register, which the
    seeded organisations are not; the seed records the outcome of a signature (state and
    account) instead, and bills no co-payment."""
    price = (Decimal("320000") * Decimal(rng.randint(85, 100)) / 100).quantize(Decimal("1000"))
    rate = (
        Decimal(rng.choice(["0.80", "0.90"])) if exceptional else Decimal(rng.choice(["0.50", "0.60", "0.65", "0.70"]))
    )
    public_id = uuid.UUID(int=rng.getrandbits(128), version=4)  # the same seed, the same account names
    signed = rng.random() < 0.8
    reasons = (app.decision_reasons_en, app.decision_reasons_zh)
    app.state = ApplicationState.RECOMMENDED  # decidable: the committee decides at make_award
    app.save(update_fields=["state"])
    terms = awards.AwardTerms(
        schedule=schedule,
        price=price,
        rate=rate,
        exceptional=exceptional,
        exceptional_reason_en="Non-profit research of public value with no other funding." if exceptional else "",
        exceptional_reason_zh="具公共價值的非牟利研究，並無其他資助。" if exceptional else "",
    )
    award = awards.make_award(
        app, terms, decided_at=decided, actor="seed_subsidy", reasons_en=reasons[0], reasons_zh=reasons[1]
    )
    Award.objects.filter(pk=award.pk).update(public_id=public_id)
    award.public_id = public_id
    if signed:
        award.state = AwardState.ACTIVE
        award.account = awards.account_name(award)
        award.save(update_fields=["state", "account"])
    return award


def _usage(awards, rng) -> int:
    """Jobs of the active awards' scheduler accounts in their scheduled months up to
    :data:`AS_OF`, imported through the compute app (part B's ``import_usage``, as ``sync_usage``
    does from ``sacct``): one to three jobs a month, each inside its month, on at most the
    award's GPUs that month. Job ids are the seed's own (cluster ``aisc-seed``), so seeding
    again updates the same jobs. Returns how many records were imported."""
    records = []
    for award in awards:
        if not award.account:
            continue
        gpus_per_node = award.application.service_class.gpus_per_node
        for month in award.months.filter(month__lte=AS_OF).order_by("month"):
            for n in range(rng.randint(1, 3)):
                start = dt.datetime(month.month.year, month.month.month, rng.randint(1, 18), 9, tzinfo=HKT)
                elapsed = rng.randint(2, 200) * 3600
                records.append(
                    compute.JobRecord(
                        cluster="aisc-seed",
                        job_id=f"{award.application.reference}-{month.month:%Y%m}-{n}",
                        account=award.account,
                        user="seed",
                        state="COMPLETED",
                        submitted_at=start.astimezone(dt.UTC),
                        started_at=start.astimezone(dt.UTC),
                        ended_at=(start + dt.timedelta(seconds=elapsed)).astimezone(dt.UTC),
                        elapsed_seconds=elapsed,
                        gpus=rng.randint(1, month.nodes * gpus_per_node),
                    )
                )
    compute.import_usage(records)
    return len(records)


def _progress(award, rng):
    """Reports due by now: most accepted with outputs, some awaiting review."""
    for report in progress.schedule(award):
        if report.due_on > AS_OF or rng.random() < 0.15:
            continue
        submitted_at = _at(report.period_end + dt.timedelta(days=rng.randint(5, 29)))
        counts = {
            "papers": rng.randint(0, 3),
            "models_released": rng.randint(0, 1),
            "datasets": rng.randint(0, 2),
            "talents": rng.randint(2, 15),
            "landed_firms": rng.randint(0, 1),
        }
        report = progress.submit(
            report,
            progress="Training and evaluation went as planned.",
            counts=counts,
            outputs="",
            by="seed",
            now=submitted_at,
        )
        if rng.random() < 0.8:
            progress.review(report, accept=True, comment="", actor=None, now=submitted_at + dt.timedelta(days=7))


def _consecutive(first: dt.date, count: int) -> list[dt.date]:
    months = [first]
    while len(months) < count:
        months.append((months[-1].replace(day=28) + dt.timedelta(days=4)).replace(day=1))
    return months


class Command(BaseCommand):
    help = "Seed the AI Subsidy Scheme with 30 applications and 20 awards for its reports (deterministic per --seed)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=1, help="the random seed (default 1)")

    def handle(self, *args, seed: int, **options):
        counts = seed_data(seed)
        self.stdout.write(
            f"Seeded {counts['applications']} applications, {counts['awards']} awards, "
            f"{counts['progress_reports']} progress reports (seed {seed})."
        )
        self.stdout.write(f"Usage: {counts['jobs']} jobs imported through the compute app.")
