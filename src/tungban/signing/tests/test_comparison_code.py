"""The short comparison code of a signing request (issue 16, res16 item 4): the resident
compares 6 characters between the service's page and the app instead of a 64-character
SHA-256. The platform, the app (JavaScript) and the sample service compute the same code."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from tungban.signing import compare

JS = Path(__file__).resolve().parents[2] / "wallet" / "static" / "wallet" / "js" / "lib" / "compare.js"


def _digests(*names: bytes) -> list[str]:
    return [hashlib.sha256(n).hexdigest() for n in names]


def test_code_is_six_friendly_characters_bound_to_request_and_documents():
    rid = str(uuid.uuid4())
    code = compare.comparison_code(rid, _digests(b"a"))
    assert re.fullmatch(f"[{compare.ALPHABET}]{{6}}", code)
    assert not set(code) & set("ILOU")  # no look-alikes
    assert compare.comparison_code(rid, _digests(b"a")) == code
    others = {compare.comparison_code(rid, _digests(bytes([i]))) for i in range(200)}
    assert len(others) == 200  # 200 documents, no collision (expected ~2e-5)
    assert compare.comparison_code(rid, _digests(b"a", b"b")) != compare.comparison_code(rid, _digests(b"b", b"a"))
    assert compare.display(code) == f"{code[:3]} {code[3:]}"


def test_the_app_computes_the_same_code(tmp_path):
    cases = [[str(uuid.uuid4()), _digests(*[bytes([i, j]) for j in range(1 + i % 3)])] for i in range(20)]
    script = tmp_path / "run.mjs"
    script.write_text(
        f"import {{ comparisonCode }} from {json.dumps(JS.as_uri())};\n"
        f"const cases = {json.dumps(cases)};\n"
        "const out = [];\n"
        "for (const [id, digests] of cases) out.push(await comparisonCode(id, digests));\n"
        "console.log(JSON.stringify(out));\n"
    )
    result = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [compare.comparison_code(rid, d) for rid, d in cases]


def test_the_sample_service_computes_the_same_code():
    from examples.vehicle_licence.app import comparison_code as service_code

    rid = str(uuid.uuid4())
    digests = _digests(b"declaration")
    assert service_code(rid, digests) == compare.comparison_code(rid, digests)


@pytest.mark.django_db
def test_the_signing_api_gives_the_code(issuer, signing_client):
    import requests

    from .conftest import client_token

    client, secret = signing_client
    token = client_token(issuer, client.client_id, secret)
    digests = _digests(b"first", b"second")
    created = requests.post(
        f"{issuer}/api/v1/signing/requests",
        json={"documents": [{"name": "a.txt", "sha256": digests[0]}, {"name": "b.txt", "sha256": digests[1]}]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()
    approval_id = created["approval_uri"].rsplit("/", 1)[1]
    assert created["comparison_code"] == compare.comparison_code(approval_id, digests)
