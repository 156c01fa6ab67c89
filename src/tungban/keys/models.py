from django.db import models


class SigningKey(models.Model):
    """A platform ES256 key (RFC 7518 §3.4): ID tokens, consent artefacts, exchange-log and
    transparency-log heads. ``private_pem`` is sealed with :func:`tungban.keys.sealing.seal`.

    Rotation (``tungban rotate_keys``): a new key becomes active; retired keys stay in the
    JWKS for ``TUNGBAN_KEY_RETIREMENT_DAYS`` so that what they signed still verifies.

    The table keeps its name from when the model lived in the OpenID Provider app
    (``oidc_signingkey``): the model moved, the rows did not.
    """

    kid = models.CharField(max_length=64, unique=True)
    private_pem = models.BinaryField()
    public_jwk = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "oidc_signingkey"
