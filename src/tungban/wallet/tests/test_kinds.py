"""The approval-kind registry and the generic ``binds`` check of :func:`wallet.decide`,
including requests opened before ``binds`` existed (accepted for one release)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone, translation
from joserfc import jws

from tungban.testing.factories import PIN, bind_cli
from tungban.wallet import kinds
from tungban.wallet import services as wallet
from tungban.wallet.cli import AppError
from tungban.wallet.models import ApprovalRequest


def test_the_platform_kinds_are_registered_by_their_apps():
    registered = {k.id: k for k in kinds.all_kinds()}
    assert registered["bind"].app == "wallet"
    assert (registered["login"].app, registered["formfill"].app) == ("oidc", "oidc")
    assert (registered["sign"].app, registered["sign"].binds) == ("signing", ("documents",))
    assert (registered["consent"].app, registered["consent"].binds) == ("exchange", ("terms",))


def test_kind_labels_are_translated():
    with translation.override("en"):
        assert wallet.kind_labels()["sign"] == "Sign documents"
    with translation.override("zh-hant"):
        assert wallet.kind_labels()["sign"] == "簽署文件"


def test_register_is_idempotent_and_refuses_conflicts_and_bad_names():
    kind = kinds.get("sign")
    assert kinds.register(kind.id, kind.label, binds=kind.binds, app=kind.app) == kind
    with pytest.raises(ImproperlyConfigured):
        kinds.register("sign", kind.label, binds=("other",), app="elsewhere")
    for bad_id in ("", "Sign", "has space", "x" * (kinds.MAX_ID_LENGTH + 1)):
        with pytest.raises(ImproperlyConfigured):
            kinds.register(bad_id, "label")
    with pytest.raises(ImproperlyConfigured):
        kinds.register("reuses-nonce", "label", binds=("nonce",))  # a protocol member
    for proof_member in ("htu", "jti", "binding_id"):  # what the device key signs in other proofs
        with pytest.raises(ImproperlyConfigured):
            kinds.register(f"reuses-{proof_member}", "label", binds=(proof_member,))
    assert kinds.get("sign") == kind
    with pytest.raises(LookupError):
        kinds.get("reuses-nonce")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("context", "wrong"),
    [
        ({"terms_sha256": "ab" * 32}, {"terms": "cd" * 32}),
        ({"documents": [{"name": "a.pdf", "sha256": "ef" * 32}]}, {"documents": ["01" * 32]}),
    ],
)
def test_requests_opened_before_binds_still_bind_their_legacy_values(issuer, resident, app_home, context, wrong):
    app = bind_cli(issuer, resident, app_home)
    # As written before the registry: no context["binds"], the legacy keys only.
    req = ApprovalRequest.objects.create(
        kind="formfill", requester_id="svc", resident=resident, nonce="n" * 43, context=context, expires_at=_later()
    )
    shown = app.show(str(req.id), PIN)
    assert shown["binds"] == wallet.bound_values(req) != {}
    with pytest.raises(AppError) as refused:
        _decide_with(app, req, shown, wrong)
    assert refused.value.code == "bad_signature"
    assert app.decide(str(req.id), PIN, "approve")["status"] == "approved"


def test_create_request_validates_against_the_registry(transactional_db):
    base = dict(requester_id="svc", requester_name_en="Svc", requester_name_zh="服務", requested_claims=[])
    with pytest.raises(LookupError):
        wallet.create_request(kind="no-such-kind", **base)
    with pytest.raises(ValueError):
        wallet.create_request(kind="consent", **base)  # binds terms: missing
    with pytest.raises(ValueError):
        wallet.create_request(kind="login", binds={"extra": 1}, **base)  # binds nothing
    assert not ApprovalRequest.objects.exists()
    req = wallet.create_request(kind="consent", binds={"terms": "ab" * 32}, context={"reason": "r"}, **base)
    assert req.context == {"reason": "r", "binds": {"terms": "ab" * 32}}
    login = wallet.create_request(kind="login", **base)
    assert login.context == {"binds": {}} and wallet.bound_values(login) == {}


def _later():
    return timezone.now() + dt.timedelta(minutes=2)


def _decide_with(app, req, shown, members):
    key = app.load_key(PIN)
    payload = {
        "request_id": str(req.id),
        "requester": shown["requester"]["id"],
        "nonce": shown["nonce"],
        "decision": "approve",
        "claims": [],
        **members,
    }
    signature = jws.serialize_compact({"alg": "ES256", "kid": app.meta["device_id"]}, json.dumps(payload).encode(), key)
    return app._call("POST", f"/api/v1/wallet/requests/{req.id}/decision", {"signature": signature}, device_key=key)
