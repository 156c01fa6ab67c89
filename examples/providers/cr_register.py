"""The Companies Registry stand-in's register (``cr_register.json``): fictitious companies and
their officers, keyed by the HKID numbers of the tungban demo population.

It is the one source of the sample companies: the CR provider serves
``cr.company-particulars.v1`` from it (:func:`directorships` for a person, :func:`particulars`
for a company, issue 19), the IRD provider ``ird.business-tax-status.v1`` from each company's
``tax`` (:func:`tax_status`), and tungban's CorpID loads the same
file as its register (``tungban load_company_register examples/providers/cr_register.json``;
``tungban demo`` does it). Read here without importing tungban: the provider stands for the
Companies Registry's own system.
"""

from __future__ import annotations

import json
from pathlib import Path

#: The register file.
PATH = Path(__file__).with_name("cr_register.json")
#: The members of a company in ``cr.company-particulars.v1`` (the schema's properties but ``role``).
PARTICULARS = (
    "company_number",
    "br_number",
    "name_en",
    "name_zh",
    "company_type",
    "status",
    "incorporated_on",
    "registered_office",
)


def companies(path: Path = PATH) -> list[dict]:
    """The register's companies, each with its ``officers`` (``[{"hkid", "role"}]``)."""
    return json.loads(path.read_text(encoding="utf-8"))["companies"]


def directorships(path: Path = PATH) -> dict[str, dict]:
    """``{HKID: {"companies": [particulars + role]}}``: the ``cr.company-particulars.v1`` record
    of every officer on the register, companies in the register's order."""
    records: dict[str, dict] = {}
    for company in companies(path):
        particulars = {k: company[k] for k in PARTICULARS if k in company}
        for officer in company.get("officers", []):
            records.setdefault(officer["hkid"], {"companies": []})["companies"].append(
                {**particulars, "role": officer["role"]}
            )
    return records


def particulars(path: Path = PATH) -> dict[str, dict]:
    """``{BRN: record}``: the ``cr.company-particulars.v1`` record of each company as the data
    subject (its ``organisation`` form): its particulars and its directors' names."""
    records = {}
    for company in companies(path):
        record = {k: company[k] for k in PARTICULARS if k in company}
        record["directors"] = [
            {k: officer[k] for k in ("name_en", "name_zh") if officer.get(k)}
            for officer in company.get("officers", [])
            if officer.get("role") == "director" and officer.get("name_en")
        ]
        records[company["br_number"]] = record
    return records


def tax_status(path: Path = PATH) -> dict[str, dict]:
    """``{BRN: record}``: the ``ird.business-tax-status.v1`` record of each company that has a
    ``tax`` entry in the register file."""
    return {c["br_number"]: {"br_number": c["br_number"], **c["tax"]} for c in companies(path) if "tax" in c}
