"""The notification service's error codes (issue 16, "Notifications"), declared once.

Listed in the OpenAPI document under the ``notifications`` tag.
"""

from django.utils.translation import gettext_lazy as _

from tungban.core.errors import Conflict, DomainError, Forbidden, NotFound

# Senders (API keys)
KeyRequired = Forbidden.define(
    "api_key_required",
    _("Send your API key as: Authorization: Bearer <key>."),
    status=401,
)
KeyInvalid = Forbidden.define("api_key_invalid", _("The API key is not valid or has been revoked."), status=401)
InvalidKind = DomainError.define("invalid_key_kind", _("The key kind must be live, team or test."), field="kind")
UnknownService = NotFound.define("unknown_service", _("There is no such notification service."))

# Templates and sending
UnknownTemplate = NotFound.define("unknown_template", _("Your service has no such template."), field="template_id")
InvalidTemplate = DomainError.define("invalid_template", _("The template is not valid: %(reason)s"), field="body_en")
MissingPersonalisation = DomainError.define(
    "missing_personalisation",
    _("The template needs these placeholders in personalisation: %(names)s."),
    field="personalisation",
)
UnknownSubject = NotFound.define("unknown_subject", _("No resident has this identifier at your service."), field="sub")
NotInTeam = Forbidden.define(
    "recipient_not_in_team",
    _("A team key sends only to residents on the service's team list; use a live key."),
    field="sub",
)
MessageTooLong = DomainError.define(
    "message_too_long", _("The message is longer than %(max)s characters."), field="personalisation"
)
SenderInactive = Forbidden.define(
    "sender_inactive", _("Your service's OpenID client is deactivated: it cannot send notifications.")
)
UnknownNotification = NotFound.define("unknown_notification", _("There is no such notification."))

# The resident's app
InvalidSubscription = DomainError.define(
    "invalid_subscription",
    _("The push subscription is not valid: %(reason)s"),
    field="endpoint",
)
PushUnavailable = Conflict.define(
    "push_unavailable", _("Push messages are not set up on this platform (no VAPID key).")
)
