"""The key ring moved apps without moving rows: a database migrated before the move keeps its
keys, and they still unseal and sign after it (keys.0001 + oidc.0005 change Django's state only)."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from joserfc import jwt
from joserfc.jwk import ECKey

BEFORE = [("oidc", "0004_refresh_tokens"), ("keys", None)]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


@pytest.mark.django_db(transaction=True)
def test_keys_made_before_the_move_survive_it(settings):
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old_apps = _migrate(BEFORE)
        OldKey = old_apps.get_model("oidc", "SigningKey")
        private = ec.generate_private_key(ec.SECP256R1())
        pem = private.private_bytes(  # exactly as oidc/keys.py sealed keys before the move
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(settings.SECRET_KEY.encode()),
        )
        public = ECKey.import_key(private.public_key())
        OldKey.objects.create(kid="before-the-move", private_pem=pem, public_jwk=public.as_dict(private=False))

        new_apps = _migrate(latest)
        assert "signingkey" not in {m._meta.model_name for m in new_apps.get_app_config("oidc").get_models()}
        from tungban.keys import services as keys

        kid, key = keys.active_key()
        assert kid == "before-the-move"
        token = keys.sign_jwt({"sub": "x"}, "JWT")
        assert jwt.decode(token, public, ["ES256"]).claims == {"sub": "x"}
    finally:
        _migrate(latest)
