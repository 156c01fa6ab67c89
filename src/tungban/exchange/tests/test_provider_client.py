"""The gateway's outbound HTTP call to a provider (:func:`tungban.exchange.adapter._post`;
issue 15 acceptance 4, fifth and fourteenth rounds): one kept-alive connection per provider for
successive calls, no thread started per call, the request's headers the contract's only, the
whole answer within the provider's timeout, and the refusals as before."""

from __future__ import annotations

import http.server
import json
import threading
import time

import pytest

from tungban.exchange import adapter, resilience
from tungban.exchange.models import Organisation

ANSWER = json.dumps({"data": {"ok": True}}).encode()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive

    def do_POST(self):  # noqa: N802 - http.server's name
        self.server.seen.append(dict(self.headers))
        self.server.paths.append(self.path)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, body = self.server.answer
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Provider(http.server.ThreadingHTTPServer):
    """A loopback provider that counts the connections it accepts and keeps the headers of
    every request."""

    daemon_threads = True

    def __init__(self, answer=(200, ANSWER)):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections, self.seen, self.paths, self.answer = 0, [], [], answer
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def get_request(self):
        self.connections += 1
        return super().get_request()

    def stop(self):
        self.shutdown()
        self.server_close()


@pytest.fixture
def provider():
    server = Provider()
    yield server
    server.stop()


def post(url: str, timeout=(1.0, 5.0)) -> tuple[int, bytes]:
    return adapter._post(f"{url}/cdeg/v1/products/wsd.registered-address.v1", "token", timeout, 10_000)


def test_successive_calls_share_one_connection_and_start_no_thread(provider, monkeypatch):
    post(provider.url)
    started = []
    real_start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda self: started.append(self) or real_start(self))
    for _ in range(5):
        assert post(provider.url) == (200, ANSWER)
    assert started == []  # was a threading.Timer per call once (review finding L6's deadline)
    assert provider.connections == 1


def test_the_request_carries_the_contract_headers_only(provider):
    post(provider.url)
    headers = {name.lower(): value for name, value in provider.seen[-1].items()}
    assert headers["authorization"] == "Bearer token"
    assert headers["accept"] == "application/json"
    # requests added "Accept-Encoding: gzip, deflate", "Connection: keep-alive" and its
    # User-Agent: bytes on every call that the contract does not need
    # and urllib3 and pycurl their own User-Agent unless told not to
    assert set(headers) <= {"host", "authorization", "accept", "content-length", "accept-encoding"}
    assert headers.get("accept-encoding", "identity") == "identity"  # the body is taken as sent


def test_no_proxy_is_taken_from_the_environment(provider, monkeypatch):
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert post(provider.url) == (200, ANSWER)
    assert provider.connections == 1  # straight to the provider


def test_an_unread_long_answer_does_not_go_back_to_the_pool():
    long = Provider(answer=(200, b"x" * 4_000_000))  # more than the sockets' buffers hold
    try:
        status, body = adapter._post(
            f"{long.url}/cdeg/v1/products/x", "token", (1.0, 5.0), 1_000
        )  # capped: 1,001 bytes read, the rest left
        assert status == 200 and len(body) > 1_000
        long.answer = (200, ANSWER)
        assert adapter._post(f"{long.url}/cdeg/v1/products/x", "token", (1.0, 5.0), 1_000) == (200, ANSWER)
        assert long.connections == 2  # a fresh connection, not the one with megabytes unread
    finally:
        long.stop()


@pytest.mark.parametrize(("status", "code"), [(503, "provider_unavailable"), (500, "provider_error")])
def test_a_5xx_answer_is_a_failure_the_breaker_counts(status, code):
    failing = Provider(answer=(status, b"{}"))
    try:
        with pytest.raises(resilience.ProviderDown) as info:
            post(failing.url)
        assert info.value.error.code == code and info.value.status == status
    finally:
        failing.stop()


def test_no_provider_listening_is_unavailable():
    server = Provider()
    url = server.url
    server.stop()
    with pytest.raises(resilience.ProviderDown) as info:
        post(url)
    assert info.value.error.code == "provider_unavailable"


def test_a_late_answer_on_a_kept_connection_is_a_timeout(provider, monkeypatch):
    assert post(provider.url) == (200, ANSWER)  # the connection is kept
    answer = _Handler.do_POST
    monkeypatch.setattr(_Handler, "do_POST", lambda self: time.sleep(1.5) or answer(self))
    with pytest.raises(resilience.ProviderDown) as info:
        post(provider.url, timeout=(1.0, 0.5))
    assert info.value.error.code == "provider_timeout"  # not provider_unavailable: it was connected
    assert provider.connections == 1


@pytest.mark.parametrize(("status", "code"), [(503, "provider_unavailable"), (500, "provider_error")])
def test_a_5xx_answer_longer_than_the_cap_is_still_a_failure(status, code):
    failing = Provider(answer=(status, b"x" * 1_001))  # one byte over the cap: the transfer is stopped
    try:
        with pytest.raises(resilience.ProviderDown) as info:
            adapter._post(f"{failing.url}/cdeg/v1/products/x", "token", (1.0, 5.0), 1_000)
        assert info.value.error.code == code and info.value.status == status  # counted by the breaker
    finally:
        failing.stop()


def test_a_zero_timeout_is_not_no_timeout(provider, monkeypatch):
    answer = _Handler.do_POST
    monkeypatch.setattr(_Handler, "do_POST", lambda self: time.sleep(3) or answer(self))
    started = time.monotonic()
    with pytest.raises(resilience.ProviderDown):
        post(provider.url, timeout=(0.0, 0.0))  # libcurl's 0 would mean "never"
    assert time.monotonic() - started < 2


def test_a_url_with_other_characters_is_sent_percent_encoded(provider):
    assert adapter._post(f"{provider.url}/cdeg/v1/products/été x", "token", (1.0, 5.0), 1_000) == (200, ANSWER)
    assert provider.paths[-1] == "/cdeg/v1/products/%C3%A9t%C3%A9%20x"


def test_the_token_does_not_stay_with_the_handle(provider):
    post(provider.url)
    curl = adapter._providers().handle()
    assert curl is adapter._providers().handle()  # this thread's
    provider.seen.clear()
    curl.setopt(adapter.pycurl.URL, f"{provider.url}/x")  # a bare request on the same handle
    curl.perform()
    assert "Authorization" not in provider.seen[-1]


def test_timeouts_are_the_providers():
    assert adapter.timeouts(Organisation(id="p", timeout_seconds=3))[1] == 3


# --- Mutual TLS (TUNGBAN_EXCHANGE_TLS_CERT / _KEY / _CA) -------------------------------------------


def _certificates(tmp_path):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def make(name, issuer_name, issuer_key, *, ca=False, san=None):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key((issuer_key or key).public_key()), critical=False
            )
        )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        cert = builder.sign(issuer_key or key, hashes.SHA256())
        return key, cert

    def write(stem, key, cert):
        (tmp_path / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (tmp_path / f"{stem}.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return str(tmp_path / f"{stem}.pem"), str(tmp_path / f"{stem}.key")

    ca_key, ca_cert = make("Test CA", "Test CA", None, ca=True)
    server = make("127.0.0.1", "Test CA", ca_key, san=[x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    client = make("gateway", "Test CA", ca_key)
    ca_pem, _ = write("ca", ca_key, ca_cert)
    return ca_pem, write("server", *server), write("client", *client)


def _tls(server: Provider, ca: str, cert: str, key: str) -> Provider:
    """``server`` answering over TLS with ``cert``, asking for a client certificate from ``ca``."""
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=ca)
    context.load_cert_chain(cert, key)
    context.verify_mode = ssl.CERT_REQUIRED  # mutual TLS: the gateway's certificate is required
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.url = server.url.replace("http://", "https://")
    return server


@pytest.fixture
def tls_provider(tmp_path, settings):
    ca, (server_cert, server_key), (client_cert, client_key) = _certificates(tmp_path)
    server = _tls(Provider(), ca, server_cert, server_key)
    settings.TUNGBAN_EXCHANGE_TLS_CA = ca
    settings.TUNGBAN_EXCHANGE_TLS_CERT, settings.TUNGBAN_EXCHANGE_TLS_KEY = client_cert, client_key
    adapter._providers.cache_clear()  # the pools are made from the settings on first use
    yield server
    adapter._providers.cache_clear()
    server.stop()


def test_mutual_tls_towards_a_provider(tls_provider, settings):
    for _ in range(3):
        assert post(tls_provider.url) == (200, ANSWER)
    assert tls_provider.connections == 1  # one handshake, then kept alive

    settings.TUNGBAN_EXCHANGE_TLS_CERT = settings.TUNGBAN_EXCHANGE_TLS_KEY = ""  # no client certificate
    adapter._providers.cache_clear()
    with pytest.raises(resilience.ProviderDown) as info:
        post(tls_provider.url)
    assert info.value.error.code == "provider_unavailable"


def test_a_provider_certificate_from_another_ca_is_refused(tls_provider, settings):
    import certifi

    settings.TUNGBAN_EXCHANGE_TLS_CA = certifi.where()  # the public CAs: not the one that signed the provider's
    adapter._providers.cache_clear()
    with pytest.raises(resilience.ProviderDown) as info:
        post(tls_provider.url)
    assert info.value.error.code == "provider_unavailable"
    assert tls_provider.seen == []  # no request was sent over the untrusted connection


def test_a_ca_taken_out_of_the_file_is_refused_from_the_next_connection(tls_provider, tmp_path, settings):
    """The CA file is read again for each new connection (``CURLOPT_CA_CACHE_TIMEOUT`` 0;
    libcurl's default keeps it a day): taking a CA out of it needs no restart."""
    import pathlib

    import certifi

    assert post(tls_provider.url) == (200, ANSWER)  # the CA file read, the connection kept
    another = _tls(
        Provider(), settings.TUNGBAN_EXCHANGE_TLS_CA, str(tmp_path / "server.pem"), str(tmp_path / "server.key")
    )
    try:
        pathlib.Path(settings.TUNGBAN_EXCHANGE_TLS_CA).write_bytes(pathlib.Path(certifi.where()).read_bytes())
        with pytest.raises(resilience.ProviderDown) as info:
            post(another.url)  # a new connection: the provider's CA is no longer trusted
        assert info.value.error.code == "provider_unavailable"
        assert another.seen == []
        # A connection already open stays until it is closed (idle past _Providers' limit, or by the provider).
        assert post(tls_provider.url) == (200, ANSWER)
    finally:
        another.stop()


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_opens_its_own_connection(provider):
    import os

    assert post(provider.url) == (200, ANSWER)
    pid = os.fork()
    if pid == 0:  # the child: its call must not go over the parent's kept socket
        code = 1
        try:
            code = 0 if post(provider.url) == (200, ANSWER) else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert post(provider.url) == (200, ANSWER)  # the parent's kept connection still works
    assert provider.connections == 2  # the parent's, then the child's own


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_fork_leaves_another_threads_tls_connection_alone(tls_provider):
    """The child drops the other threads' ``threading.local`` values; their handles must not be
    freed there (a TLS ``close_notify`` on the parent's socket)."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as worker:  # one thread, its handle kept between calls
        assert worker.submit(post, tls_provider.url).result() == (200, ANSWER)
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert worker.submit(post, tls_provider.url).result() == (200, ANSWER)
    assert tls_provider.connections == 1  # the same connection, not closed by the child
