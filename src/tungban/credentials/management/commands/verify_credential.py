import json
import sys
from pathlib import Path

from django.core.management import BaseCommand, CommandError

from tungban.core.errors import DomainError
from tungban.credentials import summaries
from tungban.credentials.services import jwt_digest
from tungban.credentials.verify import BundleTrust, DatabaseTrust, extract_presentation, verify_presentation


class Command(BaseCommand):
    help = (
        "Verify an e-certificate (SD-JWT VC presentation, or a …/verify/#vc= link) like 認證易 does. "
        "With --bundle (saved from GET /api/v1/credentials/trust-bundle) it needs no connection to the platform."
    )

    def add_arguments(self, parser):
        parser.add_argument("credential", help="file holding the presentation or link, or - for standard input")
        parser.add_argument("--bundle", help="a trust bundle JSON file: verify offline against it")
        parser.add_argument(
            "--proof",
            help="an inclusion proof JSON from the holder's app ({leaf_index, body, inclusion_path}) for the offline log check",
        )
        parser.add_argument("--json", dest="as_json", action="store_true", help="print the whole result as JSON")

    def handle(self, *args, credential, bundle=None, proof=None, as_json=False, **opts):
        text = sys.stdin.read() if credential == "-" else Path(credential).read_text(encoding="utf-8")
        try:
            if bundle:
                proofs = {}
                if proof:
                    proofs[jwt_digest(extract_presentation(text))] = _load(proof)
                trust = BundleTrust(_load(bundle), proofs)
            else:
                trust = DatabaseTrust()
            result = verify_presentation(text, trust)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        if as_json:
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False, indent=2, default=str))
        else:
            self.stdout.write(f"Issuer:  {result.issuer_name_en or result.issuer} {result.issuer_name_zh or ''}")
            self.stdout.write(f"Type:    {result.type_name_en or result.vct} {result.type_name_zh or ''}")
            for language in ("en", "zh-hant"):
                said = summaries.describe(result.type_id, result.claims, language)
                if said:
                    self.stdout.write(f"Says:    {said}")
            for name, value in result.claims.items():
                self.stdout.write(f"  {name}: {value}")
            if result.undisclosed:
                self.stdout.write(f"  ({result.undisclosed} claims not disclosed)")
            self.stdout.write(f"Status:  {result.status}; holder: {result.holder_binding}; log: {result.log}")
        if not result.valid:
            raise CommandError("NOT VALID: " + "; ".join(f"{p['code']}: {p['message']}" for p in result.problems))
        self.stdout.write(self.style.SUCCESS("VALID"))


def _load(path: str) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot read {path}: {exc}") from None
