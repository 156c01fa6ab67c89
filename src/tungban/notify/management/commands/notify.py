"""``tungban notify``: the platform operator's commands for notifications (issue 16).

::

    tungban notify sender td --name-en "Transport Department" --name-zh 運輸署 --client td-client
    tungban notify key td --kind live --name "licensing system"     # prints the key ONCE
    tungban notify revoke-key <key id>
    tungban notify template td licence-expiry --subject-en … --subject-zh … --body-en … --body-zh …
    tungban notify send td licence-expiry --hkid 'A123456(3)' --value plate="AB 1234" --value date=…
    tungban notify status <notification id>

``send`` is for demos and the platform's own operators: it resolves the resident's pairwise
``sub`` at the sender's client and sends as the API does (departments use the API, by ``sub``).
"""

from __future__ import annotations

from django.core.management import BaseCommand, CommandError

from tungban.core.errors import DomainError
from tungban.notify import services
from tungban.notify.models import ApiKey, Notification, Sender, Template


class Command(BaseCommand):
    help = "Notification senders, API keys and templates; send a test message (issue 16)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        p = sub.add_parser("sender", help="register or update a sender tied to an OpenID client")
        p.add_argument("sender")
        p.add_argument("--name-en", required=True)
        p.add_argument("--name-zh", required=True)
        p.add_argument("--client", required=True, help="the client_id whose pairwise sub addresses residents")
        p.add_argument("--team-sub", action="append", default=[], help="a sub a team key may send to (repeat)")
        p = sub.add_parser("key", help="make an API key (shown once)")
        p.add_argument("sender")
        p.add_argument("--kind", choices=sorted(services.KINDS), default="live")
        p.add_argument("--name", default="API key")
        p = sub.add_parser("revoke-key", help="revoke an API key by its key id (the 16 hex digits)")
        p.add_argument("key_id")
        p = sub.add_parser("template", help="add a template, or give an existing one (same name) new texts")
        p.add_argument("sender")
        p.add_argument("name")
        for field in ("subject-en", "subject-zh", "body-en", "body-zh"):
            p.add_argument(f"--{field}", required=True)
        p = sub.add_parser("send", help="send a message to a resident (demo; departments use the API)")
        p.add_argument("sender")
        p.add_argument("template", help="the template's name")
        p.add_argument("--hkid", required=True)
        p.add_argument("--value", action="append", default=[], help="name=value for a ((placeholder)) (repeat)")
        p = sub.add_parser("status", help="a notification's delivery status")
        p.add_argument("notification")

    def handle(self, *args, action, **opts):
        try:
            getattr(self, "_" + action.replace("-", "_"))(**opts)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None

    def _sender(self, sender, name_en, name_zh, client, team_sub, **_):
        try:
            row = services.create_sender(sender, name_en, name_zh, client, team_sub)
        except Exception as exc:
            raise CommandError(f"cannot register {sender}: {exc}") from None
        self.stdout.write(f"Sender {row.id}: {row.name_en} / {row.name_zh}, client {client}")

    def _key(self, sender, kind, name, **_):
        row, key = services.create_api_key(_sender(sender), name, kind)
        self.stdout.write(f"API key ({kind}, id {row.key_id}); shown only now, keep it secret:\n{key}")

    def _revoke_key(self, key_id, **_):
        row = ApiKey.objects.filter(key_id=key_id).first()
        if row is None:
            raise CommandError(f"No API key {key_id}.")
        services.revoke_api_key(row)
        self.stdout.write(f"Revoked {row.key_id}.")

    def _template(self, sender, name, subject_en, subject_zh, body_en, body_zh, **_):
        texts = {"subject_en": subject_en, "subject_zh": subject_zh, "body_en": body_en, "body_zh": body_zh}
        found = Template.objects.filter(sender=_sender(sender), name=name).first()
        row = (
            services.update_template(found, **texts)
            if found
            else services.create_template(_sender(sender), name, **texts)
        )
        self.stdout.write(f"Template {row.name} v{row.version}: id {row.id}")

    def _send(self, sender, template, hkid, value, **_):
        from tungban.identity import hkid as hkids
        from tungban.identity.models import Resident

        row = Template.objects.filter(sender=_sender(sender), name=template).first()
        if row is None:
            raise CommandError(f"No template {template!r} of {sender}.")
        try:
            resident = Resident.objects.by_hkid(hkids.normalize(hkid)).first()
        except Exception:
            resident = None
        if resident is None:
            raise CommandError("No resident with this HKID number.")
        values = dict(v.split("=", 1) for v in value if "=" in v)
        n = services.send_to_resident(row.sender, row, resident, values)
        self.stdout.write(f"Notification {n.id}: {n.status} (the worker delivers it)")

    def _status(self, notification, **_):
        n = Notification.objects.filter(pk=services._uuid_or_none(notification)).first()
        if n is None:
            raise CommandError("No such notification.")
        pushes = ", ".join(f"{p.state} ({p.attempts} attempts, last {p.last_status})" for p in n.pushes.all())
        self.stdout.write(f"{n.id}: {n.status}; pushes: {pushes or 'none'}")


def _sender(sender_id: str) -> Sender:
    found = Sender.objects.filter(pk=sender_id).first()
    if found is None:
        raise CommandError(f"No sender {sender_id!r}: add it with `tungban notify sender`.")
    return found
