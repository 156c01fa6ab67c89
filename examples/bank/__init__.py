"""A demo FPS participant bank (issue 18): the payer's bank, as a separate process on loopback.

It keeps its own small ledger (SQLite) of demo customers' accounts and the transfers they make;
its page ``/pay`` takes an FPS QR code's payload, decodes it, shows the payee, the amount and
the reference, and on "Confirm" books the transfer and sends the payee's platform a signed
payment notification (HMAC-SHA256 with the shared secret, the time signed too), retrying with
backoff until the platform answers. It does not import ``tungban``: it stands for a bank and
talks to the platform only over HTTP. See ``README.md``.
"""
