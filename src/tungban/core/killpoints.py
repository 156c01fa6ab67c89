"""Named points where a fault-injection test may kill this process (issue 14 acceptance 1).

A test starts the platform's workers with ``TUNGBAN_KILLPOINTS`` set to a comma-separated list
of point names and ``TUNGBAN_KILLPOINT_DIR`` set to a directory of its own. The first time any
worker reaches a listed point it creates ``<dir>/<name>`` (``O_EXCL``, so exactly one process
fires per point across all workers) and sends itself ``SIGKILL``: no ``finally`` block, no
transaction commit, no response. Later arrivals at the same point pass, so the test's retry
after the kill runs normally. Without ``TUNGBAN_KILLPOINTS`` a point costs one environment
lookup. Production never sets it.

Points (each placed where the issue says a kill used to lose or duplicate something):

====================================  ==========================================================
``response.after_view``               the view returned (its transaction committed), before the
                                      response is written: the client sees the connection close
``exchange.provider_returned``        the provider answered, before the exchange record commits
``keys.generated``                    a private key exists in the token, before its row commits
``credentials.bulk_chunk``            a bulk issuance created some credentials, before it commits
``signing.signed``                    documents signed, before the signing request commits
``payments.notification_recorded``    the bank's payment notification recorded (its transfers,
                                      the order paid), before its transaction commits
``payments.notification_committed``   the bank's notification committed, before any hook queued
                                      for after the commit ran (``transaction.on_commit``)
====================================  ==========================================================
"""

from __future__ import annotations

import os
import signal

ENV_POINTS = "TUNGBAN_KILLPOINTS"
ENV_DIR = "TUNGBAN_KILLPOINT_DIR"


def killpoint(name: str) -> None:
    """Kill this process with ``SIGKILL`` if ``name`` is listed in ``TUNGBAN_KILLPOINTS`` and
    no process has fired it yet (the marker ``<TUNGBAN_KILLPOINT_DIR>/<name>``); else return.

    Without ``TUNGBAN_KILLPOINT_DIR`` a listed point fires every time. Raises nothing."""
    points = os.environ.get(ENV_POINTS)
    if not points or name not in points.split(","):
        return
    marker_dir = os.environ.get(ENV_DIR)
    if marker_dir:
        try:
            fd = os.open(os.path.join(marker_dir, name), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            return
        os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)
