"""Issue 15, twelfth round: 認證易 decodes a presentation once and hands what it decoded to the
``sd-jwt`` library's verifier (``_SDJWTVerifier.of_parsed``) instead of letting it parse,
decode and hash everything again. These tests hold the new path to the library's own
constructor (the path before) on the same presentations, odd encodings included: the same
presentations refused, the same claims, the same problems."""

from __future__ import annotations

import base64
import json

import pytest
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from tungban.credentials import services
from tungban.credentials.services.sdjwt_check import (
    Parsed,
    _canonical,
    _ec_key,
    _issuer_signed_payload,
    _SDJWTVerifier,
    library_decodes,
)
from tungban.credentials.verify import (
    BundleTrust,
    DatabaseTrust,
    _b64d,
    _b64hash,
    _decode_disclosures,
    verify_presentation,
)
from tungban.ledger import transparency

REFUSED = "refused"
HIDDEN = {"iss", "vct", "iat", "nbf", "exp", "status", "cnf", "_sd", "_sd_alg"}


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _issuer_key(bundle: dict):
    keys = {k["kid"]: k for i in bundle["issuers"].values() for k in i["jwks"]["keys"]}
    return lambda iss, hdr: _ec_key(_canonical(keys[hdr["kid"]]))


def _library(presentation: str, cb, aud=None, nonce=None):
    """The library's own constructor (the path before this round): the claims, or ``REFUSED``
    (verify_presentation treats any exception of the library alike)."""
    try:
        return _SDJWTVerifier(presentation, cb, expected_aud=aud, expected_nonce=nonce).get_verified_payload()
    except Exception:  # noqa: BLE001 - the library raises plain exceptions
        return REFUSED


def _parsed(presentation: str) -> Parsed:
    """What verify_presentation decodes, as it decodes it."""
    jwt_part, *disclosures, kb_jwt = presentation.split("~")
    header_segment, payload_segment, _ = jwt_part.split(".")
    decoded, refused = _decode_disclosures(disclosures)
    payload_bytes = _b64d(payload_segment)
    kb_bytes = _b64d(kb_jwt.split(".")[1]) if kb_jwt else None
    return Parsed(
        jwt_part,
        json.loads(_b64d(header_segment)),
        json.loads(payload_bytes),
        payload_bytes,
        disclosures,
        decoded,
        [_b64hash(d) for d in disclosures],
        kb_jwt,
        json.loads(kb_bytes) if kb_bytes else None,
        kb_bytes,
        refused or not library_decodes(payload_segment),
    )


def _of_parsed(presentation: str, cb, aud=None, nonce=None):
    try:
        return _SDJWTVerifier.of_parsed(_parsed(presentation), cb, aud, nonce).get_verified_payload()
    except Exception:  # noqa: BLE001
        return REFUSED


def _variants(presentation: str) -> list[str]:
    """The presentation with its first disclosure (or its payload segment) encoded oddly: what
    ``json.loads`` of bytes accepts and the library's strict UTF-8 refuses (a byte order mark,
    UTF-16, UTF-32, an encoded surrogate), characters outside base64url that one base64 decoder
    skips and the other refuses, and padding."""
    jwt_part, first, *rest = presentation.split("~")
    text = _b64d(first).decode("utf-8")
    encodings = [
        b"\xef\xbb\xbf" + text.encode("utf-8"),
        text.encode("utf-16-le"),
        text.encode("utf-32"),
        text.replace("]", ',"\\ud800"]').encode("utf-8"),
        text[:-1].encode("utf-8") + b',"\xed\xa0\x80"]',  # a surrogate encoded in UTF-8 (surrogatepass)
        text.encode("utf-8"),
    ]
    out = ["~".join([jwt_part, _b64e(raw), *rest]) for raw in encodings]
    for junk in ("!", "!!", "!!!", ".", "..", "...", "+", "/", "=", "==", "!=!"):
        out.append("~".join([jwt_part, first + junk, *rest]))
        out.append("~".join([jwt_part, first[:4] + junk + first[4:], *rest]))
        header, payload, signature = jwt_part.split(".")
        out.append("~".join([f"{header}.{payload}{junk}.{signature}", first, *rest]))
    return out


@pytest.mark.parametrize("bind", [False, True])
def test_of_parsed_answers_as_the_library_constructor(holder, senior_card, bind):
    """Every variant the parse accepts: the new path raises exactly where the library's
    constructor raises, and gives the same claims where it does not."""
    bundle = services.trust_bundle()
    cb = _issuer_key(bundle)
    nonce = "n-single-parse"
    presentation = holder.present(senior_card.sd_jwt, None, nonce=nonce, bind=bind)
    aud, expected_nonce = (services.verifier_audience(), nonce) if bind else (None, None)
    compared = 0
    for variant in [presentation, *_variants(presentation)]:
        try:
            _parsed(variant)
        except ValueError:
            continue  # refused as malformed before the library is asked, before and now
        compared += 1
        assert _of_parsed(variant, cb, aud, expected_nonce) == _library(variant, cb, aud, expected_nonce), variant
    assert compared >= 20
    # …and both refuse some of them: the comparison is not between two paths that accept all.
    assert not isinstance(_library(_variants(presentation)[0], cb), dict)


def test_verify_presentation_refuses_what_the_library_refuses(holder, senior_card):
    """End to end (offline, as 認證易's own check): a presentation whose disclosure the library
    cannot decode is a signature problem as before; one it can is checked on as before."""
    bundle = services.trust_bundle()
    cb = _issuer_key(bundle)
    presentation = holder.present(senior_card.sd_jwt, None, bind=False)
    for variant in _variants(presentation):
        try:
            result = verify_presentation(variant, BundleTrust(bundle))
        except Exception as exc:  # noqa: BLE001
            assert exc.__class__.__name__ == "CredentialMalformed"
            continue
        library = _library(variant, cb)
        assert ("signature_invalid" in result.codes()) == (not isinstance(library, dict)), (variant, result.codes())
        if isinstance(library, dict):
            assert result.claims == {k: v for k, v in library.items() if k not in HIDDEN}


def test_the_signed_payload_is_parsed_once(holder, senior_card):
    """The verified payload is the one decoded before (same bytes), not a second parse."""
    bundle = services.trust_bundle()
    presentation = holder.present(senior_card.sd_jwt, None, nonce="n-1")
    parsed = _parsed(presentation)
    verifier = _SDJWTVerifier.of_parsed(parsed, _issuer_key(bundle), services.verifier_audience(), "n-1")
    assert verifier._sd_jwt_payload is parsed.payload
    assert set(verifier._hash_to_decoded_disclosure) == set(parsed.digests)


def test_a_forged_payload_is_not_taken_from_the_parse(holder, senior_card):
    """What was decoded before the signature check is used only when joserfc verified the very
    same bytes: another payload under the issuer's signature is refused as before."""
    bundle = services.trust_bundle()
    presentation = holder.present(senior_card.sd_jwt, None, bind=False)
    jwt_part, *rest = presentation.split("~")
    header, payload, signature = jwt_part.split(".")
    claims = json.loads(_b64d(payload))
    claims["vct"] = claims["vct"] + "x"
    forged = "~".join([f"{header}.{_b64e(json.dumps(claims).encode())}.{signature}", *rest])
    assert not isinstance(_of_parsed(forged, _issuer_key(bundle)), dict)
    assert "signature_invalid" in verify_presentation(forged, BundleTrust(bundle)).codes()


def test_the_issuers_signature_is_checked_once_per_token_and_key(holder, senior_card):
    """Issue 15, thirteenth round: the same credential presented again (each time with a new
    KB-JWT) has its issuer's signature checked once in a process; the key binding is checked
    every time, another key or a forged token is checked afresh and refused."""
    _issuer_signed_payload.cache_clear()
    bundle = services.trust_bundle()
    first = verify_presentation(
        holder.present(senior_card.sd_jwt, None, nonce="n-a"), BundleTrust(bundle), expected_nonce="n-a"
    )
    again = holder.present(senior_card.sd_jwt, None, nonce="n-b")
    second = verify_presentation(again, BundleTrust(bundle), expected_nonce="n-b")
    assert first.valid and second.valid, (first.problems, second.problems)
    info = _issuer_signed_payload.cache_info()
    assert (info.misses, info.hits) == (1, 1)
    # the KB-JWT is not kept: the same presentation for another nonce fails its key binding
    assert "holder_binding_invalid" in verify_presentation(again, BundleTrust(bundle), expected_nonce="n-c").codes()
    # another key for the same token is another check, and fails
    token = again.split("~")[0]
    other = _canonical(ECKey.generate_key("P-256").as_dict(private=False))
    with pytest.raises(JoseError):
        _issuer_signed_payload(token, other)
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    forged = again.replace(token, f"{header}.{payload}.{flipped}")
    assert "signature_invalid" in verify_presentation(forged, BundleTrust(bundle)).codes()


def test_online_answer_unchanged(holder, senior_card):
    """Online (DatabaseTrust): a valid presentation is valid with every claim, a KB-JWT for
    another audience is a holder-binding problem, as before."""
    presentation = holder.present(senior_card.sd_jwt, None, nonce="n-2")
    result = verify_presentation(presentation, DatabaseTrust(), expected_nonce="n-2")
    assert result.valid, result.problems
    assert result.claims["card_number"] == "SC12345678"
    other = holder.present(senior_card.sd_jwt, None, nonce="n-3", aud="https://elsewhere.example/verify")
    assert "holder_binding_invalid" in verify_presentation(other, DatabaseTrust(), expected_nonce="n-3").codes()


def test_canonical_is_json_dumps():
    value = {"y": "b", "x": "a", "kty": "EC", "n": [1, 2.5, None, True], "z": {"b": "中", "a": 1}}
    assert _canonical(value) == json.dumps(value, sort_keys=True, separators=(",", ":"))


def _jws(header, payload) -> str:
    def enc(value):
        return value if isinstance(value, str) else _b64e(json.dumps(value).encode())

    return f"{enc(header)}.{enc(payload)}.c2ln"


@pytest.mark.parametrize(
    "signature",
    [
        _jws(["kid"], {"tree_size": 1, "root_hash": "r", "timestamp": 1}),
        _jws({"kid": "k"}, ["tree_size"]),
        _jws({"kid": "k"}, {"tree_size": 1, "root_hash": "r"}),
        _jws({"kid": "k"}, {"tree_size": 1, "root_hash": "r", "timestamp": "1"}),
        _jws("e30", "bm90IGpzb24"),
        "nodots",
    ],
)
def test_head_from_signature_refuses_what_it_refused(signature, settings):
    assert transparency.head_from_signature(signature, "k") is None


def test_head_from_signature_checks_age_and_key_on_every_call(settings):
    """The parse is kept per JWS text; the key and the age are checked on every call."""
    import time

    now_ms = int(time.time() * 1000)
    signature = _jws({"kid": "k"}, {"tree_size": 3, "root_hash": "cm9vdA==", "timestamp": now_ms})
    head = transparency.head_from_signature(signature, "k")
    assert head == {"tree_size": 3, "root_hash": "cm9vdA==", "timestamp": now_ms, "signature": signature}
    assert transparency.head_from_signature(signature, "other") is None
    settings.TUNGBAN_TREE_HEAD_MAX_AGE = -1  # every head too old now
    assert transparency.head_from_signature(signature, "k") is None
