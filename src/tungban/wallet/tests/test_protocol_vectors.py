"""Protocol test vectors shared by the three implementations of the app protocol: the platform
(Python), the CLI app (``wallet/cli.py``) and the web app (``wallet/static/wallet/js/lib/*``).

Each run writes ``protocol-vectors.json`` from the platform's own code (canonical JSON from
``tungban.ledger``, the consent-terms digest from ``tungban.exchange``, a device proof from the
CLI's ``device_proof``, an SD-JWT issued as ``tungban.credentials`` issues it and presented by
the CLI's holder code), checks them on the Python side, then runs the JavaScript unit tests
(``node --test``, tests/js/*.test.mjs) against them. The JS tests write what the web app's
modules made (a device proof, a presentation); the platform's verifiers must accept those too.

A copy of the vectors is kept in ``tests/js/protocol-vectors.json`` so that ``node --test``
also runs alone; this test checks that copy still holds (regenerate it with
``TUNGBAN_WRITE_VECTORS=1``). Skipped only when ``node`` is not installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import unicodedata
from pathlib import Path

import pytest
from joserfc import jws
from joserfc.jwk import ECKey
from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier

from tungban.exchange.services import terms_digest
from tungban.ledger.canonical import canonical
from tungban.wallet import cli

JS_TESTS = Path(__file__).parent / "js"
COMMITTED = JS_TESTS / "protocol-vectors.json"
REPO = Path(__file__).resolve().parents[4]

CANONICAL_VALUES = [
    {"b": 1, "a": [3, 2, {"z": None, "y": True}], "c": "x"},
    {"名稱": "通辦", "name": "tungban", "é": "é", "B": "upper first", "a": "", "n": -12, "f": False},
    {"purpose": 'Quotes " and \\ backslash, / slash, <tag>, tab\t, newline\n, control \u0001'},
    [],
    {},
    "plain",
    0,
]

TERMS = {
    "consent_id": "2f1c7a52-6f0b-4c1e-9a51-2b7c6f1d9e0a",
    "data_user": {"id": "td", "name_en": "Transport Department", "name_zh": "運輸署"},
    "data_provider": {"id": "wsd", "name_en": "Water Supplies Department", "name_zh": "水務署"},
    "product": {
        "id": "wsd-billing-address",
        "name_en": "Billing address",
        "name_zh": "賬單地址",
        "fields": [{"name": "address", "label_en": "Address", "label_zh": "地址"}],
    },
    "purpose": "To renew your vehicle licence (車輛牌照續期).",
    "duration_seconds": 2592000,
    "max_uses": 1,
}


#: A login request as ``GET /api/v1/wallet/requests/{id}`` returns it (the parts a decision
#: uses): shown on a sign-in page, so approving carries the number typed from it.
LOGIN_REQUEST = {
    "id": "8d7c1f2e-4b3a-4c5d-9e8f-0a1b2c3d4e5f",
    "kind": "login",
    "requester": {"id": "svc-a", "name_en": "Harbour Library", "name_zh": "海港圖書館", "logo_url": ""},
    "claims": [{"name": "name", "essential": False}, {"name": "hkid", "essential": True}],
    "binds": {},
    "code_required": True,
    "origin": {"started_at": "2026-12-04T15:04:05+00:00", "browser": "Firefox", "os": "Mac OS X", "ip": "203.0.113.7"},
    "nonce": "bm9uY2UtMDEyMzQ1Njc4OWFiY2RlZg",
}


def _key(crv: str = "P-256") -> ECKey:
    return ECKey.generate_key(crv, {"alg": "ES256"}, private=True, auto_kid=True)


def _public(key: ECKey) -> dict:
    return {k: v for k, v in key.as_dict(private=False).items() if k in ("kty", "crv", "x", "y")}


def _private(key: ECKey) -> dict:
    return {k: v for k, v in key.as_dict(private=True).items() if k in ("kty", "crv", "x", "y", "d")}


def _segments(token: str) -> tuple[dict, dict]:
    obj = jws.extract_compact(token.encode())
    return obj.headers(), json.loads(obj.payload)


def _presentation_by_cli(issued: str, holder: ECKey, disclose: list[str], aud: str, nonce: str) -> str:
    """The CLI app's holder code (``WalletClient.presentation``), with its key and credential
    given here instead of read from disk and the platform."""
    client = cli.WalletClient(home=Path("/nonexistent-tungban-home"), server="http://localhost")
    credential = {
        "id": "c0ffee00-0000-4000-8000-000000000001",
        "sd_jwt": issued,
        "claims": [{"name": n} for n in ("given_name", "family_name", "name_zh", "date_of_birth")],
        "verify_uri": aud + "/",
    }
    client.load_key = lambda pin: holder
    client._credential = lambda credential_id, key: credential
    return client.presentation(credential["id"], "-", disclose, aud=aud, nonce=nonce)["presentation"]


def make_vectors() -> dict:
    """The vectors, from the platform's code (fresh keys each call)."""
    device_key = _key()
    device_id = "5b0e3f8e-8c59-4d0a-8f5e-3b1f2f6a9c11"
    url = "http://localhost:8000/api/v1/wallet/me"
    proof = cli.device_proof(device_key, device_id, "GET", url)
    header, payload = _segments(proof)

    issuer_key, holder = _key(), _key()
    issuer_jwk = JWK(**_private(issuer_key))
    issued = SDJWTIssuer(
        {
            "iss": "http://localhost:8000/issuers/swd",
            "vct": "http://localhost:8000/credentials/types/senior-citizen-card",
            "iat": 1767225600,
            "nbf": 1767225600,
            SDObj("given_name"): "Tai Man",
            SDObj("family_name"): "CHAN",
            SDObj("name_zh"): "陳大文",
            SDObj("date_of_birth"): "1950-01-02",
        },
        issuer_jwk,
        holder_key=JWK(**_public(holder)),
        sign_alg="ES256",
        extra_header_parameters={"typ": "dc+sd-jwt", "kid": "swd-1"},
    ).sd_jwt_issuance
    aud, nonce, disclose = "http://localhost:8000/verify", "n-0123456789abcdef", ["given_name", "name_zh"]
    presented = _presentation_by_cli(issued, holder, disclose, aud, nonce)
    sd_part, kb = presented.rsplit("~", 1)
    decisions = [
        {"decision": "approve", "claims": ["name", "hkid"], "typed": "４７ "},
        {"decision": "approve", "claims": ["hkid"], "typed": " 0 5"},
        {"decision": "decline", "claims": ["name"], "typed": "47"},
    ]
    for case in decisions:
        case["payload"] = cli.decision_payload(LOGIN_REQUEST, case["decision"], case["claims"], case["typed"])
    return {
        "about": "Written by tungban/wallet/tests/test_protocol_vectors.py from the platform's code.",
        "decision": {"request": LOGIN_REQUEST, "cases": decisions},
        "canonical_json": [{"value": v, "text": canonical(v)} for v in CANONICAL_VALUES],
        "terms": [{"terms": TERMS, "sha256": terms_digest(TERMS)}],
        "device_proof": {
            "private_jwk": _private(device_key),
            "public_jwk": _public(device_key),
            "device_id": device_id,
            "method": "GET",
            "url": url,
            "proof": proof,
            "header": header,
            "payload": payload,
        },
        "sd_jwt": {
            "issuer_public_jwk": {**_public(issuer_key), "kid": "swd-1"},
            "holder_private_jwk": _private(holder),
            "holder_public_jwk": _public(holder),
            "issued": issued,
            "disclose": disclose,
            "aud": aud,
            "nonce": nonce,
            "presentation": presented,
            "sd_jwt": sd_part + "~",
            "kb_header": _segments(kb)[0],
            "kb_payload": _segments(kb)[1],
        },
    }


def check_vectors(v: dict) -> None:
    """The vectors hold on the Python side: canonical JSON and the terms digest are what the
    platform computes; the device proof and the presentation verify with the platform's rules."""
    for case in v["canonical_json"]:
        assert canonical(case["value"]) == case["text"]
    for case in v["terms"]:
        assert terms_digest(case["terms"]) == case["sha256"]
    for case in v["decision"]["cases"]:
        check_decision(v["decision"]["request"], case, case["payload"])
    p = v["device_proof"]
    check_device_proof(p["proof"], p)
    s = v["sd_jwt"]
    check_presentation(s["presentation"], s)


def check_decision(req: dict, case: dict, payload: dict) -> None:
    """A decision payload as ``wallet.services.decide`` reads it: the request's id, requester
    and nonce, the claims sorted (none when declining) and, approving a ``code_required``
    request, ``code``: two ASCII digits, the typed number normalized (full-width digits and
    spaces allowed when typing)."""
    assert (payload["request_id"], payload["requester"], payload["nonce"]) == (
        req["id"],
        req["requester"]["id"],
        req["nonce"],
    )
    assert payload["decision"] == case["decision"]
    assert payload["claims"] == (sorted(case["claims"]) if case["decision"] == "approve" else [])
    if case["decision"] == "approve":
        assert re.fullmatch(r"[0-9]{2}", payload["code"])
        assert payload["code"] == "".join(ch for ch in unicodedata.normalize("NFKC", case["typed"]) if ch.isdigit())
    else:
        assert "code" not in payload


def check_device_proof(token: str, p: dict) -> None:
    """What ``wallet.services.authenticate_device`` checks, short of the database: ES256 by the
    device key, ``kid`` the device id, ``htm``/``htu`` the call, an integer ``iat``, a ``jti``
    of at least 16 characters."""
    obj = jws.deserialize_compact(token.encode(), ECKey.import_key(p["public_jwk"]), algorithms=["ES256"])
    header, payload = obj.headers(), json.loads(obj.payload)
    assert header == {"alg": "ES256", "kid": p["device_id"], "typ": "dpop+jwt"}
    assert payload["htm"] == p["method"] and payload["htu"] == p["url"]
    assert isinstance(payload["iat"], int) and len(payload["jti"]) >= 16


def check_presentation(text: str, s: dict) -> None:
    """The presentation verifies as the platform's 認證易 verifies it (the sd-jwt library with the
    issuer key, the KB-JWT with the expected audience and nonce) and discloses exactly ``disclose``."""
    keys = {"swd-1": JWK(**s["issuer_public_jwk"])}
    claims = SDJWTVerifier(
        text, lambda iss, header: keys[header["kid"]], expected_aud=s["aud"], expected_nonce=s["nonce"]
    ).get_verified_payload()
    shown = {k for k in claims if k in ("given_name", "family_name", "name_zh", "date_of_birth")}
    assert shown == set(s["disclose"])
    kb_payload = _segments(text.rsplit("~", 1)[1])[1]
    assert kb_payload["aud"] == s["aud"] and kb_payload["nonce"] == s["nonce"]


def test_vectors_hold_on_the_python_side():
    check_vectors(make_vectors())


def test_the_committed_copy_still_holds():
    """``tests/js/protocol-vectors.json`` (for ``node --test`` alone) is still right for the
    platform's code: same canonical texts and digests, proofs and presentation that verify."""
    if os.environ.get("TUNGBAN_WRITE_VECTORS") == "1":
        COMMITTED.write_text(json.dumps(make_vectors(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    check_vectors(committed)
    fresh = make_vectors()
    assert committed["canonical_json"] == fresh["canonical_json"]
    assert committed["terms"] == fresh["terms"]
    assert committed["decision"] == fresh["decision"]


def test_a_tampered_vector_is_refused():
    """The checks can fail: a changed canonical text, digest, proof or disclosure is caught."""
    v = make_vectors()
    for breaks in (
        lambda v: v["canonical_json"][0].update(text=v["canonical_json"][0]["text"].replace(",", ", ")),
        lambda v: v["terms"][0]["terms"].update(max_uses=2),
        lambda v: v["device_proof"].update(url=v["device_proof"]["url"] + "x"),
        lambda v: v["sd_jwt"].update(disclose=["given_name"]),
        lambda v: v["sd_jwt"].update(nonce="another"),
        lambda v: v["decision"]["cases"][0]["payload"].pop("code"),
        lambda v: v["decision"]["cases"][0]["payload"].update(code="４７"),
    ):
        broken = json.loads(json.dumps(v))
        breaks(broken)
        with pytest.raises(Exception):  # noqa: B017 - AssertionError or the verifiers' own errors
            check_vectors(broken)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_javascript_unit_tests_pass_on_fresh_vectors(tmp_path):
    """``node --test`` over tests/js/ with this run's vectors; then what the web app's modules
    made (a device proof, a presentation) must pass the platform's checks too."""
    v = make_vectors()
    vectors = tmp_path / "protocol-vectors.json"
    vectors.write_text(json.dumps(v, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "js-made.json"
    started = time.monotonic()
    run = subprocess.run(
        ["node", "--test", *sorted(str(p) for p in JS_TESTS.glob("*.test.mjs"))],
        cwd=REPO,
        env={**os.environ, "TUNGBAN_PROTOCOL_VECTORS": str(vectors), "TUNGBAN_JS_MADE": str(out)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, f"node --test failed ({time.monotonic() - started:.1f} s):\n{run.stdout}\n{run.stderr}"
    made = json.loads(out.read_text(encoding="utf-8"))
    check_device_proof(made["device_proof"], v["device_proof"])
    check_presentation(made["presentation"], v["sd_jwt"])
    assert made["canonical_json"] == [c["text"] for c in v["canonical_json"]]
    assert made["terms_sha256"] == [t["sha256"] for t in v["terms"]]
    assert made["decision_payloads"] == [c["payload"] for c in v["decision"]["cases"]]
