"""What the payments app tells others, after the commit (issue 18):

- :data:`order_paid` (``sender=PaymentOrder``, ``order=``): an order has just become paid
  (``success`` or ``overpaid`` for the first time). Receivers (receipts, department webhooks)
  must be idempotent and quick; work that may fail belongs in a task they queue. The order's
  purpose is fulfilled by its own task regardless (:mod:`tungban.payments.purposes`).
"""

from django.dispatch import Signal

order_paid = Signal()
