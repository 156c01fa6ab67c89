"""DPoP: sender-constrained tokens (RFC 9449), for FAPI 2.0 clients (FAPI 2.0 Security
Profile §5.3.2.2, §5.3.3) and any client that sends a ``DPoP`` proof.

* :func:`check_proof` verifies a proof JWT (§4.3): ``typ`` ``dpop+jwt``, ``alg`` ES256 or
  PS256, a public ``jwk`` in the header (RSA at least 2048 bits: FAPI 2.0 SP §5.4.1), the
  signature (joserfc), ``htm``, ``htu``,
  ``iat`` within :data:`MAX_AGE` seconds, ``ath`` for an access token (§4.2), a nonce
  this server gave out (§8) and a ``jti`` not seen before (§11.1; kept in the database, so
  every worker agrees). Returns the key's SHA-256 JWK thumbprint (RFC 7638), the ``jkt``
  tokens are bound to (§6).
* Nonces are server-provided (§8): a timestamp signed with the Django secret
  (:class:`django.core.signing.TimestampSigner`), valid :data:`NONCE_LIFETIME` seconds; no
  state. :func:`new_nonce` makes one for the ``DPoP-Nonce`` header.
* Errors are :class:`DPoPError` (``invalid_dpop_proof``) and :class:`UseDPoPNonce`
  (``use_dpop_nonce``, with a fresh ``DPoP-Nonce`` header), both Authlib ``OAuth2Error``: at
  the token endpoint they answer 400 with a JSON body (§5), at a resource 401 with a
  ``WWW-Authenticate: DPoP`` challenge (§7.1).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import warnings
from datetime import UTC, datetime

from authlib.oauth2 import OAuth2Error
from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey
from yarl import URL

from . import validators
from .models import UsedDPoPProof

#: RFC 9449 §5.1 ``dpop_signing_alg_values_supported`` (FAPI 2.0 §5.4.1: PS256 or ES256).
ALGORITHMS = ["ES256", "PS256"]
#: Seconds a proof's ``iat`` may lie in the past (and, for clock skew, in the future).
MAX_AGE = 60
CLOCK_SKEW = 5
NONCE_LIFETIME = 300
_NONCE_SALT = "tungban.oidc.dpop.nonce"


class DPoPError(OAuth2Error):
    """``invalid_dpop_proof`` (RFC 9449 §5, §7.1)."""

    error = "invalid_dpop_proof"
    status_code = 400

    def get_headers(self):
        return [*super().get_headers(), ("DPoP-Nonce", new_nonce())]


class UseDPoPNonce(DPoPError):
    """``use_dpop_nonce`` (RFC 9449 §8): retry with the nonce in the ``DPoP-Nonce`` header."""

    error = "use_dpop_nonce"

    def __init__(self, description=None, **kwargs):
        super().__init__(description or "Resend the request with a DPoP proof carrying the server's nonce.", **kwargs)


def new_nonce() -> str:
    """A fresh server nonce (RFC 9449 §8) for the ``DPoP-Nonce`` response header."""
    return signing.TimestampSigner(salt=_NONCE_SALT).sign(secrets.token_urlsafe(8))


def _nonce_valid(nonce) -> bool:
    if not isinstance(nonce, str) or len(nonce) > 200:
        return False
    try:
        signing.TimestampSigner(salt=_NONCE_SALT).unsign(nonce, max_age=NONCE_LIFETIME)
    except signing.BadSignature:
        return False
    return True


def access_token_hash(access_token: str) -> str:
    """``ath`` (RFC 9449 §4.2): base64url SHA-256 of the access token, no padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(access_token.encode()).digest()).rstrip(b"=").decode()


def endpoint_url(path: str) -> str:
    """The ``htu`` a proof for ``path`` must carry: the issuer's public URL of the endpoint."""
    return f"{settings.TUNGBAN_ISSUER}{path}"


def _htu(value) -> str | None:
    """``value`` (an ``htu`` or an endpoint's URL) normalised for comparison, without query
    and fragment (RFC 9449 §4.3: servers SHOULD apply RFC 3986 §6.2.2 syntax-based and
    §6.2.3 scheme-based normalisation): scheme and host in lower case (the host IDNA-encoded),
    no default port, percent-encodings of unreserved characters decoded and the others in
    upper case, dot segments removed, an empty path as ``/`` (yarl does all of it).
    ``None`` for anything but an absolute http(s) URL with a host."""
    try:
        url = URL(str(value))
        if url.scheme not in ("http", "https") or not url.host_port_subcomponent:
            return None
        return f"{url.scheme}://{url.host_port_subcomponent}{url.raw_path or '/'}"
    except (ValueError, TypeError, UnicodeError):  # e.g. a malformed IPv6 host or port
        return None


def check_proof(
    proof: str | None, *, method: str, url: str, access_token: str | None = None, require_nonce: bool = False
) -> str:
    """Verify one DPoP proof (RFC 9449 §4.3) and record its ``jti``.

    :param proof: the ``DPoP`` header's value.
    :param method: the request's HTTP method (``htm``).
    :param url: the endpoint's public URL (``htu``; query and fragment ignored).
    :param access_token: at a resource: the token the proof must hash (``ath``).
    :param require_nonce: whether a server nonce is required (§8; the token endpoint). Where
        it is not (a resource), a nonce the proof carries is still checked: a stale or foreign
        one is ``use_dpop_nonce``, answered with a fresh ``DPoP-Nonce`` (§9), so the client
        recovers in one retry instead of failing on every call.
    :returns: the proof key's JWK SHA-256 thumbprint (``jkt``, RFC 7638).
    :raises DPoPError: ``invalid_dpop_proof`` for a bad or replayed proof.
    :raises UseDPoPNonce: ``use_dpop_nonce`` when the nonce is missing, stale or not ours.
    """
    if not proof or not isinstance(proof, str) or "," in proof:
        raise DPoPError("Send exactly one DPoP proof in the 'DPoP' header.")
    try:
        header = jws.extract_compact(proof.encode()).headers()
        if header.get("typ") != "dpop+jwt" or header.get("alg") not in ALGORITHMS:
            raise DPoPError(f"The proof must have typ 'dpop+jwt' and alg {' or '.join(ALGORITHMS)}.")
        jwk = header.get("jwk")
        if not isinstance(jwk, dict) or "d" in jwk or jwk.get("kty") not in ("EC", "RSA"):
            raise DPoPError("The proof header must carry the public key as 'jwk'.")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # joserfc's SecurityWarning of a small RSA key: refused below
            key = (ECKey if jwk["kty"] == "EC" else RSAKey).import_key(jwk)
        if validators.rsa_too_small(key):
            raise DPoPError(f"RSA proof keys must be at least {validators.MIN_RSA_BITS} bits (FAPI 2.0 5.4.1).")
        claims = jwt.decode(proof, key, algorithms=[header["alg"]]).claims
    except DPoPError:
        raise
    except (JoseError, ValueError, TypeError, KeyError):
        raise DPoPError("The DPoP proof is not a valid signed JWT.") from None
    jti, iat = claims.get("jti"), claims.get("iat")
    if not isinstance(jti, str) or not jti or len(jti) > 128:
        raise DPoPError("The proof needs a 'jti'.")
    if claims.get("htm") != method.upper():
        raise DPoPError("The proof's 'htm' is not this request's method.")
    htu = _htu(claims["htu"]) if isinstance(claims.get("htu"), str) else None
    if htu is None or htu != _htu(url):
        raise DPoPError("The proof's 'htu' is not this endpoint.")
    now = time.time()
    if not isinstance(iat, int | float) or not (now - MAX_AGE <= iat <= now + CLOCK_SKEW):
        raise DPoPError(f"The proof's 'iat' must be within {MAX_AGE} seconds of now.")
    if access_token is not None and claims.get("ath") != access_token_hash(access_token):
        raise DPoPError("The proof's 'ath' does not match the access token.")
    if "nonce" in claims or require_nonce:
        if not _nonce_valid(claims.get("nonce")):
            raise UseDPoPNonce()
    jkt = key.thumbprint()
    _remember(f"{jkt}:{jti}", iat)
    return jkt


def _remember(jti: str, iat: float) -> None:
    """Record a proof's ``jti`` until its ``iat`` leaves the window (RFC 9449 §11.1).

    :raises DPoPError: when it was seen before.
    """
    try:
        with transaction.atomic():
            UsedDPoPProof.objects.create(
                jti=jti[:200], expires_at=datetime.fromtimestamp(iat + MAX_AGE + CLOCK_SKEW + 1, tz=UTC)
            )
    except IntegrityError:
        raise DPoPError("This DPoP proof was used before.") from None
