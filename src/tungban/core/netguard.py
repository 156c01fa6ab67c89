"""Outbound fetches that must not reach the platform's own network (SSRF guard).

One check shared by the apps that fetch addresses given by others: open data's harvest
(issue 21) and federation's trust-chain resolution (issue 23). An address whose host resolves
to any non-global IP (private, loopback, link-local, reserved; :attr:`ipaddress.IPv4Address.is_global`)
is refused unless the caller's setting allows private networks.

:func:`guard` puts the same check on a ``requests`` session (e.g. Authlib's OAuth2 client's),
with the connection pinned to the checked address, no redirects and a bounded answer.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter


class PrivateAddress(Exception):
    """The address's host cannot be resolved or resolves to a non-global IP; the message says which."""


def check_public_host(url: str) -> None:
    """Refuse ``url`` unless every address its host resolves to is global.

    :raises PrivateAddress: the host does not resolve, or resolves to a private, loopback,
        link-local or reserved address.
    """
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError as e:
        raise PrivateAddress(f"cannot resolve {host}: {e}") from None
    for info in infos:
        ip = ipaddress.ip_address(info[4][0])
        if not ip.is_global:
            raise PrivateAddress(f"{host} is on a private network ({ip})")


# --- a guarded requests session ------------------------------------------------------------------


class Refused(requests.RequestException):
    """A guarded request (:func:`guard`) was refused before or while it was answered; a
    ``requests.RequestException``, so callers that map network failures keep doing so. The
    subclass says why."""


class AddressRefused(Refused):
    """The host does not resolve, or resolves to a non-global address (:func:`check_public_host`)."""


class RedirectRefused(Refused):
    """The answer is a redirect (3xx): a guarded request never follows one (it could lead to an
    address the check never saw)."""


class TooLarge(Refused):
    """The answer's body is larger than the session's cap, or took longer than its deadline."""


def public_addresses(host: str) -> list[str]:
    """The addresses ``host`` resolves to, all of them global (one lookup: the caller connects to
    one of these, so a second lookup cannot answer otherwise — DNS rebinding).

    :raises PrivateAddress: as :func:`check_public_host`."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError as e:
        raise PrivateAddress(f"cannot resolve {host}: {e}") from None
    addresses = []
    for info in infos:
        ip = ipaddress.ip_address(info[4][0])
        if not ip.is_global:
            raise PrivateAddress(f"{host} is on a private network ({ip})")
        addresses.append(str(ip))
    if not addresses:
        raise PrivateAddress(f"cannot resolve {host}: no address")
    return addresses


class GuardedAdapter(HTTPAdapter):
    """A transport adapter for addresses given by others (SSRF guard).

    * unless ``allow_private``: the host is resolved once, every address must be global
      (:func:`public_addresses`), and the connection goes to the first of those checked
      addresses — the ``Host`` header and, for https, the TLS server name (SNI) and the
      certificate's host name check stay the URL's host (no second lookup: DNS rebinding);
    * a redirect answer raises :class:`RedirectRefused` (never followed);
    * the body is read here, at most ``max_bytes`` bytes within ``deadline`` seconds
      (:class:`TooLarge`), so the caller's ``response.content`` is bounded.
    """

    def __init__(self, *, allow_private: bool, max_bytes: int, deadline: float):
        self.allow_private, self.max_bytes, self.deadline = allow_private, max_bytes, deadline
        super().__init__(max_retries=0)

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        url = urlsplit(request.url)
        if url.scheme not in ("http", "https"):
            raise AddressRefused(f"not an http(s) address: {request.url}", request=request)
        if not self.allow_private:
            try:
                request._tungban_pinned = public_addresses(url.hostname or "")[0]
            except PrivateAddress as e:
                raise AddressRefused(str(e), request=request) from None
            request.headers["Host"] = url.netloc.rsplit("@", 1)[-1]
        response = super().send(request, stream=True, timeout=timeout, verify=verify, cert=cert, proxies=None)
        if response.is_redirect or 300 <= response.status_code < 400:
            response.close()
            raise RedirectRefused(f"{request.url} answered with a redirect", request=request, response=response)
        started, chunks, size = time.monotonic(), [], 0
        try:
            for chunk in response.iter_content(16 * 1024):
                size += len(chunk)
                if size > self.max_bytes:
                    raise TooLarge(f"{request.url}: the answer is larger than {self.max_bytes} bytes", request=request)
                if time.monotonic() - started > self.deadline:
                    raise TooLarge(f"{request.url}: the answer took longer than {self.deadline} s", request=request)
                chunks.append(chunk)
        finally:
            response.close()
        response._content = b"".join(chunks)
        response._content_consumed = True
        return response

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        pinned = getattr(request, "_tungban_pinned", None)
        if pinned:
            hostname = host_params["host"]
            host_params = {**host_params, "host": pinned}
            if host_params["scheme"] == "https":
                pool_kwargs = {**pool_kwargs, "server_hostname": hostname, "assert_hostname": hostname}
        return host_params, pool_kwargs


def guard(session: requests.Session, *, allow_private: bool, max_bytes: int, deadline: float) -> requests.Session:
    """``session`` (e.g. Authlib's ``OAuth2Session``, a ``requests.Session``) with a
    :class:`GuardedAdapter` for http and https, no proxies from the environment and no redirects
    followed; returns it. Callers still pass their ``timeout`` (connect, read) per request.

    :raises: nothing here; the session's requests raise :class:`Refused` subclasses (and the usual
        ``requests.RequestException``)."""
    adapter = GuardedAdapter(allow_private=allow_private, max_bytes=max_bytes, deadline=deadline)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.trust_env = False
    session.max_redirects = 0
    return session
