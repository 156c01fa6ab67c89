"""Mini-programs on the platform's side (issue 16, mini-programs): publishing, the bundle's
sandbox policy, deny-by-default grants enforced by the API, revocation, release records, and
each mini-app's own pairwise identity."""

from __future__ import annotations

import json

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tungban.keys import services as keys
from tungban.miniapps import services
from tungban.miniapps.models import MiniApp
from tungban.oidc import services as oidc
from tungban.testing.factories import PIN, bind_cli, make_client
from tungban.wallet.client import AppError
from tungban.wallet.models import ReleaseRecord

from .conftest import DEMO

API = "/api/v1/miniapps"


@pytest.fixture
def app(issuer, resident, library_card, tmp_path):
    return bind_cli(issuer, resident, tmp_path / "phone")


def _call(app, method, path):
    return app._call(method, API + path, device_key=app.load_key(PIN))


def _refused(app, method, path) -> AppError:
    with pytest.raises(AppError) as exc:
        _call(app, method, path)
    return exc.value


def test_publish_is_content_hashed_and_idempotent(library_card):
    again = services.publish(services.read_bundle(DEMO))
    assert again.pk == library_card.pk and len(library_card.sha256) == 64
    assert library_card.permissions == ["profile.name", "payment.request"]
    changed = services.read_bundle(DEMO)
    changed["app.css"] += b"\n/* v2 */\n"
    v2 = services.publish(changed)
    assert v2.sha256 != library_card.sha256
    assert MiniApp.objects.get(pk="library-card").current_id == v2.pk


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.pop("manifest.json"),
        lambda f: f.update({"../evil.js": b"x"}),
        lambda f: f.update({"run.sh": b"x"}),
        lambda f: f.pop("index.html"),
        lambda f: f.update(
            {"manifest.json": json.dumps({**json.loads(f["manifest.json"]), "permissions": ["hkid"]}).encode()}
        ),
    ],
)
def test_a_bad_bundle_is_refused_and_nothing_stored(db, change):
    files = services.read_bundle(DEMO)
    change(files)
    with pytest.raises(Exception) as exc:
        services.publish(files)
    assert getattr(exc.value, "code", None) == "bad_bundle"
    assert not MiniApp.objects.exists()


def test_bundle_files_are_served_sandboxed_without_network(client, library_card):
    resp = client.get(f"/miniapps/library-card/{library_card.sha256}/index.html")
    assert resp.status_code == 200 and resp["Content-Type"].startswith("text/html")
    policy = {d.split()[0]: d.split()[1:] for d in (p.strip() for p in resp["Content-Security-Policy"].split(";")) if d}
    assert policy["sandbox"] == ["allow-scripts"]  # an opaque origin even when opened directly
    assert policy["connect-src"] == ["'none'"] and policy["default-src"] == ["'none'"]
    assert policy["form-action"] == ["'none'"] and policy["frame-ancestors"] == ["'self'"]
    assert "immutable" in resp["Cache-Control"]
    assert client.get(f"/miniapps/library-card/{'0' * 64}/index.html").status_code == 404
    assert client.get(f"/miniapps/library-card/{library_card.sha256}/nothere.js").status_code == 404


def test_an_ungranted_call_is_refused(app):
    err = _refused(app, "GET", "/library-card/data/profile.name")
    assert (err.code, err.status) == ("permission_not_granted", 403)
    listed = _call(app, "GET", "/")
    assert [p["granted"] for p in listed[0]["permissions"]] == [False, False]
    assert not ReleaseRecord.objects.exists()


def test_a_granted_call_releases_and_is_recorded(app, resident):
    _call(app, "PUT", "/library-card/grants/profile.name")
    data = _call(app, "GET", "/library-card/data/profile.name")
    assert data == {"name_en": resident.name_en, "name_zh": resident.name_zh}
    rec = ReleaseRecord.objects.get(resident=resident)
    assert (rec.kind, rec.requester_id, rec.claims) == ("miniapp", "miniapp:library-card", ["name_en", "name_zh"])
    history = app.history(PIN)
    assert history[0]["kind"] == "miniapp" and history[0]["requester_name_en"] == "Library Card"


def test_a_revoked_permission_is_refused(app, resident):
    _call(app, "PUT", "/library-card/grants/profile.name")
    _call(app, "GET", "/library-card/data/profile.name")
    assert _call(app, "DELETE", "/library-card/grants/profile.name")["granted"] is False
    err = _refused(app, "GET", "/library-card/data/profile.name")
    assert (err.code, err.status) == ("permission_not_granted", 403)
    assert ReleaseRecord.objects.filter(resident=resident).count() == 1


def test_a_permission_whose_action_is_not_available(app, resident):
    _call(app, "PUT", "/library-card/grants/payment.request")
    err = _refused(app, "GET", "/library-card/data/payment.request")
    assert (err.code, err.status) == ("action_not_available", 409)
    assert not ReleaseRecord.objects.exists()


def test_undeclared_permissions_cannot_be_granted(app):
    assert _refused(app, "PUT", "/library-card/grants/profile.address").code == "unknown_permission"
    assert _refused(app, "GET", "/nothere/launch").code == "no_miniapp"


def test_each_miniapp_has_its_own_pairwise_identity(app, resident, issuer):
    """The mini-app's sector is its own by default: its sub differs from the department's
    web service's; registering the web service's sector makes them one (OIDC Core §8.1)."""
    web, _secret = make_client("lcsd-web", "https://lcsd.example/cb")
    launched = _call(app, "GET", "/library-card/launch")
    assert launched["entry_url"].startswith("/miniapps/library-card/")
    assert launched["sub"] == oidc.sector_sub(resident, "miniapp:library-card")
    assert launched["sub"] != oidc.pairwise_sub(resident, web)
    token = jwt.decode(launched["launch_token"], KeySet.import_key_set(keys.public_jwks()))
    assert token.header["typ"] == "miniapp-launch+jwt"
    assert token.claims["sub"] == launched["sub"] and token.claims["aud"] == "miniapp:library-card"
    assert token.claims["exp"] - token.claims["iat"] == 300 and token.claims["iss"] == issuer

    services.publish(services.read_bundle(DEMO), sector_identifier=web.sector)
    assert _call(app, "GET", "/library-card/launch")["sub"] == oidc.pairwise_sub(resident, web)


def test_publish_command(db, capsys):
    from django.core.management import call_command

    call_command("publish_miniapp", str(DEMO))
    out = capsys.readouterr().out
    assert out.startswith("library-card 1.0.0 sha256=") and "/miniapps/library-card/" in out


def test_a_suspended_miniapp_cannot_be_launched_or_served(app, client, library_card):
    """The kill switch (admin ``is_active``): launches, data calls and its files stop at once."""
    _call(app, "PUT", "/library-card/grants/profile.name")
    MiniApp.objects.filter(pk="library-card").update(is_active=False)
    assert _refused(app, "GET", "/library-card/launch").code == "no_miniapp"
    assert _refused(app, "GET", "/library-card/data/profile.name").code == "no_miniapp"
    assert _call(app, "GET", "/") == []
    assert client.get(f"/miniapps/library-card/{library_card.sha256}/index.html").status_code == 404


def test_admin_kill_switch_in_chinese(client, library_card):
    """An administrator sees the mini-program's page in Chinese (labels translated) and
    unticks "Published" to stop it."""
    from tungban.testing.factories import login_staff, staff_user

    login_staff(client, staff_user("admin"))
    url = "/admin/miniapps/miniapp/library-card/change/"
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-Hant-HK").content.decode()
    for label in ("小程序編號", "發布部門（英文）", "配對識別範圍", "已發布", "現行版本"):
        assert label in page, label
    resp = client.post(
        url,
        {
            "sector_identifier": "",
            "is_active": "",
            "versions-TOTAL_FORMS": "1",
            "versions-INITIAL_FORMS": "1",
            "versions-MIN_NUM_FORMS": "0",
            "versions-MAX_NUM_FORMS": "0",
            "versions-0-id": str(library_card.pk),
            "versions-0-miniapp": "library-card",
        },
    )
    assert resp.status_code == 302, resp.content.decode()[:2000]
    assert not MiniApp.objects.get(pk="library-card").is_active


# --- Issue 16 security review L3: a mini-app's sector ----------------------------------------


def _dept_client():
    """The department's web service, grouped by its administrator under ``dept.example``."""
    from tungban.oidc.models import Client

    client, _secret = make_client("dept-web", "https://dept.example/cb")
    Client.objects.filter(pk=client.pk).update(sector_identifier="dept.example")
    return client


@pytest.mark.parametrize(
    "sector",
    [
        "personal-code:counter",
        "cdeg:land-registry",
        "client:999999",
        "miniapp:another",
        "urn:x:y",
        "unregistered.example",
    ],
)
def test_a_platform_or_foreign_sector_is_refused(db, sector):
    """Only the mini-app's own ``miniapp:<id>`` or a registered client's sector (OIDC Core
    §8.1 grouping): never a platform prefix (a personal-code verifier's, the
    exchange's, another mini-app's) whose residents' ``sub`` the mini-app would then see."""
    from django.core.exceptions import ValidationError

    from tungban.core.errors import DomainError

    _dept_client()
    with pytest.raises(DomainError) as err:
        services.publish(services.read_bundle(DEMO), sector_identifier=sector)
    assert err.value.code == "invalid_miniapp_sector"
    assert not MiniApp.objects.exists()
    app = MiniApp(id="lib", name_en="L", name_zh="L", publisher_id="x", publisher_name_en="X", publisher_name_zh="X")
    app.sector_identifier = sector
    with pytest.raises(ValidationError) as invalid:
        app.full_clean()
    assert "sector_identifier" in invalid.value.message_dict


def test_its_own_sector_or_a_clients_sector_is_accepted(db):
    _dept_client()
    version = services.publish(services.read_bundle(DEMO), sector_identifier="dept.example")
    version.miniapp.full_clean()
    assert version.miniapp.sector == "dept.example"
    own = f"miniapp:{version.miniapp.id}"
    assert services.publish(services.read_bundle(DEMO), sector_identifier=own).miniapp.sector == own
