"""The web processes' command line, built in one place (issue 14 item 1: gthread workers, so
a request waiting on a data provider holds a thread, not a whole worker)."""

from __future__ import annotations

from django.core.management import call_command

from tungban.core.serving import gunicorn_command


def test_gthread_workers_by_default_sync_with_one_thread(settings):
    settings.TUNGBAN_WEB_WORKERS, settings.TUNGBAN_WEB_THREADS, settings.TUNGBAN_WEB_TIMEOUT = 3, 8, 60
    argv = gunicorn_command("127.0.0.1:8000")
    assert argv[1:4] == ["-m", "gunicorn", "tungban.wsgi"]
    joined = " ".join(argv)
    assert "--bind 127.0.0.1:8000 --workers 3 --worker-class gthread --threads 8 --timeout 60" in joined
    sync = " ".join(gunicorn_command("fd://5", workers=1, threads=1, extra=("--access-logfile", "-")))
    assert "--workers 1 --worker-class sync --timeout 60 --access-logfile -" in sync and "--threads" not in sync


def test_serve_command_prints_what_it_would_run(settings, capsys):
    settings.TUNGBAN_WEB_THREADS = 4
    call_command(
        "serve", "--bind", "unix:/run/tungban.sock", "--workers", "2", "--dry-run", "--", "--graceful-timeout", "30"
    )
    out = capsys.readouterr().out
    assert "--bind unix:/run/tungban.sock --workers 2 --worker-class gthread --threads 4" in out
    assert out.strip().endswith("--graceful-timeout 30")
