"""Django's PostgreSQL backend with a health check only where one is needed (issue 15):
:class:`DatabaseWrapper` is ``django.db.backends.postgresql.base.DatabaseWrapper`` but for
:meth:`DatabaseWrapper.close_if_health_check_failed`, which skips the ``SELECT 1`` round trip
of a reused connection that :func:`tungban.core.db.health_check_needless` finds sound."""

from __future__ import annotations

from django.db.backends.postgresql import base as _django

from tungban.core import db


class DatabaseWrapper(_django.DatabaseWrapper):
    def connect(self):
        super().connect()
        db.note_use(self)

    def close_if_health_check_failed(self):
        """Django's check (``SELECT 1`` before the first query of a request on a persistent
        connection, ``CONN_HEALTH_CHECKS``) unless it is needless (module docstring)."""
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and db.health_check_needless(self)
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()
