"""The flush after each transactional test (:mod:`tungban.testing.flush`, wired by the root
``conftest.py``) leaves the database as Django's ``flush`` does: every table empty but the
content types, permissions and groups ``post_migrate`` makes, which hold the same rows."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.commands.flush import Command as DjangoFlush
from django.db import connection

from tungban.testing import factories, flush

pytestmark = pytest.mark.django_db(transaction=True)


def _counts() -> dict[str, int]:
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    with connection.cursor() as cursor:
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
    return counts


def _made_by_migrate() -> tuple:
    return (
        sorted(ContentType.objects.values_list("app_label", "model")),
        sorted(Permission.objects.values_list("content_type__app_label", "codename")),
        sorted(Group.objects.values_list("name", "permissions__codename")),
    )


def _fill() -> None:
    officer = factories.staff_user("counter_officer")
    factories.make_resident(officer=officer)
    factories.make_client()


def test_the_fast_flush_leaves_what_djangos_flush_leaves():
    _fill()
    before = _counts()
    assert sum(n for t, n in before.items() if t not in flush.KEPT) > 3  # rows in several tables
    made = _made_by_migrate()
    assert made[0] and made[1] and made[2]  # content types, permissions, the counter's groups

    emptied = flush.flush()

    assert set(emptied) == {t for t, n in before.items() if n and t not in flush.KEPT}
    after = _counts()
    assert {t: n for t, n in after.items() if n} == {t: before[t] for t in flush.KEPT if before[t]}
    assert _made_by_migrate() == made

    _fill()
    call_command(DjangoFlush(), verbosity=0, interactive=False, reset_sequences=False, allow_cascade=False)
    assert {t for t, n in _counts().items() if n} == {t for t in flush.KEPT if before[t]}
    assert _made_by_migrate() == made  # Django's flush and post_migrate make the same rows again


def test_the_suite_flushes_through_it():
    """``call_command("flush", …)`` as ``TransactionTestCase`` calls it goes to the fast flush
    (the kept tables' ids survive); any other flush is Django's."""
    import django.test.testcases

    kept_id = ContentType.objects.get_for_model(Group).pk
    _fill()
    django.test.testcases.call_command(
        "flush",
        verbosity=0,
        interactive=False,
        database="default",
        reset_sequences=False,
        allow_cascade=False,
        inhibit_post_migrate=False,
    )
    assert ContentType.objects.filter(pk=kept_id).exists()
    assert not any(n for t, n in _counts().items() if t not in flush.KEPT)


@pytest.mark.parametrize(
    "options",
    [
        {"interactive": True},
        {"interactive": False},  # reset_sequences defaults to True
        {"interactive": False, "reset_sequences": True},
        {"interactive": False, "reset_sequences": False, "allow_cascade": True},
        {"interactive": False, "reset_sequences": False, "inhibit_post_migrate": True},
        {"interactive": False, "reset_sequences": False, "skip_checks": True},
    ],
)
def test_other_flushes_are_djangos(options):
    assert not flush.handles(options)


def test_the_common_flush_is_handled():
    assert flush.handles(
        {
            "verbosity": 0,
            "interactive": False,
            "database": "default",
            "reset_sequences": False,
            "allow_cascade": False,
            "inhibit_post_migrate": False,
        }
    )
