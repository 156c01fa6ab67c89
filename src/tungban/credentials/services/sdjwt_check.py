"""The ``sd-jwt`` library's verifier with its JWS checked by joserfc (issue 15), shared by
認證易 (:mod:`tungban.credentials.verify`) and the personal code (:mod:`.personal_code`).
Moved here from ``verify.py`` (issue 16) so that both use it without an import cycle."""

from __future__ import annotations

import base64
import functools
import json

from joserfc import jws as jose_jws
from joserfc.jwk import ECKey
from sd_jwt.verifier import SDJWTVerifier


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class _SDJWTVerifier(SDJWTVerifier):
    """The ``sd-jwt`` library's verifier (parsing, disclosure digests, the claims it
    discloses, the KB-JWT's rules: SD-JWT §7.1 and §7.3) with its two JWS checked by
    joserfc instead of jwcrypto, with keys built once per distinct JWK (issue 15: jwcrypto
    deep-copies its header registry for every JWS object, two thirds of a verification's
    CPU). The callback gives a joserfc key; ES256 only (RFC 7518 §3.4)."""

    def _verify_sd_jwt(self, cb_get_issuer_key, sign_alg=None):
        token = self._unverified_input_sd_jwt
        header = json.loads(_b64d(token.split(".")[0]))
        key = cb_get_issuer_key(self._unverified_input_sd_jwt_payload.get("iss"), header)
        verified = jose_jws.deserialize_compact(token, key, algorithms=["ES256"])
        self._sd_jwt_payload = json.loads(verified.payload)
        self._holder_public_key_payload = self._sd_jwt_payload.get("cnf")

    def _verify_key_binding_jwt(self, expected_aud=None, expected_nonce=None, sign_alg=None):
        # As sd_jwt.verifier.SDJWTVerifier._verify_key_binding_jwt (0.10), step by step.
        if not self._holder_public_key_payload:
            raise ValueError("No holder public key in SD-JWT")
        jwk = self._holder_public_key_payload.get("jwk")
        if not jwk or not isinstance(jwk, dict):
            raise ValueError("The holder's key is no JWK")
        verified = jose_jws.deserialize_compact(
            self._unverified_input_key_binding_jwt, _ec_key(_canonical(jwk)), algorithms=["ES256"]
        )
        if verified.protected.get("typ") != self.KB_JWT_TYP_HEADER:
            raise ValueError("Invalid header typ")
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


def _canonical(value) -> str:
    """The canonical JSON of a JWK or JWKS: the cache key of what is computed from it."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
