import io

from django.core.management import call_command
from joserfc import jwt

from tungban.keys import services as keys
from tungban.keys.models import SigningKey


def test_the_key_ring_keeps_the_table_it_had_in_oidc():
    assert SigningKey._meta.app_label == "keys"
    assert SigningKey._meta.db_table == "oidc_signingkey"  # moved without moving rows


def test_rotate_keys_command_retires_the_active_key_and_keeps_it_published(db):
    old_kid, _ = keys.active_key()
    out = io.StringIO()
    call_command("rotate_keys", stdout=out)
    new_kid, _ = keys.active_key()
    assert new_kid != old_kid and new_kid in out.getvalue()
    assert SigningKey.objects.get(kid=old_kid).retired_at is not None
    assert {k["kid"] for k in keys.public_jwks()["keys"]} == {old_kid, new_kid}


def test_signed_jwt_verifies_with_the_published_jwks(db):
    token = keys.sign_jwt({"sub": "x"}, "JWT")
    decoded = jwt.decode(token, keys.public_keyset(), ["ES256"])
    assert decoded.claims == {"sub": "x"} and decoded.header["typ"] == "JWT"
    assert bytes(SigningKey.objects.get().private_pem).startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
