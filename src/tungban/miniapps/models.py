"""Mini-apps, their content-hashed bundles and the resident's grants.

A :class:`MiniApp` is published by a department (``publisher_*``); each upload is a
:class:`MiniAppVersion` whose files are stored in the database and served from
``/miniapps/<id>/<sha256>/<path>`` (the hash in the address: a new version is a new address,
cached for ever). A :class:`Grant` is one permission a resident gave one mini-app; revoking it
sets ``revoked_at`` (kept as history).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tungban.identity.models import Resident

from .constants import SECTOR_PREFIX


class MiniApp(models.Model):
    id = models.SlugField(_("Mini-program id"), max_length=40, primary_key=True)
    name_en = models.CharField(_("Name (English)"), max_length=100)
    name_zh = models.CharField(_("Name (Chinese)"), max_length=100)
    description_en = models.CharField(_("Description (English)"), max_length=300, blank=True)
    description_zh = models.CharField(_("Description (Chinese)"), max_length=300, blank=True)
    publisher_id = models.CharField(_("Publishing department id"), max_length=40)
    publisher_name_en = models.CharField(_("Publishing department (English)"), max_length=200)
    publisher_name_zh = models.CharField(_("Publishing department (Chinese)"), max_length=200)
    sector_identifier = models.CharField(
        _("Pairwise sector"),
        max_length=200,
        blank=True,
        help_text=_(
            "Empty: the mini-program has its own pairwise identifiers (sector miniapp:<id>). A department "
            "that runs the same service on the web may register both as one sector by entering its web "
            "service's sector here."
        ),
    )
    current = models.ForeignKey(
        "MiniAppVersion",
        verbose_name=_("Current version"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    is_active = models.BooleanField(
        _("Published"),
        default=True,
        help_text=_("Untick to stop the mini-program at once (it is no longer listed, launched or served)."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("mini-program")
        verbose_name_plural = _("mini-programs")

    def __str__(self) -> str:
        return self.name_en

    @property
    def sector(self) -> str:
        """The pairwise-subject sector (OIDC Core §8.1) of the identifiers this mini-app sees.

        By default its own, ``miniapp:<id>``: the ``sub`` a mini-app sees differs from the one
        its department's web service sees. A mini-app is other code, run in another place (inside
        the resident's app, with its own grants), and the resident approves it separately, so
        linking the two is the department's explicit act, as grouping clients is
        (``sector_identifier_uri``, OIDC Core §8.1): it registers the web service's sector here
        (``publish_miniapp --sector`` or the admin) and both then see one ``sub``."""
        return self.sector_identifier or f"{SECTOR_PREFIX}{self.id}"

    def clean(self):
        """The admin's validation of :attr:`sector_identifier` (:func:`.sectors.check_sector`:
        issue 16 security review L3)."""
        from django.core.exceptions import ValidationError

        from tungban.core.errors import DomainError

        from .sectors import check_sector

        super().clean()
        try:
            check_sector(self.id, self.sector_identifier)
        except DomainError as exc:
            raise ValidationError({"sector_identifier": exc.message}) from None


class MiniAppVersion(models.Model):
    miniapp = models.ForeignKey(MiniApp, on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(_("Version"), max_length=40)
    sha256 = models.CharField(max_length=64, help_text="SHA-256 of the bundle's canonical file list")
    manifest = models.JSONField()
    files = models.JSONField(help_text="{path: base64 content}")
    size = models.PositiveIntegerField(_("Size (bytes)"))
    uploaded_at = models.DateTimeField(_("Published at"), auto_now_add=True)

    class Meta:
        verbose_name = _("mini-program version")
        verbose_name_plural = _("mini-program versions")
        constraints = [models.UniqueConstraint(fields=["miniapp", "sha256"], name="one_version_per_hash")]

    @property
    def permissions(self) -> list[str]:
        return list(self.manifest.get("permissions", []))


class Grant(models.Model):
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="miniapp_grants")
    miniapp = models.ForeignKey(MiniApp, on_delete=models.CASCADE, related_name="grants")
    permission = models.CharField(max_length=60)
    granted_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("mini-program permission")
        verbose_name_plural = _("mini-program permissions")
        constraints = [
            models.UniqueConstraint(
                fields=["resident", "miniapp", "permission"],
                condition=Q(revoked_at__isnull=True),
                name="one_live_grant_per_permission",
            )
        ]
