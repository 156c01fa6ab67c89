"""The ``sd-jwt`` library's verifier with its JWS checked by joserfc (issue 15), shared by
認證易 (:mod:`tungban.credentials.verify`) and the personal code (:mod:`.personal_code`).
Moved here from ``verify.py`` (issue 16) so that both use it without an import cycle."""

from __future__ import annotations

import base64
import functools
import json
import re
from dataclasses import dataclass

from joserfc import jws as jose_jws
from joserfc.jwk import ECKey
from sd_jwt.common import SDJWTCommon
from sd_jwt.verifier import SDJWTVerifier

from tungban.keys.services import ES256  # joserfc's ES256-only registry, built once

#: The base64url alphabet (RFC 4648 §5) without padding: a segment made only of these decodes
#: the same with this module's ``_b64d`` and the ``sd-jwt`` library's decoder.
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))  # json.dumps(…) without an encoder per call


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def library_decodes(segment: str) -> bool:
    """Would the ``sd-jwt`` library's own base64url decoder (``SDJWTCommon._base64url_decode``,
    whose padding differs from :func:`_b64d`'s) decode ``segment``, given that :func:`_b64d`
    did? Both give the same bytes whenever both decode (checked on every string of up to 7
    characters of the alphabet and millions with other characters); they disagree only on
    segments with characters outside the base64url alphabet, which are decoded again here."""
    if _BASE64URL.fullmatch(segment) is not None:
        return True
    try:
        SDJWTCommon._base64url_decode(segment)
    except ValueError:
        return False
    return True


@dataclass(slots=True)
class Parsed:
    """A compact SD-JWT presentation as :func:`tungban.credentials.verify.verify_presentation`
    already split and decoded it (issue 15, twelfth round: the library parsed, decoded and
    hashed it all a second time): the issuer-signed JWT ``sd_jwt``, its ``header`` and
    ``payload`` (and the payload's bytes), the ``disclosures`` with their ``decoded`` JSON
    (decoded as the library decodes them: strict UTF-8) and ``digests`` (SD-JWT §4.2.3,
    base64url SHA-256 of the disclosure's ASCII), the ``kb_jwt`` (``""`` when none) and its
    payload if parsed, and ``refused``: the library's own parse would have refused it (its
    base64url decoder, or a disclosure that is no strict UTF-8 JSON)."""

    sd_jwt: str
    header: dict
    payload: dict
    payload_bytes: bytes
    disclosures: list[str]
    decoded: list
    digests: list[str]
    kb_jwt: str
    kb_payload: dict | None
    kb_payload_bytes: bytes | None
    refused: bool


class _SDJWTVerifier(SDJWTVerifier):
    """The ``sd-jwt`` library's verifier (parsing, disclosure digests, the claims it
    discloses, the KB-JWT's rules: SD-JWT §7.1 and §7.3) with its two JWS checked by
    joserfc instead of jwcrypto, with keys built once per distinct JWK (issue 15: jwcrypto
    deep-copies its header registry for every JWS object, two thirds of a verification's
    CPU). The callback gives a joserfc key, or the issuer's JWK as canonical JSON
    (:func:`_canonical`; the check is then kept per token and key, :func:`_issuer_signed_payload`);
    ES256 only (RFC 7518 §3.4).

    :meth:`of_parsed` starts from a presentation already split and decoded (:class:`Parsed`)
    instead of parsing it again."""

    _parsed: Parsed | None = None

    @classmethod
    def of_parsed(cls, parsed: Parsed, cb_get_issuer_key, expected_aud=None, expected_nonce=None) -> _SDJWTVerifier:
        """As ``cls(presentation, cb_get_issuer_key, expected_aud, expected_nonce)``
        (``SDJWTVerifier.__init__`` of sd-jwt 0.10: parse, map the disclosures by digest,
        verify the issuer's JWS, then the KB-JWT when given an audience or a nonce), from
        ``parsed``: the same checks in the same order, on the same values, without decoding
        and hashing the presentation a second time (the library's map of digests to raw
        disclosures, which its verifier never reads, is not built).

        :raises ValueError: where the library's constructor raises (``refused``: where its
            parse would; a repeated digest never reaches here), and joserfc's errors."""
        if parsed.refused:
            raise ValueError("The sd-jwt library's parser does not decode this presentation")
        self = cls.__new__(cls)
        SDJWTCommon.__init__(self, serialization_format="compact")
        self._parsed = parsed
        self._unverified_input_sd_jwt = parsed.sd_jwt
        self._input_disclosures = parsed.disclosures
        self._unverified_input_key_binding_jwt = parsed.kb_jwt
        self._unverified_input_sd_jwt_payload = parsed.payload
        if len(set(parsed.digests)) != len(parsed.digests):
            raise ValueError("Duplicate disclosure hash")  # as _create_hash_mappings
        self._hash_to_decoded_disclosure = dict(zip(parsed.digests, parsed.decoded, strict=True))
        self._verify_sd_jwt(cb_get_issuer_key)
        if expected_aud or expected_nonce:
            if not (expected_aud and expected_nonce):
                raise ValueError("Either both expected_aud and expected_nonce must be provided or both must be None")
            self._verify_key_binding_jwt(expected_aud, expected_nonce)
        return self

    def _verify_sd_jwt(self, cb_get_issuer_key, sign_alg=None):
        token = self._unverified_input_sd_jwt
        parsed = self._parsed
        header = parsed.header if parsed is not None else json.loads(_b64d(token.split(".")[0]))
        key = cb_get_issuer_key(self._unverified_input_sd_jwt_payload.get("iss"), header)
        if isinstance(key, str):  # the issuer's JWK as canonical JSON: the check is kept
            signed = _issuer_signed_payload(token, key)
        else:
            signed = jose_jws.deserialize_compact(token, key, registry=ES256).payload
        if parsed is not None and signed == parsed.payload_bytes:
            self._sd_jwt_payload = parsed.payload  # the signed bytes, already parsed
        else:
            self._sd_jwt_payload = json.loads(signed)
        self._holder_public_key_payload = self._sd_jwt_payload.get("cnf")

    def _verify_key_binding_jwt(self, expected_aud=None, expected_nonce=None, sign_alg=None):
        # As sd_jwt.verifier.SDJWTVerifier._verify_key_binding_jwt (0.10), step by step.
        if not self._holder_public_key_payload:
            raise ValueError("No holder public key in SD-JWT")
        jwk = self._holder_public_key_payload.get("jwk")
        if not jwk or not isinstance(jwk, dict):
            raise ValueError("The holder's key is no JWK")
        verified = jose_jws.deserialize_compact(
            self._unverified_input_key_binding_jwt, _ec_key(_canonical(jwk)), registry=ES256
        )
        if verified.protected.get("typ") != self.KB_JWT_TYP_HEADER:
            raise ValueError("Invalid header typ")
        parsed = self._parsed
        if parsed is not None and parsed.kb_payload is not None and verified.payload == parsed.kb_payload_bytes:
            payload = parsed.kb_payload  # the signed bytes, already parsed
        else:
            payload = json.loads(verified.payload)
        if payload["aud"] != expected_aud:
            raise ValueError("Invalid audience in KB-JWT")
        if payload["nonce"] != expected_nonce:
            raise ValueError("Invalid nonce in KB-JWT")
        presented = self._combine(self._unverified_input_sd_jwt, *self._input_disclosures, "")
        if payload["sd_hash"] != self._b64hash(presented.encode("ascii")):
            raise ValueError("Invalid digest in KB-JWT")


@functools.lru_cache(maxsize=1024)
def _ec_key(jwk_json: str) -> ECKey:
    """A joserfc public key for a JWK given as canonical JSON (built once per distinct key).

    :raises JoseError, ValueError: no EC public key."""
    return ECKey.import_key(json.loads(jwk_json))


@functools.lru_cache(maxsize=4096)
def _issuer_signed_payload(token: str, jwk_json: str) -> bytes:
    """The payload of the issuer-signed JWT ``token`` (compact JWS, RFC 7515 §7.1) whose ES256
    signature verifies with the public key ``jwk_json`` (canonical JSON, :func:`_canonical`).

    A pure function of the two texts, so its answers are kept (issue 15, thirteenth round):
    the same credential presented again — at every gate that checks it, with a new KB-JWT each
    time — has its issuer's signature checked once per process; the key binding, the
    disclosures, the status and the log are still checked on every call. Failures are not
    kept (``lru_cache`` keeps no exception). 4,096 tokens of ~1 KiB: a few MiB per process.

    :raises JoseError, ValueError: a signature that does not verify, or no EC public key."""
    return jose_jws.deserialize_compact(token, _ec_key(jwk_json), registry=ES256).payload


def _canonical(value) -> str:
    """The canonical JSON of a JWK or JWKS: the cache key of what is computed from it
    (``json.dumps(value, sort_keys=True, separators=(",", ":"))``, the same text)."""
    return _CANONICAL.encode(value)
