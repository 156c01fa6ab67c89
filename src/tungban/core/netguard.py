"""Outbound fetches that must not reach the platform's own network (SSRF guard).

One check shared by the apps that fetch addresses given by others: open data's harvest
(issue 21) and federation's trust-chain resolution (issue 23). An address whose host resolves
to any non-global IP (private, loopback, link-local, reserved; :attr:`ipaddress.IPv4Address.is_global`)
is refused unless the caller's setting allows private networks.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


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
