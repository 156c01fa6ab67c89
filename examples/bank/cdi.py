"""The demo bank as a data user of the HKMA Commercial Data Interchange (商業數據通, issue 19):
a small business applies for a loan; the bank asks for the company's consent, given in the
tungban app by a person holding a CorpID mandate for the company (with ``apply``), and obtains
the company's particulars from the Companies Registry and its tax status from the Inland
Revenue Department through tungban's exchange gateway. Like :mod:`examples.data_user`, it
imports nothing of tungban: it is what a bank writes (docs/integrators.md §12).

::

    .venv/bin/python -m examples.bank.cdi --br-number 21812345
        [--issuer http://localhost:8000] [--credentials var/demo-bank.json]

``tungban demo`` registers the bank (data user ``demo-bank``, client ``demo-bank-cdi``) and
writes its key to ``var/demo-bank.json``. The script prints an app link per consent: open it in
the app of the company's director (the demo resident, CHAN Tai Man) and approve; it then
fetches both products and prints what the bank's loan officer sees.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from examples.data_user import DataUser, DataUserError

#: What the bank asks for: the company's particulars (CR) and its tax status (IRD).
PRODUCTS = ("cr.company-particulars.v1", "ird.business-tax-status.v1")
PURPOSE = "SME loan application: check the company's registration and tax status"


def ask(user: DataUser, br_number: str, *, purpose: str = PURPOSE, duration_seconds: int = 86400, sub=None) -> dict:
    """Ask the company's consent for each of :data:`PRODUCTS` (one consent each): ``{product:
    consent}``, each ``requested`` with its ``approval_uri`` (for the authorised person's app).

    :raises DataUserError: e.g. ``br_number_format``, ``no_organisation``, ``no_mandate`` (with
        ``sub``: that person holds no mandate with apply for this bank), ``no_subject_form``.
    """
    subject = {"kind": "organisation", "id": br_number}
    return {
        product: user.request_consent(product, purpose, duration_seconds, sub=sub, subject=subject)
        for product in PRODUCTS
    }


def fetch(user: DataUser, consents: dict) -> dict:
    """Obtain each product under its consent: ``{product: data}`` (schema-valid; the signed
    answer is kept by a real bank as evidence).

    :raises DataUserError: e.g. ``consent_revoked``, ``mandate_revoked`` (the person who gave
        the consent no longer holds the mandate), ``organisation_suspended``, ``no_record``.
    """
    return {product: user.fetch(consent["id"], product)["data"] for product, consent in consents.items()}


def assessment(data: dict) -> dict:
    """The loan officer's first look: the company live on the register, its profits tax return
    filed for the last year of assessment, no tax outstanding, its business registration valid."""
    company, tax = data["cr.company-particulars.v1"], data["ird.business-tax-status.v1"]
    return {
        "company": f"{company['name_en']} ({company['br_number']})",
        "directors": [d["name_en"] for d in company["directors"]],
        "live": company["status"] == "live",
        "tax_return_filed": tax["profits_tax_return_filed"],
        "no_outstanding_tax": tax["no_outstanding_tax"],
        "business_registration_valid_until": tax["business_registration_valid_until"],
        "eligible": company["status"] == "live" and tax["profits_tax_return_filed"] and tax["no_outstanding_tax"],
    }


def main(argv: list[str] | None = None) -> int:
    root = Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser(prog="python -m examples.bank.cdi", description=__doc__.split("\n\n")[0])
    parser.add_argument("--issuer", default="http://localhost:8000")
    parser.add_argument("--credentials", default=str(root / "var" / "demo-bank.json"))
    parser.add_argument("--br-number", required=True, help="the company's Business Registration number")
    parser.add_argument("--wait", type=float, default=300, help="seconds to wait for the approvals")
    args = parser.parse_args(argv)
    creds = json.loads(Path(args.credentials).read_text())
    user = DataUser(args.issuer, creds["client_id"], creds["cdeg_private_jwk"])
    try:
        consents = ask(user, args.br_number)
        for product, consent in consents.items():
            print(f"{product}: approve in the app of a person acting for the company: {consent['approval_uri']}")
        for product, consent in consents.items():
            consents[product] = user.wait_for_consent(consent["id"], timeout=args.wait)
            if consents[product]["status"] != "active":
                print(f"{product}: consent {consents[product]['status']}", file=sys.stderr)
                return 1
        print(json.dumps(assessment(fetch(user, consents)), ensure_ascii=False, indent=2))
    except DataUserError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
