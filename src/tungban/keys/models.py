from django.db import models
from django.utils.translation import gettext_lazy as _


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
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")
        db_table = "oidc_signingkey"


class TokenKeyState(models.TextChoices):
    """Where a key kept outside the database (an HSM token object) is in its life."""

    PENDING = "pending", "pending"  # intended: the row committed, the token object may exist
    ACTIVE = "active", "active"  # used by a committed record (e.g. a signing credential)
    RETIRING = "retiring", "retiring"  # to be destroyed (its record was revoked)
    DESTROYED = "destroyed", "destroyed"


class TokenKey(models.Model):
    """A private key held in a PKCS#11 token, known to the platform before it exists (issue 14
    item 3). The row commits (``pending``) before the key is generated under ``label``
    (its ``CKA_LABEL`` and ``CKA_ID``), becomes ``active`` in the transaction that records
    its use, ``retiring`` when that use ends and ``destroyed`` once the token object is gone.
    :func:`tungban.keys.token.sweep` removes token objects with no row and ``pending`` rows
    whose key never came into use."""

    label = models.CharField(max_length=64, unique=True)
    purpose = models.CharField(max_length=40, help_text="What the key is for, e.g. signing_credential")
    state = models.CharField(max_length=10, choices=TokenKeyState.choices, default=TokenKeyState.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("token key")
        verbose_name_plural = _("token keys")
        indexes = [models.Index(fields=["state", "created_at"])]


class TokenNamespace(models.Model):
    """This database's share of the token: every key label starts ``tungban-<value>-``, and
    the sweep touches no other object, so two platforms (or a test run and the demo) sharing
    one HSM token never destroy each other's keys. One row."""

    value = models.CharField(max_length=16, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("token namespace")
        verbose_name_plural = _("token namespaces")


class KeyRingVersion(models.Model):
    """The version of a document built from the key ring (issue 15: "precomputed response bytes
    [...] invalidated by a version in the database, so every worker agrees"). ``name`` is the
    document (``"signing_keys"``: the published JWKS, :func:`tungban.keys.services.public_jwks`);
    ``generation`` is 32 random hex digits, replaced in the same transaction as every change to
    what the document is built from (:func:`tungban.keys.services.bump_version`).

    Random rather than a counter: a rolled-back transaction or a database restored from a
    backup can never bring back a generation that named other content, so a worker's cache
    keyed by it is never stale."""

    name = models.CharField(max_length=40, primary_key=True)
    generation = models.CharField(max_length=32)

    class Meta:
        verbose_name = _("key ring version")
        verbose_name_plural = _("key ring versions")
