"""The mini-program platform's error codes, declared once (listed under the ``miniapps`` tag).

The app's bridge passes ``permission_not_granted`` and ``action_not_available`` on to the
mini-app as they are (``{"ok": false, "error": {"code", "message"}}``); the bridge's own
refusals (``permission_denied``, ``not_declared``, ``unknown_permission``, ``bad_request``,
``busy``) are documented in ``wallet/static/wallet/js/lib/miniapp-bridge.js``.
"""

from django.utils.translation import gettext_lazy as _

from tungban.core.errors import DomainError, Forbidden, NotFound

NoMiniApp = NotFound.define("no_miniapp", _("This mini-program does not exist or is not published."))
UnknownPermission = NotFound.define("unknown_permission", _("This mini-program does not ask for that permission."))
PermissionNotGranted = Forbidden.define(
    "permission_not_granted", _("You have not allowed this mini-program to do that, or you revoked it.")
)
ActionNotAvailable = DomainError.define(
    "action_not_available",
    _("This action is not available in tungban 通辦 yet. Nothing was shared."),
    status=409,
)
BadBundle = DomainError.define("bad_bundle", _("The mini-program bundle is not valid: %(reason)s"))
InvalidMiniappSector = DomainError.define(
    "invalid_miniapp_sector",
    _(
        "A mini-program's sector is empty (its own), its own miniapp:<id>, or the sector of one of "
        "the department's online services."
    ),
    field="sector_identifier",
)
