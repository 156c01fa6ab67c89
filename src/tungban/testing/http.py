"""The platform in-process, behind the ``requests`` API: protocol and API tests drive the real
HTTP clients (:class:`tungban.wallet.client.WalletClient`, Authlib, pyoidc, the example data
user, plain ``requests`` calls) against Django's test client instead of a live server, inside
an ordinary rollback test.

The seam is a ``requests`` transport adapter (``requests.adapters.BaseAdapter``), so
everything above it is real ``requests``: URL and parameter encoding, ``auth=``, ``json=``,
redirects, the session's cookie jar. Below it, Django's :class:`django.test.Client` runs the
full middleware stack in this thread, on this test's database connection, with CSRF checks
enforced as a browser would meet them.

- :class:`InProcessSession`: a ``requests.Session`` whose calls to ``origin`` run in-process
  (pass it to ``WalletClient(session=...)``).
- :func:`route_requests`: every ``requests`` call to ``origin``, from any session, runs
  in-process for the duration (for libraries that build their own sessions).

A request's ``transaction.on_commit`` callbacks run when its response is ready, as they
would when a live server commits at the end of the request (the test's own transaction still
rolls everything back afterwards).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from http.client import HTTPMessage
from http.cookies import SimpleCookie

import requests
from django.db import DEFAULT_DB_ALIAS, connections
from django.test import Client, TestCase
from requests.adapters import BaseAdapter
from requests.cookies import extract_cookies_to_jar
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

#: The platform's origin in in-process tests. A loopback name (Authlib and WebAuthn accept
#: plain HTTP there, as with the live server) on a port outside Linux's ephemeral range, so
#: a call that escapes the adapter fails with "connection refused" instead of reaching a
#: live server started by another test.
TEST_ORIGIN = "http://localhost:61000"

_DROPPED_HEADERS = {"content-length", "content-type", "host", "cookie", "accept-encoding", "connection"}


class _Raw(io.BytesIO):
    """What ``requests`` reads after the adapter: the body, and the headers where
    ``extract_cookies_to_jar`` looks for ``Set-Cookie`` (``_original_response.msg``)."""

    def __init__(self, content: bytes, msg: HTTPMessage):
        super().__init__(content)
        self._original_response = self
        self.msg = msg

    def release_conn(self) -> None:
        pass


class DjangoTestAdapter(BaseAdapter):
    """A ``requests`` transport that answers with Django's test client.

    :param raise_request_exception: re-raise a view's unhandled exception in the test (the
        default, so a test shows the traceback) instead of answering 500 as a live server would.
    """

    def __init__(self, *, raise_request_exception: bool = True):
        super().__init__()
        self.client = Client(enforce_csrf_checks=True, raise_request_exception=raise_request_exception)

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        """Run one prepared request through Django; returns a ``requests.Response``."""
        client = self.client
        client.cookies = SimpleCookie()  # the session's jar is the only cookie store
        scheme, _, netloc = request.url.partition("://")
        netloc = netloc.split("/", 1)[0]
        port = netloc.rsplit(":", 1)[1] if ":" in netloc else ("443" if scheme == "https" else "80")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROPPED_HEADERS}
        extra = {"HTTP_HOST": netloc, "SERVER_NAME": netloc.rsplit(":", 1)[0], "SERVER_PORT": port}
        if "Cookie" in request.headers:
            extra["HTTP_COOKIE"] = request.headers["Cookie"]
        body = request.body or b""
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        with _commit_callbacks_at_end_of_request():
            response = client.generic(
                request.method,
                request.url,
                data=body,
                content_type=request.headers.get("Content-Type", ""),
                secure=scheme == "https",
                headers=headers,
                **extra,
            )
        return self._build_response(request, response)

    def _build_response(self, request, response) -> requests.Response:
        # Django's test client closes the response itself (without request_finished closing
        # the test's database connection): closing it again here would.
        content = b"".join(response.streaming_content) if response.streaming else response.content
        msg = HTTPMessage()
        for name, value in response.items():
            msg[name] = value
        for morsel in response.cookies.values():
            msg["Set-Cookie"] = morsel.OutputString()
        out = requests.Response()
        out.status_code = response.status_code
        out.reason = response.reason_phrase
        out.headers = CaseInsensitiveDict(dict(response.items()))
        out.encoding = get_encoding_from_headers(out.headers)
        out.raw = _Raw(content, msg)
        out._content = content
        out._content_consumed = True
        out.url = request.url
        out.request = request
        out.connection = self
        extract_cookies_to_jar(out.cookies, request, out.raw)
        return out

    def close(self) -> None:
        pass


@contextlib.contextmanager
def _commit_callbacks_at_end_of_request() -> Iterator[None]:
    """Inside a test's transaction, run the request's ``on_commit`` callbacks when it ends."""
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        with TestCase.captureOnCommitCallbacks(execute=True):
            yield
    else:
        yield


class InProcessSession(requests.Session):
    """A ``requests.Session`` whose calls under ``origin`` run in-process (other URLs go out
    over the network as usual)."""

    def __init__(self, origin: str = TEST_ORIGIN, **adapter_options):
        super().__init__()
        self.mount(origin.rstrip("/") + "/", DjangoTestAdapter(**adapter_options))


@contextlib.contextmanager
def route_requests(origin: str = TEST_ORIGIN, **adapter_options) -> Iterator[DjangoTestAdapter]:
    """For the duration, every ``requests`` session (including ones that libraries create,
    and the module-level ``requests.get``…) sends calls under ``origin`` in-process."""
    adapter = DjangoTestAdapter(**adapter_options)
    prefix = origin.rstrip("/").lower() + "/"
    original = requests.Session.get_adapter

    def get_adapter(self, url):
        if url.lower().startswith(prefix):
            return adapter
        return original(self, url)

    requests.Session.get_adapter = get_adapter
    try:
        yield adapter
    finally:
        requests.Session.get_adapter = original
