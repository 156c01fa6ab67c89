"""The platform's PostgreSQL database backend (``ENGINE = "tungban.core.postgresql"``, set by
:func:`tungban.core.db.database_settings`): Django's, with ``CONN_HEALTH_CHECKS`` made free
for a connection that needs no check (:func:`tungban.core.db.health_check_needless`, issue 15)."""
