"""The ``tungban`` command.

``tungban demo``        set up (SQLite, demo data) and run the platform and the sample service
``tungban setup``       migrate, create keys, (``--demo``) seed demo data
``tungban app ...``     the command-line app (see :mod:`tungban.wallet.cli`)
``tungban <command>``   any Django management command (``migrate``, ``createsuperuser``, …)
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "app":
        from tungban.wallet.cli import main as app_main  # the app CLI needs no Django settings

        return app_main(argv[1:])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tungban.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["tungban", *argv])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
