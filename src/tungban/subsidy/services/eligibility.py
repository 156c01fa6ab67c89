"""Who may apply to the AI Subsidy Scheme (seed 000 §11(a)–(e); seed 002 ITIB229: individuals
cannot apply): the bundled register of eligible institutions, matched by BRN, and the check of
an organisation against its declared category.

- (a) universities, (b) R&D institutions, (c) government departments, (d) AI start-ups: the
  organisation's BRN must be on the register under the category it declares.
- (e) strategic enterprises: not on any register; eligible on their documents and declared
  conditions (seed 000 §11(e): contributes to Hong Kong's R&D and AI, based in Hong Kong,
  employs a specified number of professionals). The number is not published: it is the
  setting ``TUNGBAN_SUBSIDY_STRATEGIC_MIN_PROFESSIONALS`` (default 10). The conditions last
  through the award and are re-checked (:func:`tungban.subsidy.services.intake.recheck_conditions`).

An individual has no BRN: the e-service is for organisations only (``corpid = "required"``),
so a person without a CorpID mandate is refused at the start by the e-services engine.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from ..constants import ApplicantCategory
from ..errors import RegisterInvalid
from ..models_intake import EligibleInstitution, InstitutionKind

#: The bundled register (its BRNs are demo dummies: see the file's header).
REGISTER = Path(__file__).resolve().parents[1] / "eligibility" / "institutions.toml"

#: Which kinds of institution belong to which category (seed 000 §11(a)–(d)).
KINDS = {
    ApplicantCategory.UNIVERSITY: {InstitutionKind.UGC_UNIVERSITY, InstitutionKind.CAP320_INSTITUTION},
    ApplicantCategory.RD_INSTITUTION: {
        InstitutionKind.PUBLIC_RD_CENTRE,
        InstitutionKind.INNOHK_CENTRE,
        InstitutionKind.HKPC,
        InstitutionKind.HKIB,
    },
    ApplicantCategory.GOVERNMENT_DEPARTMENT: {InstitutionKind.GOVERNMENT_DEPARTMENT},
    ApplicantCategory.AI_STARTUP: {
        InstitutionKind.CYBERPORT_STARTUP,
        InstitutionKind.HKSTP_STARTUP,
        InstitutionKind.TSSSU_STARTUP,
        InstitutionKind.RAISE_STARTUP,
    },
}


def strategic_min_professionals() -> int:
    """The professionals a strategic enterprise must employ in Hong Kong (seed 000 §11(e):
    "a specified number"; not published, so a setting)."""
    return int(getattr(settings, "TUNGBAN_SUBSIDY_STRATEGIC_MIN_PROFESSIONALS", 10))


def load_institutions(path: str | Path = REGISTER) -> int:
    """Load the register file (TOML, ``[[institution]]`` with ``br_number``, ``category``,
    ``kind``, ``name_en``, ``name_zh``) in one transaction: every entry checked first; entries
    created or updated by BRN; entries no longer in the file unlisted (never deleted).
    Loading the same file again changes nothing. Returns the number of institutions.

    :raises DomainError: ``eligibility_register_invalid`` (nothing stored), with each problem.
    """
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RegisterInvalid(problems=str(exc)) from None
    problems, rows = [], []
    for i, raw in enumerate(data.get("institution", [])):
        where = f"institution {i + 1}"
        brn = str(raw.get("br_number", ""))
        if not (len(brn) == 8 and brn.isdigit()):
            problems.append(f"{where}: br_number: 8 digits")
        if raw.get("category") not in KINDS:
            problems.append(f"{where}: category: one of {', '.join(KINDS)}")
        elif raw.get("kind") not in KINDS[raw["category"]]:
            problems.append(f"{where}: kind: not a kind of {raw['category']}")
        for key in ("name_en", "name_zh"):
            if not str(raw.get(key, "")).strip():
                problems.append(f"{where}: {key}: required")
        rows.append(raw)
    brns = [str(r.get("br_number")) for r in rows]
    problems += [f"br_number {b}: listed twice" for b in sorted({b for b in brns if brns.count(b) > 1})]
    if problems:
        raise RegisterInvalid(problems="; ".join(problems))
    with transaction.atomic():
        for raw in rows:
            EligibleInstitution.objects.update_or_create(
                br_number=raw["br_number"],
                defaults={
                    "category": raw["category"],
                    "kind": raw["kind"],
                    "name_en": raw["name_en"].strip(),
                    "name_zh": raw["name_zh"].strip(),
                    "listed": True,
                },
            )
        EligibleInstitution.objects.exclude(br_number__in=brns).update(listed=False)
    return len(rows)


@dataclass(frozen=True)
class Eligibility:
    """The outcome of :func:`check`: eligible or not, and why, in both languages."""

    eligible: bool
    reason_en: str
    reason_zh: str


def check(category: str, br_number: str, answers: dict | None = None) -> Eligibility:
    """Whether the organisation ``br_number`` is eligible in ``category`` (seed 000 §11(a)–(e)).
    ``answers``: the application's form answers (a strategic enterprise's ``hk_base``,
    ``professionals_employed``, ``contribution``, ``evidence``)."""
    answers = answers or {}
    if not br_number:  # a person's own application: seed 002 ITIB229
        return Eligibility(
            False,
            "Individuals cannot apply: only organisations in the eligible categories (seed 002 ITIB229).",
            "個人不可申請，只限合資格類別的機構申請。",
        )
    if category == ApplicantCategory.STRATEGIC_ENTERPRISE:
        return _strategic(answers)
    if category not in KINDS:
        return Eligibility(False, "The category is not one of the scheme's.", "所選類別並非本計劃的類別。")
    found = EligibleInstitution.objects.filter(br_number=br_number, listed=True).first()
    label = ApplicantCategory(category)
    if found is None or found.category != category:
        return Eligibility(
            False,
            f"The organisation (BRN {br_number}) is not on the register of eligible institutions "
            f"as {_en(label)} (seed 000 §11).",
            f"機構（商業登記號碼{br_number}）並未以「{_zh(label)}」類別列入合資格機構名冊。",
        )
    kind = InstitutionKind(found.kind)
    return Eligibility(
        True,
        f"On the register as {_en(kind)}: {found.name_en} (seed 000 §11).",
        f"已列入名冊，類別為「{_zh(kind)}」：{found.name_zh}。",
    )


def _strategic(answers: dict) -> Eligibility:
    """Seed 000 §11(e): documents and declared conditions (HK base, professionals employed)."""
    minimum = strategic_min_professionals()
    missing_en, missing_zh = [], []
    if answers.get("hk_base") is not True:
        missing_en.append("it is not declared to be based in Hong Kong")
        missing_zh.append("未申報落戶香港")
    if int(answers.get("professionals_employed") or 0) < minimum:
        missing_en.append(f"it employs fewer than {minimum} professionals in Hong Kong")
        missing_zh.append(f"在港聘請的專業人員少於{minimum}名")
    if not answers.get("evidence") or not answers.get("contribution"):
        missing_en.append("the documents of its contribution to Hong Kong's R&D and AI are missing")
        missing_zh.append("欠缺對本港研發及人工智能創新貢獻的證明文件")
    if missing_en:
        return Eligibility(
            False,
            "A strategic enterprise must meet the conditions of seed 000 §11(e): " + "; ".join(missing_en) + ".",
            "策略企業須符合條件：" + "；".join(missing_zh) + "。",
        )
    return Eligibility(
        True,
        f"Strategic enterprise: based in Hong Kong, at least {minimum} professionals employed, "
        "contribution documented (seed 000 §11(e)); re-checked during the award.",
        f"策略企業：落戶香港，在港聘請最少{minimum}名專業人員，並已提交貢獻證明；資助期內會再次核實。",
    )


def _en(choice) -> str:
    from django.utils import translation

    with translation.override("en"):
        return str(choice.label)


def _zh(choice) -> str:
    from django.utils import translation

    with translation.override("zh-hant"):
        return str(choice.label)
