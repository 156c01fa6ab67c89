"""``tungban federation_trust_mark issue --subject … --department-en … --department-zh … [--out F]``
issues the cross-boundary service trust mark (跨境通辦服務, issue 23) of this instance's root
entity (the trust anchor, the trust mark issuer) to a service and prints the JWT (send it to the
service's operator, who stores it with ``federation_receive_trust_mark``);
``tungban federation_trust_mark revoke --subject … --reason …`` revokes the subject's marks
(status ``revoked`` at the status endpoint: resolvers refuse it at their next resolution)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tungban.core.errors import DomainError
from tungban.federation.models import TrustMark
from tungban.federation.services import trustmarks

from ._common import root_or_fail


class Command(BaseCommand):
    help = "Issue or revoke the cross-boundary service trust mark."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["issue", "revoke"])
        parser.add_argument("--subject", required=True)
        parser.add_argument("--department-en", default="")
        parser.add_argument("--department-zh", default="")
        parser.add_argument("--reason", default="")
        parser.add_argument("--out", help="write the trust mark JWT to this file")

    def handle(self, *args, **o):
        issuer = root_or_fail()
        mark_type = trustmarks.ensure_type(issuer, name_en="Cross-boundary service", name_zh="跨境通辦服務")
        if o["action"] == "issue":
            if not (o["department_en"] and o["department_zh"]):
                raise CommandError("--department-en and --department-zh are required to issue")
            try:
                _mark, token = trustmarks.issue(
                    mark_type, o["subject"], department_en=o["department_en"], department_zh=o["department_zh"]
                )
            except DomainError as e:
                raise CommandError(str(e)) from None
            if o["out"]:
                Path(o["out"]).write_text(token + "\n", encoding="ascii")
            self.stdout.write(token)
            return
        if not o["reason"]:
            raise CommandError("--reason is required to revoke")
        with transaction.atomic():
            marks = list(
                TrustMark.objects.filter(type=mark_type, subject=o["subject"].rstrip("/"), revoked_at__isnull=True)
            )
            if not marks:
                raise CommandError(f"no live trust mark for {o['subject']}")
            for mark in marks:
                trustmarks.revoke(mark, reason=o["reason"])
        self.stdout.write(f"revoked {len(marks)} trust mark(s) of {o['subject']}")
