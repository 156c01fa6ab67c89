"""The personal code (個人碼, issue 16; anchor study §2.4 and §4(d) D1–D6): a QR the resident
shows to prove who they are in person, verifiable offline and unlinkable across verifiers.

Design (SD-JWT, RFC 9901, as the e-licences; made with the ``sd-jwt`` library, checked with
the same joserfc-backed verifier as 認證易):

1. The app picks a verifier (:func:`verifiers`: a counter, a library…) and asks the platform,
   with its device proof, for a **personal-code credential** for it (:func:`issue_personal_code`):
   an SD-JWT signed with the platform's published key (``keys``, the OIDC JWKS), header
   ``{"alg": "ES256", "typ": "dc+sd-jwt", "kid"}``, payload ``iss`` (the platform),
   ``vct`` = :data:`VCT`, ``aud`` (the verifier's id), ``sub`` (the resident's **pairwise
   identifier for that verifier**, OIDC Core §8.1, :func:`tungban.oidc.services.sector_sub`
   at sector ``personal-code:<verifier>``), ``iat``/``exp`` (``TUNGBAN_PERSONAL_CODE_TTL``)
   and ``cnf.jwk``, and selectively disclosable ``name`` (English name as on the HKID card),
   ``name_zh`` and ``tier`` (``basic``/``plus``: the assurance level, no photo).
2. ``cnf.jwk`` is a key the app made on the device **for this verifier** (WebCrypto,
   not extractable; the CLI keeps it sealed like its device key). The platform binds it only
   on a call signed by the bound device key that also carries a signature by that key over the
   verifier and the device (:func:`check_holder_proof`, proof of possession), so the device
   holds the key the QR is signed with (it may still hand the key on: that, as sharing the
   phone, is the resident's act), yet two
   verifiers never see the same key: nothing in two codes for two verifiers is the same
   (D6; with ``cnf`` = the device key itself every code would carry one static key).
3. The QR is the presentation (SD-JWT §4): the JWT, the disclosures the resident chose and a
   KB-JWT (§4.3) by that key with ``aud`` = the verifier's id, ``nonce`` and ``iat``; a
   verifier accepts it for :data:`MAX_AGE` seconds at most (``TUNGBAN_PERSONAL_CODE_MAX_AGE``,
   ≤ 60; the app makes a new one before then).
4. :func:`verify_personal_code` needs only the platform's JWKS: the counter's page, the CLI and
   any verifier check a code with no call to the platform (offline, D2), refusing one made for
   another verifier, a stale or replayed one (``seen``: the verifier's own cache of nonces).

Verifying is offline, so there is no status check (issue 16 review L2): a code made from a
credential the app already holds verifies until the credential's ``exp`` —
``TUNGBAN_PERSONAL_CODE_TTL`` (default 6 h) after the app fetched it — even if the account was
suspended or the phone reported lost since. The app fetches a fresh credential whenever it is
online; the TTL bounds the offline grace and that window. A new credential is refused at once
to a suspended account (the device proof is refused).

The platform does not log presentations; it only issues the per-verifier credential.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj

from tungban.identity.models import Resident, Tier
from tungban.keys import services as keys
from tungban.oidc import services as oidc

from .. import errors
from .issuance import CompactSDJWTIssuer

#: The ``vct`` of a personal-code credential (short: it is in every QR).
VCT = "urn:tungban:personal-code"
TYP = "dc+sd-jwt"
#: What a resident may choose to show, in display order.
CLAIMS = ("name", "name_zh", "tier")
CLAIM_LABELS = {
    "name": gettext_lazy("Name (English)"),
    "name_zh": gettext_lazy("Name (Chinese)"),
    "tier": gettext_lazy("Account level (no photo)"),
}


def max_age() -> int:
    """Seconds a verifier accepts a code after its KB-JWT's ``iat``: at most 60 (issue 16)."""
    return max(5, min(60, int(settings.TUNGBAN_PERSONAL_CODE_MAX_AGE)))


def verifiers() -> dict[str, dict]:
    """The verifiers a resident can pick: ``{id: {"name_en", "name_zh"}}`` from
    ``TUNGBAN_PERSONAL_CODE_VERIFIERS``."""
    found = settings.TUNGBAN_PERSONAL_CODE_VERIFIERS
    return {str(k): v for k, v in found.items() if isinstance(v, dict)} if isinstance(found, dict) else {}


def verifier_name(verifier_id: str, language: str | None = None) -> str:
    """The verifier's name in ``language`` (default: the request's).

    :raises DomainError: ``verifier_unknown`` (404)."""
    found = verifiers().get(verifier_id)
    if found is None:
        raise errors.VerifierUnknown(id=verifier_id)
    zh = (language or get_language() or "").lower().startswith("zh")
    return str(found.get("name_zh" if zh else "name_en") or found.get("name_en") or verifier_id)


def tier_label(tier: str) -> str:
    return str(Tier(tier).label) if tier in Tier.values else tier


def claim_values(resident: Resident) -> dict:
    """The disclosable claims of ``resident``: ``{"name", "name_zh"?, "tier"}``."""
    values = {"name": resident.name_en, "tier": resident.tier}
    if resident.name_zh:
        values["name_zh"] = resident.name_zh
    return values


def shown_claims(values: dict) -> list[dict]:
    """``[{"name", "label", "value"}]`` in :data:`CLAIMS` order, labels and the tier in the
    request's language (for the app's choice and the verifier's result)."""
    return [
        {
            "name": n,
            "label": str(CLAIM_LABELS[n]),
            "value": tier_label(values[n]) if n == "tier" else values[n],
        }
        for n in CLAIMS
        if n in values
    ]


def _holder_jwk(jwk) -> dict:
    """The public P-256 JWK ``{kty, crv, x, y}`` of ``jwk``.

    :raises DomainError: ``holder_key_invalid``."""
    if not isinstance(jwk, dict) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256" or "d" in jwk:
        raise errors.HolderKeyInvalid()
    public = {k: jwk.get(k) for k in ("kty", "crv", "x", "y")}
    if not all(isinstance(v, str) and len(v) < 100 for v in public.values()):
        raise errors.HolderKeyInvalid()
    try:
        JWK(**public).get_op_key("verify")  # on the curve, right lengths
    except Exception:  # jwcrypto raises plain exceptions
        raise errors.HolderKeyInvalid() from None
    return public


#: ``typ`` of the app's proof of possession of ``holder_jwk`` (:func:`check_holder_proof`).
POP_TYP = "personal-code-pop+jwt"
#: Seconds a proof of possession is accepted after its ``iat`` (either way, for clocks).
POP_MAX_AGE = 300


def check_holder_proof(holder_jwk, proof, verifier_id: str, device_id: str, *, now: float | None = None) -> None:
    """Check the app's proof of possession of ``holder_jwk`` (issue 16 security review L1):
    a compact JWS (RFC 7515) by that key, header ``{"alg": "ES256", "typ": POP_TYP}``, payload
    ``{"aud": verifier_id, "device": device_id, "iat"}`` with ``iat`` within
    :data:`POP_MAX_AGE` seconds of now. The device id ties it to the calling device (whose
    own proof the API has checked), so a proof seen elsewhere is of no use on another device;
    without it a device could have its resident's credential bound to any public key, e.g.
    one held by someone else, and the code be made off the phone. Verified with joserfc.

    :raises DomainError: ``holder_key_invalid`` (400), ``holder_proof_invalid`` (400)."""
    from joserfc import jws
    from joserfc.errors import JoseError
    from joserfc.jwk import ECKey

    public = _holder_jwk(holder_jwk)
    if not isinstance(proof, str) or len(proof) > 2048:
        raise errors.HolderProofInvalid()
    try:
        found = jws.deserialize_compact(proof, ECKey.import_key(public), algorithms=["ES256"])
        payload = json.loads(found.payload)
    except (JoseError, ValueError, TypeError):
        raise errors.HolderProofInvalid() from None
    now = time.time() if now is None else now
    iat = payload.get("iat") if isinstance(payload, dict) else None
    if (
        found.protected.get("typ") != POP_TYP
        or payload.get("aud") != verifier_id
        or payload.get("device") != device_id
        or not isinstance(iat, (int, float))
        or abs(now - iat) > POP_MAX_AGE
    ):
        raise errors.HolderProofInvalid()


def issue_personal_code(resident: Resident, verifier_id: str, holder_jwk, *, now: float | None = None) -> dict:
    """The personal-code credential of ``resident`` for ``verifier_id`` (module docstring, 1),
    bound to ``holder_jwk`` (the key the app made for this verifier). The caller has checked
    the bound device's proof and the app's proof of possession of ``holder_jwk``
    (:func:`check_holder_proof`: the API does both), so the key is one the device holds.

    :returns: ``{"sd_jwt", "verifier" {"id", "name"}, "aud", "sub", "expires_at" (datetime),
        "max_age" (s), "claims" [{name, label, value}]}``.
    :raises DomainError: ``verifier_unknown`` (404), ``holder_key_invalid`` (400).
    """
    name = verifier_name(verifier_id)
    public = _holder_jwk(holder_jwk)
    sub = oidc.sector_sub(resident, f"personal-code:{verifier_id}")
    iat = int(time.time() if now is None else now)
    exp = iat + max(60, int(settings.TUNGBAN_PERSONAL_CODE_TTL))
    values = claim_values(resident)
    user_claims = {"iss": settings.TUNGBAN_ISSUER, "vct": VCT, "aud": verifier_id, "sub": sub, "iat": iat, "exp": exp}
    user_claims.update({SDObj(k): v for k, v in values.items()})
    kid, key = keys.active_key()
    token = CompactSDJWTIssuer(
        user_claims,
        JWK.from_pyca(key.private_key),
        holder_key=JWK(**public),
        sign_alg="ES256",
        extra_header_parameters={"typ": TYP, "kid": kid},
    ).sd_jwt_issuance
    return {
        "sd_jwt": token,
        "verifier": {"id": verifier_id, "name": name},
        "aud": verifier_id,
        "sub": sub,
        "expires_at": dt.datetime.fromtimestamp(exp, dt.UTC),
        "max_age": max_age(),
        "claims": shown_claims(values),
    }


# --- Verifying (offline: the platform's JWKS only) ---------------------------------------------


@dataclass
class PersonalCodeCheck:
    """The outcome of :func:`verify_personal_code`: ``valid`` when there are no ``problems``
    (``[{"code", "message"}]``); ``sub`` is the holder's identifier for this verifier,
    ``claims`` the disclosed claims (``{name: value}``), ``presented_at`` the KB-JWT's time."""

    valid: bool = False
    problems: list[dict] = field(default_factory=list)
    verifier: str | None = None
    sub: str | None = None
    claims: dict = field(default_factory=dict)
    presented_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None

    def problem(self, code: str, message: str) -> None:
        self.problems.append({"code": code, "message": message})

    def codes(self) -> list[str]:
        return [p["code"] for p in self.problems]


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _digest(disclosure: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(disclosure.encode("ascii")).digest()).rstrip(b"=").decode()


def _when(epoch) -> dt.datetime | None:
    if isinstance(epoch, (int, float)) and math.isfinite(epoch) and 0 <= epoch < 253402300800:
        return dt.datetime.fromtimestamp(epoch, dt.UTC)
    return None


def verify_personal_code(
    text: str,
    jwks: dict,
    verifier_id: str,
    *,
    issuer: str | None = None,
    now: float | None = None,
    leeway: int = 5,
    seen: Callable[[str], bool] | None = None,
) -> PersonalCodeCheck:
    """Check a personal code offline (module docstring, 4): the platform's signature (a key of
    ``jwks`` by ``kid``; ES256), ``vct``, ``iss`` (default ``TUNGBAN_ISSUER``), that it was
    made for ``verifier_id`` (the credential's and the KB-JWT's ``aud``), every disclosure
    signed (SD-JWT §7.1), the credential's ``exp``, the KB-JWT by ``cnf.jwk`` over exactly
    this presentation (§7.3) and no older than :func:`max_age` seconds (``leeway`` for
    clocks). ``seen(key)`` (optional) answers whether this code was already accepted and
    records it (a verifier's replay cache; the key is the SHA-256 of what the holder signed,
    the KB-JWT's ``header.payload``, never of its signature: ECDSA signatures are malleable,
    (r, s) and (r, n − s) both verify, so a key over the signature let one code be accepted
    twice — issue 16 security review M2).

    Never raises for bad input: every failure is a problem (codes ``malformed``,
    ``issuer_key_unknown``, ``signature_invalid``, ``not_a_personal_code``, ``wrong_verifier``,
    ``disclosure_invalid``, ``holder_binding_missing``, ``holder_binding_invalid``,
    ``credential_expired``, ``presentation_stale``, ``presentation_replayed``).
    """
    from .sdjwt_check import _canonical, _ec_key, _SDJWTVerifier

    now = time.time() if now is None else now
    result = PersonalCodeCheck(verifier=verifier_id)
    text = "".join((text or "").split())
    parts = text.split("~")
    if len(parts) < 2 or parts[0].count(".") != 2 or len(text) > 8192 or not text.isascii():
        result.problem("malformed", _("This is not a personal code."))
        return result
    jwt_part, *disclosures, kb_jwt = parts
    try:
        header = json.loads(_b64d(jwt_part.split(".")[0]))
        payload = json.loads(_b64d(jwt_part.split(".")[1]))
        kb_payload = json.loads(_b64d(kb_jwt.split(".")[1])) if kb_jwt else None
        if not isinstance(header, dict) or not isinstance(payload, dict):
            raise ValueError("not objects")
    except (ValueError, IndexError):
        result.problem("malformed", _("This is not a personal code."))
        return result
    keys_by_kid = {k.get("kid"): k for k in (jwks or {}).get("keys", []) if isinstance(k, dict)}
    if header.get("alg") != "ES256" or header.get("typ") != TYP or header.get("kid") not in keys_by_kid:
        result.problem("issuer_key_unknown", _("The code was not signed with a published key of the platform."))
        return result
    if payload.get("vct") != VCT or payload.get("iss") != (issuer or settings.TUNGBAN_ISSUER):
        result.problem("not_a_personal_code", _("This is not a personal code of this platform."))
        return result
    if payload.get("aud") != verifier_id:
        result.problem(
            "wrong_verifier", _("This code was made for another verifier: ask the holder to choose this one.")
        )
        return result
    if not kb_jwt or not isinstance(kb_payload, dict):
        result.problem("holder_binding_missing", _("The holder's app did not sign this code."))
        return result
    issuer_key = lambda iss, hdr: _ec_key(_canonical(keys_by_kid[hdr["kid"]]))  # noqa: E731
    try:
        claims = _SDJWTVerifier(
            text, issuer_key, expected_aud=verifier_id, expected_nonce=kb_payload.get("nonce") or "-"
        ).get_verified_payload()
    except Exception:  # sd-jwt and joserfc raise plain exceptions
        try:
            _SDJWTVerifier(jwt_part + "~", issuer_key)
        except Exception:
            result.problem("signature_invalid", _("The platform's signature does not match: the code was altered."))
        else:
            result.problem("holder_binding_invalid", _("The holder's signature on this code does not verify."))
        return result
    referenced = set(payload.get("_sd") or [])
    if any(_digest(d) not in referenced for d in disclosures):
        result.problem("disclosure_invalid", _("A detail in the code was altered."))
        return result
    result.sub = payload.get("sub") if isinstance(payload.get("sub"), str) else None
    result.claims = {k: claims[k] for k in CLAIMS if k in claims}
    result.expires_at = _when(payload.get("exp"))
    if not isinstance(payload.get("exp"), (int, float)) or payload["exp"] < now - leeway:
        result.problem("credential_expired", _("The holder's code has expired: ask them to open it again."))
    iat = kb_payload.get("iat")
    result.presented_at = _when(iat)
    if result.presented_at is None or iat > now + leeway or iat < now - max_age() - leeway:
        result.problem(
            "presentation_stale", _("The code is older than %(s)d seconds: ask the holder to show a fresh one.")
        )
        result.problems[-1]["message"] = result.problems[-1]["message"] % {"s": max_age()}
    elif seen is not None and seen(hashlib.sha256(kb_jwt.rsplit(".", 1)[0].encode("ascii")).hexdigest()):
        result.problem("presentation_replayed", _("This code was already checked once: ask for a fresh one."))
    result.valid = not result.problems
    return result


def replay_cache(prefix: str = "tungban:personal-code:seen:") -> Callable[[str], bool]:
    """A ``seen`` for :func:`verify_personal_code` on the verifier's own cache (no call to
    the platform): ``True`` when the key was recorded in the last ``2 × max_age`` s. The
    ``ratelimit`` cache's ``add`` of an int is one atomic upsert shared by every worker
    (:class:`tungban.core.ratelimit.CounterCache`); its expired rows are purged on schedule."""
    from django.core.cache import caches

    cache = caches["ratelimit"]

    def seen(key: str) -> bool:
        return not cache.add(prefix + key, 1, timeout=2 * max_age() + 10)

    return seen


def published_jwks() -> dict:
    """The platform's published JWKS (the one a verifier caches, ``/oidc/jwks``)."""
    return keys.public_jwks()
