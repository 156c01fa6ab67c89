"""Review findings of issue 23 (branch frev's probes), part b: what the ID token and UserInfo
give a partner's service (only what the consent names and the release records), and the hosted
service's token request under the same outbound guard as the trust chain's fetches
(:func:`tungban.core.netguard.guard`: private addresses, redirects, size, DNS rebinding)."""

from __future__ import annotations

import http.server
import threading

import pytest
import requests
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet

from tungban.core import netguard
from tungban.federation import errors
from tungban.federation.constants import Role
from tungban.federation.models import CrossBoundaryRelease
from tungban.federation.services import entities, rp

from . import test_registration as reg
from .conftest import make_service

# test_registration's fixtures, reused here.
app, fake_chain, partner, service = reg.app, reg.fake_chain, reg.partner, reg.service

#: What OIDC Core §2 requires of an ID token (and at_hash, §3.1.3.6): always there.
REQUIRED = {"iss", "aud", "exp", "iat", "nonce", "sub", "acr", "at_hash"}


def _provider_jwks(issuer):
    return KeySet.import_key_set(requests.get(f"{issuer}/oidc/jwks").json())


# --- 1. the ID token and UserInfo carry only what the consent names ----------------------------


@pytest.mark.django_db
def test_the_id_token_carries_only_what_the_consent_names(issuer, service, fake_chain, app, resident):
    browser, rid, req, params, verifier = reg._login(issuer, service, app)
    named = req["binds"]["cross_boundary"]["claims"]
    assert named == ["sub", "acr"]
    token = reg._finish(issuer, service, app, browser, rid, params, verifier)
    assert token.status_code == 200, token.text
    claims = jose_jwt.decode(token.json()["id_token"], _provider_jwks(issuer)).claims
    # Everything OIDC Core requires is there; nothing beyond it and the consent.
    assert REQUIRED <= set(claims), sorted(REQUIRED - set(claims))
    assert set(claims) - (REQUIRED - {"sub", "acr"}) == set(named), sorted(claims)
    assert claims["nonce"] == params["nonce"] and claims["aud"] == service.entity_id
    # The release records exactly the claims of the consent that the token carries.
    release = CrossBoundaryRelease.objects.get()
    assert release.claims == named and release.acr == claims["acr"]


@pytest.mark.django_db
def test_userinfo_answers_only_what_the_release_records(issuer, service, fake_chain, app, resident):
    browser, rid, req, params, verifier = reg._login(issuer, service, app, scope="openid profile")
    token = reg._finish(issuer, service, app, browser, rid, params, verifier)
    assert token.status_code == 200, token.text
    before = set(CrossBoundaryRelease.objects.values_list("pk", flat=True))
    info = requests.get(f"{issuer}/oidc/userinfo", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert info.status_code == 200, info.text
    release = CrossBoundaryRelease.objects.exclude(pk__in=before).get()
    assert len(info.json()) > 1  # the names asked and consented to, besides sub
    assert set(info.json()) == set(release.claims), (sorted(info.json()), release.claims)
    assert set(release.claims) <= set(req["binds"]["cross_boundary"]["claims"])


@pytest.mark.django_db
def test_an_ordinary_clients_id_token_keeps_the_login_facts(issuer, resident, app):
    """Ordinary clients are unchanged: amr, auth_time and sid stay in their ID tokens."""
    from tungban.oidc import server
    from tungban.oidc.models import AuthorizationCode, Client, LoginSession

    client = Client.objects.create(
        client_id="ordinary", name_en="O", name_zh="O", redirect_uris=["https://o.example/cb"]
    )
    session = LoginSession.objects.create(resident=resident, sid="s-1", client=client, auth_time=1)
    code = AuthorizationCode(resident=resident, client=client, auth_time=1, acr="a", amr=["swk"], session=session)
    subject = server.Subject(resident=resident, session=session, code=code, sub="p")
    claims = jose_jwt.decode(
        server.id_token(client, subject, code, "at", with_nonce=False), _provider_jwks(issuer)
    ).claims
    assert claims["amr"] == ["swk"] and claims["auth_time"] == 1 and claims["sid"] == "s-1"
    # The same login for a federated client: the login facts are withheld.
    client.client_id = reg.SERVICE
    claims = jose_jwt.decode(
        server.id_token(client, subject, code, "at", with_nonce=False), _provider_jwks(issuer)
    ).claims
    assert not {"amr", "auth_time", "sid"} & set(claims) and claims["acr"] == "a" and claims["sub"] == "p"


# --- 2. the hosted service's token request goes through the outbound guard ----------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list = []
    body = b'{"error": "nope"}'
    status = 400
    redirect = True

    def do_POST(self):  # noqa: N802
        _Recorder.hits.append((self.path, self.headers.get("Host")))
        if _Recorder.redirect:
            self.send_response(302)
            self.send_header("Location", "/internal-admin")
            self.end_headers()
            return
        self.send_response(_Recorder.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(_Recorder.body)))
        self.end_headers()
        self.wfile.write(_Recorder.body)

    do_GET = do_POST  # noqa: N815

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Recorder.hits, _Recorder.body, _Recorder.status, _Recorder.redirect = [], b'{"error": "nope"}', 400, True
    yield server.server_port
    server.shutdown()
    server.server_close()


@pytest.fixture
def hosted(db):
    entities.ensure_entity(path="", role=Role.PLATFORM, name_en="HK", name_zh="HK")
    return make_service("probe")


@pytest.mark.django_db
def test_the_token_request_refuses_a_private_address(settings, hosted, recorder):
    settings.TUNGBAN_FEDERATION_ALLOW_PRIVATE = False
    with pytest.raises(errors.FetchFailed):
        rp._exchange(hosted, {"token_endpoint": f"http://127.0.0.1:{recorder}/token"}, code="c", verifier="v")
    assert _Recorder.hits == []


@pytest.mark.django_db
def test_the_token_request_never_follows_a_redirect(settings, hosted, recorder):
    settings.TUNGBAN_FEDERATION_ALLOW_PRIVATE = True
    with pytest.raises(errors.LoginRefused):
        rp._exchange(hosted, {"token_endpoint": f"http://127.0.0.1:{recorder}/token"}, code="c", verifier="v")
    assert [path for path, _host in _Recorder.hits] == ["/token"]


@pytest.mark.django_db
def test_the_token_response_is_size_capped(settings, hosted, recorder):
    from tungban.federation.services import chain

    settings.TUNGBAN_FEDERATION_ALLOW_PRIVATE = True
    _Recorder.redirect, _Recorder.status = False, 200
    padding = b"x" * chain.MAX_RESPONSE_BYTES
    _Recorder.body = b'{"access_token": "a", "token_type": "Bearer", "padding": "' + padding + b'"}'
    with pytest.raises(errors.FetchFailed):
        rp._exchange(hosted, {"token_endpoint": f"http://127.0.0.1:{recorder}/token"}, code="c", verifier="v")
    # Under the cap the answer is read.
    _Recorder.body = b'{"access_token": "a", "token_type": "Bearer"}'
    token = rp._exchange(hosted, {"token_endpoint": f"http://127.0.0.1:{recorder}/token"}, code="c", verifier="v")
    assert token["access_token"] == "a"


# --- 3. DNS rebinding: the connection goes to the address that was checked ----------------------


def test_a_guarded_request_connects_to_the_checked_address(monkeypatch, recorder):
    """The host is resolved once; the connection goes to the checked address (here the check is
    made to answer the local server's address for a name no resolver knows: a second lookup at
    connection time would fail), with the URL's host in the Host header."""
    looked_up = []

    def checked(host):
        looked_up.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr(netguard, "public_addresses", checked)
    _Recorder.redirect = False
    session = netguard.guard(requests.Session(), allow_private=False, max_bytes=1024, deadline=5)
    with session:
        r = session.post(f"http://partner.invalid:{recorder}/token", timeout=5)
    assert r.status_code == 400 and r.json() == {"error": "nope"}
    assert looked_up == ["partner.invalid"]
    assert _Recorder.hits == [("/token", f"partner.invalid:{recorder}")]


def test_a_guarded_request_refuses_a_name_that_resolves_to_a_private_address(recorder):
    session = netguard.guard(requests.Session(), allow_private=False, max_bytes=1024, deadline=5)
    with session, pytest.raises(netguard.AddressRefused):
        session.get(f"http://localhost:{recorder}/x", timeout=5)
    assert _Recorder.hits == []


def test_the_pinned_https_connection_keeps_the_server_name():
    """For https the pool connects to the checked address while SNI and the certificate's host
    name check stay the URL's host."""
    adapter = netguard.GuardedAdapter(allow_private=False, max_bytes=1024, deadline=5)
    request = requests.Request("GET", "https://partner.example/x").prepare()
    request._tungban_pinned = "203.0.113.7"
    host_params, pool_kwargs = adapter.build_connection_pool_key_attributes(request, True)
    assert host_params["host"] == "203.0.113.7"
    assert pool_kwargs["server_hostname"] == "partner.example" == pool_kwargs["assert_hostname"]


def _self_signed(tmp_path, name: str):
    """A self-signed certificate for ``name`` (cryptography's X.509 builder) and its key, as files."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)


def test_a_pinned_https_request_keeps_the_server_name_and_checks_the_certificate(monkeypatch, tmp_path):
    """Over TLS the connection goes to the checked address while the server name (SNI) and the
    certificate's host name check are the URL's host: a certificate for another name fails."""
    import ssl

    cert_file, key_file = _self_signed(tmp_path, "partner.invalid")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    names = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.handle_error = lambda request, address: None  # the refused handshake below
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Recorder.hits, _Recorder.redirect, _Recorder.status, _Recorder.body = [], False, 200, b'{"ok": true}'
    monkeypatch.setattr(netguard, "public_addresses", lambda host: ["127.0.0.1"])
    port = server.server_address[1]
    try:
        session = netguard.guard(requests.Session(), allow_private=False, max_bytes=1024, deadline=5)
        session.verify = cert_file
        with session:
            r = session.get(f"https://partner.invalid:{port}/x", timeout=5)
            assert r.json() == {"ok": True} and names == ["partner.invalid"]
            assert _Recorder.hits == [("/x", f"partner.invalid:{port}")]
            with pytest.raises(requests.exceptions.SSLError):
                session.get(f"https://other.invalid:{port}/x", timeout=5)  # the certificate names another host
    finally:
        server.shutdown()
        server.server_close()
