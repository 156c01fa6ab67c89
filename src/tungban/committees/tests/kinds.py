"""A subject kind for the committees' tests: grant proposals held in memory by the test
module. A real implementation of the registry's interface (:mod:`tungban.committees.subjects`):
``describe`` gives the proposal's organisations, ``validate`` refuses an amount above the
proposal's cap, ``decided`` records the decision (or fails when told to, to show that the
committee's decision is undone with it), and the terms form asks for the amount."""

from __future__ import annotations

from django import forms

from tungban.committees import subjects
from tungban.core.errors import DomainError

KIND = "test.proposal"
#: subject_id → {"title_en", "title_zh", "brns", "names", "cap", "fail"}
PROPOSALS: dict[str, dict] = {}
#: The decisions ``decided`` recorded: (subject_id, outcome, terms, reasons_en, reasons_zh).
DECIDED: list[tuple] = []

OverCap = DomainError.define("over_cap", "The amount is above the proposal's cap.")
DownstreamFailed = DomainError.define("downstream_failed", "The subject's app refused the decision.", status=409)


def describe(subject_id: str, lang: str) -> dict:
    p = PROPOSALS[subject_id]
    return {
        "title": p["title_zh"] if lang.startswith("zh") else p["title_en"],
        "summary": f"{p['title_en']} — cap {p['cap']}",
        "link": "",
        "organisation_brns": list(p["brns"]),
        "organisation_names": list(p["names"]),
        "proposed_terms": {"amount": p["cap"]},
    }


def validate(subject_id: str, outcome: str, terms: dict) -> None:
    if outcome == "approve" and int(terms.get("amount", 0)) > PROPOSALS[subject_id]["cap"]:
        raise OverCap(field="amount")


def decided(subject_id, outcome, terms, reasons_en, reasons_zh, decided_at, actor) -> None:
    if PROPOSALS[subject_id].get("fail"):
        raise DownstreamFailed()
    DECIDED.append((subject_id, outcome, terms, reasons_en, reasons_zh))


class TermsForm(forms.Form):
    amount = forms.IntegerField(label="Amount (HK$)", min_value=0)

    def terms(self) -> dict:
        return {"amount": self.cleaned_data["amount"]}


def register() -> None:
    subjects.register(KIND, describe=describe, validate=validate, decided=decided, terms_form=TermsForm, app="tests")


def proposal(subject_id: str, *, brns=("12345678",), cap=1000, fail=False) -> str:
    PROPOSALS[subject_id] = {
        "title_en": f"Proposal {subject_id}",
        "title_zh": f"建議 {subject_id}",
        "brns": list(brns),
        "names": [f"Company {b}" for b in brns],
        "cap": cap,
        "fail": fail,
    }
    return subject_id
