"""Calling a WSGI application as a server would, for tests and in-process benchmarks of the
front, its lanes and the hot paths (issue 15): the request's environ (PEP 3333), the answer
taken apart, and a spy that counts what reached Django."""

from __future__ import annotations

import contextlib
import io
import sys

from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections


def environ(
    path: str,
    method: str = "GET",
    *,
    body: bytes = b"",
    host: str | None = "testserver",
    scheme: str = "http",
    content_type: str | None = None,
    query: str = "",
    **extra,
) -> dict:
    """A WSGI environ for ``method path`` from 127.0.0.1 with ``body`` (``CONTENT_LENGTH`` set
    when there is a body, ``CONTENT_TYPE`` when given); ``host`` ``None`` sends no ``Host``;
    ``extra`` adds or replaces keys (``HTTP_AUTHORIZATION="Bearer …"``)."""
    env = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SCRIPT_NAME": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "443" if scheme == "https" else "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if host is not None:
        env["HTTP_HOST"] = host
    if body:
        env["CONTENT_LENGTH"] = str(len(body))
    if content_type is not None:
        env["CONTENT_TYPE"] = content_type
    env.update(extra)
    return env


def call(app, env: dict) -> tuple[str, list[tuple[str, str]], bytes]:
    """``(status line, headers, body)`` of ``app(env, start_response)``, the result closed as a
    server closes it (Django's ``request_finished``)."""
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, list(headers)

    result = app(env, start_response)
    try:
        body = b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()
    return seen["status"], seen["headers"], body


class Spy:
    """Django's application (``.django``), counting the requests passed to it (``.calls``):
    give it to :class:`tungban.core.front.Front` to tell whether the front answered alone."""

    def __init__(self):
        self.django = WSGIHandler()
        self.calls = 0

    def __call__(self, env, start_response):
        self.calls += 1
        return self.django(env, start_response)


@contextlib.contextmanager
def connection_kept():
    """Django's handler closes the database connection after each request (``request_started``
    and ``request_finished`` → ``close_old_connections``), which would end a test's
    transaction; Django's test client suspends that the same way. Within this block a request
    through a WSGI application keeps the connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
