"""The Companies Registry stand-in's register (``cr_register.json``): fictitious companies and
their officers, keyed by the HKID numbers of the tungban demo population.

It is the one source of the sample companies: the CR provider serves
``cr.company-particulars.v1`` from it (:func:`directorships`) and tungban's CorpID loads the same
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
