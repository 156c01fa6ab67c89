"""認證易: verifying a presented credential, online or offline.

:func:`verify_presentation` checks an SD-JWT VC presentation
(``<issuer-signed JWT>~<disclosure>~...~<KB-JWT or empty>``) against a :class:`TrustSource`:

1. the issuer-signed JWT: ``typ`` ``dc+sd-jwt``, a key of the named issuer (``kid``), ES256
   signature (SD-JWT §7.1 step 2, via the ``sd-jwt`` library);
2. the disclosures: each must be referenced by a digest in the JWT (SD-JWT §7.1 step 3.3,
   which the library does not enforce, so we do);
3. validity: ``nbf`` and ``exp`` (RFC 7519 §4.1.4–5) with ``leeway`` seconds;
4. key binding: when a KB-JWT is present it must verify with ``cnf.jwk``, cover exactly
   this presentation (``sd_hash``), name the expected ``aud``/``nonce`` when given, and be
   fresh (``iat`` within ``TUNGBAN_PRESENTATION_MAX_AGE``) (SD-JWT §7.3); a ``nonce`` that is
   one of 認證易's verifier codes is spent (single use: a replay is refused), and a verifier
   that offered a code gets only proofs naming it (issue 13 item 12);
5. status: the issuer-signed Status List Token at ``status.status_list.uri``, entry ``idx``
   (Token Status List §8);
6. transparency: the issuance leaf and its inclusion proof against a signed tree head
   (RFC 9162 §2.1.3.2).

:class:`DatabaseTrust` answers from this platform's database; :class:`BundleTrust` from a
trust bundle (``GET /api/v1/credentials/trust-bundle``) for offline verification.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import json
import math
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _
from joserfc import jws as jose_jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from tungban.core import ratelimit
from tungban.core.errors import DomainError
from tungban.keys import services as keys
from tungban.ledger import merkle, transparency
from tungban.wallet import services as wallet

from . import errors, services
from .models import CredentialType, Issuer
from .services.sdjwt_check import ES256, Parsed, _canonical, _ec_key, _SDJWTVerifier, library_decodes  # noqa: F401 (kept importable here)

ACCEPTED_TYPS = {"dc+sd-jwt", "vc+sd-jwt"}
STATUS_NAMES = {0: "valid", 1: "revoked", 2: "suspended"}


class TrustSource(Protocol):
    def issuer(self, iss: str) -> dict | None: ...  # {"name_en", "name_zh", "jwks"}
    def credential_type(self, vct: str) -> dict | None: ...  # {"id", "name_en", "name_zh", "display"}
    def status_list_token(self, uri: str) -> str | None: ...
    def log_jwks(self) -> dict: ...
    def audience(self) -> str: ...  # the aud of an in-person KB-JWT: the platform's /verify
    def holder_key_current(self, jwk: dict | None) -> bool: ...  # is the cnf key still a bound app?
    def tree_head(self) -> dict | None: ...  # {"tree_size", "root_hash", "timestamp", "signature"}
    def use_nonce(self, nonce) -> str: ...  # spend a verifier code: used_now/already_used/expired/unknown
    def inclusion(self, digest: str, tree_size: int) -> dict | None: ...  # {"leaf_index", "body", "inclusion_path"}


@dataclass
class Verification:
    """The outcome: ``valid`` when there are no ``problems`` (``[{"code", "message"}]``).

    ``claims`` are the disclosed claims only; ``undisclosed`` counts the digests the holder
    did not disclose. ``status`` is ``valid``/``revoked``/``suspended``/``unknown``;
    ``holder_binding`` is ``verified``, ``not_presented`` (the credential is bound but no
    KB-JWT came with it: a paper copy) or ``unbound``. ``log`` is ``{"leaf_index",
    "tree_size", "included"}`` or None when the log could not be consulted.
    ``nonce_check`` says what made a verified holder proof one-time: ``verifier_code`` (a
    verifier code of 認證易, now spent), ``expected`` (the nonce the caller expected), or
    ``none`` (no verifier nonce: the proof could be replayed while it is fresh); None when
    there is no verified holder proof.
    """

    valid: bool = False
    problems: list[dict] = field(default_factory=list)
    issuer: str | None = None
    issuer_name_en: str | None = None
    issuer_name_zh: str | None = None
    vct: str | None = None
    type_id: str | None = None
    type_name_en: str | None = None
    type_name_zh: str | None = None
    display: dict = field(default_factory=dict)
    claims: dict = field(default_factory=dict)
    undisclosed: int = 0
    issued_at: dt.datetime | None = None
    valid_from: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    status: str = "unknown"
    holder_binding: str = "unbound"
    presented_at: dt.datetime | None = None
    log: dict | None = None
    digest: str | None = None
    nonce_check: str | None = None

    def problem(self, code: str, message: str) -> None:
        self.problems.append({"code": code, "message": message})

    def codes(self) -> list[str]:
        return [p["code"] for p in self.problems]

    def as_dict(self) -> dict:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for k in ("issued_at", "valid_from", "expires_at", "presented_at"):
            out[k] = out[k].isoformat() if out[k] else None
        return out


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64hash(text: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


def _decode_disclosures(disclosures: list[str]) -> tuple[list, bool]:
    """Each disclosure's JSON, and whether the ``sd-jwt`` library's own parse would refuse one
    (its base64url decoder, or strict UTF-8: a byte order mark, UTF-16/32 or an encoded
    surrogate, which ``json.loads`` of bytes accepts). Where both accept, both give the same
    value (issue 15, twelfth round: the library decoded every disclosure a second time).

    :raises ValueError: a disclosure that is no base64url JSON at all."""
    decoded, refused = [], False
    for disclosure in disclosures:
        raw = _b64d(disclosure)
        try:
            value = json.loads(raw.decode("utf-8"))  # as SDJWTCommon._create_hash_mappings
        except ValueError:
            value, refused = json.loads(raw), True
        else:
            refused = refused or not library_decodes(disclosure)
        decoded.append(value)
    return decoded, refused


def _when(epoch) -> dt.datetime | None:
    if not isinstance(epoch, (int, float)) or not math.isfinite(epoch) or not 0 <= epoch < 253402300800:
        return None
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def extract_presentation(text: str) -> str:
    """The SD-JWT from pasted text or a scanned QR: either the presentation itself or a
    认证易 link ``…/verify/#vc=<presentation>``.

    :raises DomainError: ``credential_malformed`` when no SD-JWT is found.
    """
    text = (text or "").strip()
    if "#vc=" in text:
        text = text.split("#vc=", 1)[1]
    text = "".join(text.split())
    parts = text.split("~")
    if len(parts) < 2 or parts[0].count(".") != 2 or len(text) > 64 * 1024 or not text.isascii():
        raise errors.CredentialMalformed()
    return text


def verify_presentation(
    text: str,
    trust: TrustSource,
    *,
    expected_aud: str | None = None,
    expected_nonce: str | None = None,
    verifier_code: str | None = None,
    now: float | None = None,
    leeway: int = 60,
) -> Verification:
    """Check a presented credential (see the module docstring).

    :param text: the presentation, or a ``#vc=`` link (:func:`extract_presentation`).
    :param expected_aud: / ``expected_nonce``: what the KB-JWT must name (a verifier that
        sent a nonce); otherwise the KB-JWT must be addressed to 認證易 and fresh.
    :param verifier_code: the verifier code 認證易 offered this verifier
        (:func:`.services.new_verifier_nonce`): the KB-JWT's ``nonce`` must name it.
    :raises DomainError: ``credential_malformed`` for text that is no SD-JWT at all;
        every other failure is a problem in the returned :class:`Verification`.
    """
    now = time.time() if now is None else now
    presentation = extract_presentation(text)
    result = Verification()
    jwt_part, *disclosures, kb_jwt = presentation.split("~")
    header_segment, payload_segment, _signature = jwt_part.split(".")
    try:
        header = json.loads(_b64d(header_segment))
        payload_bytes = _b64d(payload_segment)
        payload = json.loads(payload_bytes)
        decoded, refused = _decode_disclosures(disclosures)
    except ValueError:
        raise errors.CredentialMalformed() from None
    refused = refused or not library_decodes(payload_segment)
    if not isinstance(payload, dict) or not isinstance(header, dict):
        raise errors.CredentialMalformed(_("This is not an e-certificate."))
    result.digest = hashlib.sha256(jwt_part.encode("ascii")).hexdigest()
    iss, vct = payload.get("iss"), payload.get("vct")
    result.issuer = iss if isinstance(iss, str) else None
    result.vct = vct if isinstance(vct, str) else None

    prefetch = getattr(trust, "prefetch", None)
    if prefetch is not None and result.issuer:
        ref = payload.get("status") if isinstance(payload.get("status"), dict) else {}
        ref = ref.get("status_list") if isinstance(ref.get("status_list"), dict) else {}
        cnf = payload.get("cnf") if isinstance(payload.get("cnf"), dict) else {}
        prefetch(
            result.issuer,
            result.vct,
            ref.get("uri") if isinstance(ref.get("uri"), str) else None,
            holder_jwk=cnf.get("jwk") if isinstance(cnf.get("jwk"), dict) else None,
            digest=result.digest,
        )
    issuer = trust.issuer(result.issuer) if result.issuer else None
    if issuer is None:
        result.problem("issuer_unknown", _("The issuer is not a department known to this platform."))
        return result
    result.issuer_name_en, result.issuer_name_zh = issuer["name_en"], issuer["name_zh"]
    ctype = trust.credential_type(result.vct) if result.vct else None
    if ctype:
        result.type_id, result.type_name_en, result.type_name_zh, result.display = (
            ctype["id"],
            ctype["name_en"],
            ctype["name_zh"],
            ctype.get("display") or {},
        )
    else:
        result.problem("type_unknown", _("The credential type is unknown."))
    if not isinstance(header.get("typ"), str) or header["typ"] not in ACCEPTED_TYPS or header.get("alg") != "ES256":
        result.problem("format_unsupported", _("This is not an SD-JWT verifiable credential signed with ES256."))
        return result
    keys = {k.get("kid"): k for k in issuer["jwks"].get("keys", [])}
    if not isinstance(header.get("kid"), str) or header["kid"] not in keys:
        result.problem(
            "issuer_key_unknown",
            _("The credential was not signed with a key of %(issuer)s.") % {"issuer": issuer["name_en"]},
        )
        return result

    # Key binding is checked by the library only when it is given an audience and a nonce.
    kb_payload = kb_payload_bytes = None
    if kb_jwt:
        try:
            kb_payload_bytes = _b64d(kb_jwt.split(".")[1])
            kb_payload = json.loads(kb_payload_bytes)
            if not isinstance(kb_payload, dict):
                raise ValueError("not an object")
        except (ValueError, IndexError):
            result.problem("holder_binding_invalid", _("The holder's proof is damaged."))
            return result
    digests = [_b64hash(d) for d in disclosures]
    if len(set(digests)) != len(digests):
        result.problem("disclosure_invalid", _("A disclosed claim is repeated."))
        return result
    # The issuer's JWK as canonical JSON: its signature check is kept per token and key text
    # (sdjwt_check._issuer_signed_payload), as status list tokens and tree heads are here.
    issuer_key = lambda iss, hdr: _canonical(keys[hdr["kid"]])  # noqa: E731
    # The library is given what was decoded above instead of parsing it all again (issue 15,
    # twelfth round): the same checks on the same values (_SDJWTVerifier.of_parsed).
    parsed = Parsed(
        jwt_part,
        header,
        payload,
        payload_bytes,
        disclosures,
        decoded,
        digests,
        kb_jwt,
        kb_payload,
        kb_payload_bytes,
        refused,
    )
    claims = None
    if kb_payload is not None:
        # The library checks a KB-JWT only when given the audience and nonce to expect; one
        # pass checks the issuer's signature and the KB-JWT. Only when it fails is the
        # issuer's signature checked alone, to tell which of the two is wrong.
        try:
            claims = _SDJWTVerifier.of_parsed(
                parsed,
                issuer_key,
                expected_aud=expected_aud or trust.audience(),
                expected_nonce=expected_nonce or kb_payload.get("nonce") or "-",
            ).get_verified_payload()
        except Exception:  # jwcrypto and sd-jwt raise plain exceptions
            kb_failed = True
        else:
            kb_failed = False
    if claims is None:
        try:
            claims = _SDJWTVerifier.of_parsed(parsed, issuer_key).get_verified_payload()
        except Exception:  # jwcrypto and sd-jwt raise plain exceptions
            result.problem(
                "signature_invalid", _("The issuer's signature does not match: the credential was altered or forged.")
            )
            return result
        if kb_payload is not None and kb_failed:
            result.problem(
                "holder_binding_invalid",
                _("The proof that the holder's app presented this credential does not verify."),
            )
            kb_payload = None

    referenced = {d for d in payload.get("_sd", []) if isinstance(d, str)}
    unreferenced = [d for d, digest in zip(disclosures, digests, strict=True) if digest not in referenced]
    if unreferenced:
        result.problem("disclosure_invalid", _("A disclosed claim was altered: it is not one the issuer signed."))
    if any(not isinstance(d, list) or len(d) != 3 for d in decoded):
        result.problem("disclosure_invalid", _("A disclosed claim is malformed."))
    hidden = {"iss", "vct", "iat", "nbf", "exp", "status", "cnf", "_sd", "_sd_alg"}
    result.claims = {k: v for k, v in claims.items() if k not in hidden}
    result.undisclosed = max(0, len(referenced) - (len(disclosures) - len(unreferenced)))
    result.issued_at, result.valid_from, result.expires_at = (
        _when(payload.get("iat")),
        _when(payload.get("nbf")),
        _when(payload.get("exp")),
    )
    if isinstance(payload.get("nbf"), (int, float)) and payload["nbf"] > now + leeway:
        result.problem("credential_not_yet_valid", _("The credential is not valid yet."))
    if isinstance(payload.get("exp"), (int, float)) and payload["exp"] < now - leeway:
        result.problem("credential_expired", _("The credential has expired."))

    cnf = payload.get("cnf")
    if kb_payload is not None:
        iat = kb_payload.get("iat")
        max_age = settings.TUNGBAN_PRESENTATION_MAX_AGE
        if (
            not isinstance(iat, (int, float))
            or not math.isfinite(iat)
            or iat > now + leeway
            or (expected_nonce is None and iat < now - max_age)
        ):
            result.problem(
                "presentation_stale", _("The holder's proof is too old: ask the holder to show the QR code again.")
            )
        elif not trust.holder_key_current(cnf.get("jwk") if isinstance(cnf, dict) else None):
            result.problem(
                "holder_device_unbound",
                _("The phone this credential is bound to is no longer the holder's bound app (lost or replaced)."),
            )
        elif _check_nonce(result, kb_payload.get("nonce"), trust, expected_nonce, verifier_code):
            result.holder_binding, result.presented_at = "verified", _when(iat)
    elif cnf and not kb_jwt:
        result.holder_binding = "not_presented"
        # SD-JWT §7.3: a verifier that asks for key binding (a nonce) must get it. Without
        # one, only the whole printed credential (every claim, the paper copy) is accepted,
        # so a copied in-person QR stripped of its proof cannot pass as someone else's.
        if expected_nonce or expected_aud or verifier_code:
            result.problem(
                "holder_binding_missing",
                _("The holder's app did not present this credential: ask the holder to show it from the app."),
            )
        elif result.undisclosed:
            result.problem(
                "holder_binding_missing",
                _(
                    "A partial credential must be shown from the holder's app: ask the holder to show the QR code in the app."
                ),
            )

    _check_status(result, payload, trust, now)
    _check_log(result, trust)
    result.valid = not result.problems
    return result


def _check_nonce(result: Verification, nonce, trust: TrustSource, expected: str | None, code: str | None) -> bool:
    """The one-time part of a holder's proof (issue 13 item 12); ``False`` with a problem
    when it fails. The KB-JWT's signature, audience and ``sd_hash`` were checked before."""
    if expected is not None:  # the caller's own nonce, compared by the library
        result.nonce_check = "expected"
        return True
    if code and services.normalise_code(nonce if isinstance(nonce, str) else "") != services.normalise_code(code):
        result.problem(
            "verifier_code_missing",
            _(
                "The holder's proof was not made for your verifier code %(code)s: ask the holder to enter it in the app and show the QR code again."
            )
            % {"code": services.display_code(services.normalise_code(code))},
        )
        return False
    state = trust.use_nonce(nonce)
    if state == "already_used":
        result.problem(
            "presentation_replayed",
            _("This proof was already checked once, so it may be a copy: ask the holder to show the QR code again."),
        )
        return False
    if state == "expired":
        result.problem(
            "verifier_code_expired", _("The verifier code in the holder's proof has expired: ask for a new code.")
        )
        return False
    result.nonce_check = "verifier_code" if state == "used_now" else "none"
    return True


def _check_status(result: Verification, payload: dict, trust: TrustSource, now: float) -> None:
    ref = (payload.get("status") or {}).get("status_list") or {}
    uri, idx = ref.get("uri"), ref.get("idx")
    if not isinstance(uri, str) or not isinstance(idx, int):
        result.problem("status_unknown", _("The credential names no status list."))
        return
    token = trust.status_list_token(uri)
    if not token:
        result.problem(
            "status_unavailable", _("The status list could not be fetched; the credential may have been revoked.")
        )
        return
    issuer = trust.issuer(result.issuer)
    try:
        typ, claims, raw = _status_list(token, _canonical(issuer["jwks"]))
        if typ != "statuslist+jwt" or claims.get("sub") != uri:
            raise ValueError("wrong status list")
        if claims.get("exp", 0) < now:
            raise ValueError("expired status list")
        bits = claims["status_list"]["bits"]
        per_byte = 8 // bits
        value = (raw[idx // per_byte] >> (bits * (idx % per_byte))) & ((1 << bits) - 1)
    except (JoseError, ValueError, KeyError, IndexError, TypeError, zlib.error):
        result.problem("status_unavailable", _("The status list does not verify; the credential's status is unknown."))
        return
    result.status = STATUS_NAMES.get(value, "unknown")
    if result.status == "revoked":
        result.problem("credential_revoked", _("The issuer has revoked this credential."))
    elif result.status == "suspended":
        result.problem("credential_suspended", _("The issuer has suspended this credential."))
    elif result.status != "valid":
        result.problem("status_unknown", _("The status list gives an unknown status."))


def _check_head(head, trust: TrustSource) -> bool:
    """Does ``head`` (a signed tree head) carry a valid platform signature over its values?"""
    try:
        claims = _signed_head_claims(head["signature"], _canonical(trust.log_jwks()))
        return claims.get("tree_size") == head["tree_size"] and claims.get("root_hash") == head["root_hash"]
    except (JoseError, ValueError, KeyError, TypeError):
        return False


# --- Caches of immutable, content-addressed work (issue 15) ------------------------------------
# Each is keyed by the exact bytes it is computed from (a JWK's JSON, a compact JWS and the
# JSON of the key set that verifies it), so its value can never go stale and every worker
# computes the same one; what depends on the time (a status list token's ``exp``) is checked
# on every call by the caller. Failures are not cached (lru_cache does not keep exceptions).


@functools.lru_cache(maxsize=64)
def _keyset(jwks_json: str) -> KeySet:
    return KeySet.import_key_set(json.loads(jwks_json))


@functools.lru_cache(maxsize=1024)
def _status_list(token: str, jwks_json: str) -> tuple[str | None, dict, bytes]:
    """``(typ, claims, decompressed list)`` of a Status List Token whose ES256 signature
    verifies with the key set ``jwks_json`` (Token Status List §5).

    :raises JoseError, ValueError, KeyError, TypeError, zlib.error: a token that does not verify or parse."""
    obj = jose_jws.deserialize_compact(token, _keyset(jwks_json), algorithms=["ES256"])
    claims = json.loads(obj.payload)
    raw = zlib.decompress(_b64d(claims["status_list"]["lst"]))
    return obj.protected.get("typ"), claims, raw


@functools.lru_cache(maxsize=256)
def _signed_head_claims(signature: str, jwks_json: str) -> dict:
    """The claims of a signed tree head's JWS, verified with ``jwks_json`` (ES256).

    :raises JoseError, ValueError: a signature that does not verify or parse."""
    return json.loads(jose_jws.deserialize_compact(signature, _keyset(jwks_json), algorithms=["ES256"]).payload)


def _check_log(result: Verification, trust: TrustSource) -> None:
    """RFC 9162 §2.1.3.2: the issuance leaf (``kind`` credential.issued, ``ref`` = digest) is
    in the tree of a signed tree head. A proof may carry its own signed head (the app's
    exported proof); otherwise it is checked against the trust source's head."""
    head = trust.tree_head()
    if not head:
        return
    if not _check_head(head, trust):
        result.problem("log_head_invalid", _("The transparency log's signed tree head does not verify."))
        return
    proof = trust.inclusion(result.digest, head["tree_size"]) if head["tree_size"] else None
    if proof is None and not getattr(trust, "complete_log", True):
        result.log = {"leaf_index": None, "tree_size": head["tree_size"], "included": None}
        return
    if proof is None:
        result.log = {"leaf_index": None, "tree_size": head["tree_size"], "included": False}
        result.problem("not_logged", _("The credential is not in the public transparency log."))
        return
    try:
        proof_head = proof.get("tree_head") or head
        if proof_head is not head and not _check_head(proof_head, trust):
            raise ValueError("the proof's tree head is not signed by the platform")
        body = json.loads(proof["body"])
        included = (
            body.get("ref") == result.digest
            and body.get("kind") == "credential.issued"
            and _included(
                proof["body"],
                int(proof["leaf_index"]),
                int(proof_head["tree_size"]),
                tuple(proof["inclusion_path"]),
                proof_head["root_hash"],
            )
        )
        result.log = {
            "leaf_index": proof["leaf_index"],
            "tree_size": proof_head["tree_size"],
            "included": bool(included),
        }
    except (ValueError, KeyError, TypeError, AttributeError):
        included = False
        result.log = {"leaf_index": None, "tree_size": head["tree_size"], "included": False}
    if not included:
        result.problem("not_logged", _("The transparency log's proof for this credential does not verify."))


@functools.lru_cache(maxsize=4096)
def _included(body: str, leaf_index: int, tree_size: int, path: tuple[str, ...], root_hash: str) -> bool:
    """RFC 9162 §2.1.3.2: does the inclusion ``path`` (base64 hashes) lead from the leaf
    ``body`` at ``leaf_index`` to ``root_hash`` (base64) of the tree of ``tree_size`` leaves?
    A pure function of its arguments, so its answers are kept (issue 15).

    :raises ValueError, TypeError: a path or root that is no base64."""
    return merkle.verify_inclusion(
        ledger_leaf_hash(body),
        leaf_index,
        tree_size,
        [base64.b64decode(p, validate=True) for p in path],
        base64.b64decode(root_hash, validate=True),
    )


def ledger_leaf_hash(body: str) -> bytes:
    """RFC 9162 §2.1.1 leaf hash of a log entry's body: SHA-256(0x00 || UTF-8 body)."""
    return merkle.leaf_hash(body)


#: (credential digest, tree size) -> inclusion proof, oldest first (DatabaseTrust.inclusion).
_inclusions: dict[tuple[str, int], dict] = {}
_inclusions_lock = threading.Lock()
#: The tree size of the last signed tree head a verification checked in this process: a hint
#: for :meth:`DatabaseTrust.prefetch` (is a proof kept for this credential?), never an answer.
_last_tree_size = [0]


class DatabaseTrust:
    """Trust material from this platform's database (the online 認證易).

    ``rate_limit=(group, value)`` counts the request against :mod:`tungban.core.ratelimit`'s
    ``group`` for ``value`` (the client's address) before anything is written: in the same
    SQL statement as :meth:`prefetch`'s read where the database can (one round trip, issue 15
    third round), else with :func:`~tungban.core.ratelimit.count` first. A verification that
    never reads the database is counted by :meth:`count_attempt`, which the caller calls
    after it. :data:`~tungban.core.ratelimit.RateLimited` is raised past the limit."""

    def __init__(self, *, rate_limit: tuple[str, str] | None = None):
        self._ledger = transparency
        self._issuers: dict = {}
        self._types: dict = {}
        self._tokens: dict = {}
        self._platform: dict | None = None  # the head, keys and device read with the rest
        self._holder_jwk = None
        self._proof: tuple[str, dict] | None = None  # (digest, proof) read with the rest
        self._rate_limit = rate_limit

    def count_attempt(self) -> None:
        """Count the request now unless it was (``rate_limit``; class docstring).

        :raises RateLimited: past the limit."""
        if self._rate_limit is not None:
            group, value = self._rate_limit
            self._rate_limit = None
            ratelimit.count(group, value)

    def prefetch(
        self, iss: str, vct: str | None, status_uri: str | None, *, holder_jwk=None, digest: str | None = None
    ) -> None:
        """Read the issuer, its keys, the credential type and the status list token that
        :meth:`issuer`, :meth:`credential_type` and :meth:`status_list_token` will be asked
        for, and the signed tree head, the platform's key ring and whether ``holder_jwk`` is
        a bound app's (:meth:`tree_head`, :meth:`log_jwks`, :meth:`holder_key_current`), in
        one SQL statement (:func:`.services.verification_material`, issue 15), the rate
        limiter's counter included where it can be (class docstring); with ``digest``, when
        no inclusion proof of that credential is kept for the last tree size seen, its
        issuance leaf and inclusion path too (:meth:`inclusion`; issue 15, third round). Each is as current as
        the database: nothing is kept between verifications but what is keyed by its content
        (keys, verified signatures) or by the key ring's version.

        :raises RateLimited: past the rate limit."""
        issuer_prefix, type_prefix = services.issuer_url(""), services.vct_url("")
        status_prefix = f"{settings.TUNGBAN_ISSUER}/credentials/status/"
        if not iss.startswith(issuer_prefix):
            return
        type_id = vct[len(type_prefix) :] if isinstance(vct, str) and vct.startswith(type_prefix) else None
        status_ref = None
        if status_uri and status_uri.startswith(status_prefix):
            try:
                sl_issuer, number = status_uri[len(status_prefix) :].split("/")
                status_ref = (sl_issuer, int(number))
            except ValueError:
                status_ref = None
        counter = None
        if self._rate_limit is not None:
            counter = ratelimit.hit_statement(*self._rate_limit, using=connection.alias)
            if counter is None:
                self.count_attempt()
            self._rate_limit = None
        try:
            logged = digest if digest is not None and (digest, _last_tree_size[0]) not in _inclusions else None
            found = services.verification_material(
                iss[len(issuer_prefix) :],
                type_id,
                status_ref,
                holder_jwk=holder_jwk,
                platform=True,
                counter=counter,
                logged=logged,
            )
        except ratelimit.RateLimited:
            raise
        except DomainError:
            return  # the per-item lookups below give the same answer as before
        self._platform, self._holder_jwk = found["platform"], holder_jwk
        if found.get("inclusion") is not None:
            self._proof = (digest, found["inclusion"])
        self._issuers[iss] = found["issuer"]
        if type_id is not None:
            self._types[vct] = found["type"]
        if status_ref is not None:
            self._tokens[status_uri] = found["status_token"]

    def issuer(self, iss):
        if iss not in self._issuers:
            self.count_attempt()
            prefix = services.issuer_url("")
            row = Issuer.objects.filter(id=iss[len(prefix) :]).first() if iss.startswith(prefix) else None
            self._issuers[iss] = (
                {"name_en": row.name_en, "name_zh": row.name_zh, "jwks": services.published_jwks(row.id)}
                if row
                else None
            )
        return self._issuers[iss]

    def credential_type(self, vct):
        if vct in self._types:
            return self._types[vct]
        self.count_attempt()
        prefix = services.vct_url("")
        row = CredentialType.objects.filter(id=vct[len(prefix) :]).first() if vct.startswith(prefix) else None
        return {"id": row.id, "name_en": row.name_en, "name_zh": row.name_zh, "display": row.display} if row else None

    def status_list_token(self, uri):
        if uri in self._tokens:
            return self._tokens[uri]
        self.count_attempt()
        prefix = f"{settings.TUNGBAN_ISSUER}/credentials/status/"
        if not uri.startswith(prefix):
            return None
        try:
            issuer_id, number = uri[len(prefix) :].split("/")
            return services.status_list_token(issuer_id, int(number))[0]
        except (ValueError, DomainError):
            return None

    def log_jwks(self):
        # Every key ever made: tree heads signed before a key rotation still verify.
        if self._platform is not None:
            return keys.every_public_jwk_at(self._platform["key_ring"])
        return keys.every_public_jwk()

    def audience(self):
        return f"{settings.TUNGBAN_ISSUER}/verify"

    def holder_key_current(self, jwk):
        if self._platform is not None and jwk is not None and jwk == self._holder_jwk:
            return self._platform["holder_bound"]
        self.count_attempt()
        return bool(jwk) and wallet.device_key_bound(jwk)

    def tree_head(self):
        if self._platform is not None:
            head = self._ledger.head_from_signature(self._platform["head_signature"], self._platform["active_kid"])
            if head is not None:
                return head
        self.count_attempt()
        return self._ledger.signed_tree_head()  # none yet, or due to be signed again

    def inclusion(self, digest, tree_size):
        # RFC 9162 §2.1.3: the log is append-only, so the leaf and inclusion path of ``digest``
        # in the tree of ``tree_size`` leaves never change; found ones are kept (issue 15: three
        # queries a verification while the log does not grow). A wrong entry could only fail
        # the check against the signed root, never pass it.
        # The proof read in prefetch's statement is of the latest published head's tree: it is
        # used when that is the head checked (else the log is asked, as before).
        _last_tree_size[0] = tree_size  # a hint for the next prefetch, never an answer
        key = (digest, tree_size)
        proof = _inclusions.get(key)
        if proof is None and self._proof is not None and self._proof[0] == digest:
            read = self._proof[1]
            if read["tree_size"] == tree_size:
                proof = {
                    "leaf_index": read["leaf_index"],
                    "body": read["body"],
                    "inclusion_path": read["inclusion_path"],
                }
                with _inclusions_lock:
                    if len(_inclusions) >= 4096:
                        _inclusions.pop(next(iter(_inclusions)))
                    _inclusions[key] = proof
        if proof is None:
            self.count_attempt()
            proof = services.inclusion_of(digest, tree_size)
            if proof is not None:
                with _inclusions_lock:  # threaded workers share the dict
                    if len(_inclusions) >= 4096:
                        _inclusions.pop(next(iter(_inclusions)))
                    _inclusions[key] = proof
        return proof

    def use_nonce(self, nonce):
        self.count_attempt()
        return services.use_verifier_nonce(nonce)


class BundleTrust:
    """Trust material from a trust bundle (:func:`services.trust_bundle`), for verifying
    with no connection; ``proofs`` optionally maps credential digests to inclusion proofs
    ``{"leaf_index", "body", "inclusion_path", "tree_head"?}`` (as the app exports them:
    with their own signed tree head; else at the bundle's head)."""

    complete_log = False  # a missing proof means "not checked", not "not logged"

    def __init__(self, bundle: dict, proofs: dict | None = None):
        self.bundle, self.proofs = bundle, proofs or {}

    def issuer(self, iss):
        return self.bundle.get("issuers", {}).get(iss)

    def credential_type(self, vct):
        return self.bundle.get("types", {}).get(vct)

    def status_list_token(self, uri):
        return self.bundle.get("status_lists", {}).get(uri)

    def log_jwks(self):
        return self.bundle.get("log_jwks", {"keys": []})

    def audience(self):
        return f"{self.bundle.get('platform', settings.TUNGBAN_ISSUER)}/verify"

    def holder_key_current(self, jwk):
        return True  # offline: device unbinding is not known

    def tree_head(self):
        return self.bundle.get("tree_head")

    def use_nonce(self, nonce):
        return "unknown"  # offline: verifier codes cannot be spent

    def inclusion(self, digest, tree_size):
        return self.proofs.get(digest)
