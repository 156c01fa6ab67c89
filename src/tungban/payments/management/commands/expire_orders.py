"""``tungban expire_orders``: expire the unpaid payment orders past their time now (the worker
does it on its periodic run; this is for cron or a check)."""

from django.core.management import BaseCommand

from tungban.payments import services


class Command(BaseCommand):
    help = "Expire unpaid payment orders past their expiry (the worker does this every TUNGBAN_PURGE_INTERVAL)."

    def handle(self, *args, **opts):
        self.stdout.write(f"{services.expire_orders()} payment orders expired")
