"""Compute's error codes (issue 20, part B), each raised before anything is written."""

from django.utils.translation import gettext_lazy as _

from tungban.core.errors import Conflict, DomainError, NotFound

UnknownAccount = NotFound.define("unknown_account", _("There is no compute account %(name)s."))
AccountExists = Conflict.define("account_exists", _("The compute account %(name)s already exists for another owner."))
BadAccountName = DomainError.define(
    "bad_account_name",
    _(
        "An account name has 1 to 64 lower-case letters, digits, hyphens or underscores and starts with a letter or digit."
    ),
    field="name",
)
BadLimit = DomainError.define(
    "bad_limit", _("A GPU-minutes limit is a whole number, zero or more."), field="gpu_minutes"
)
BadLoan = DomainError.define(
    "bad_loan", _("A loan moves a positive number of GPU-minutes between two different accounts."), field="gpu_minutes"
)
BadDates = DomainError.define("bad_dates", _("An account ends on or after the day it starts."), field="ends_on")
BadKind = DomainError.define("bad_account_kind", _("An account is subsidised or at market price."), field="kind")
ReasonRequired = DomainError.define("reason_required", _("Give the reason for the change."), field="reason")
AccountClosed = Conflict.define("account_closed", _("The compute account %(name)s is closed."))
InsufficientMinutes = Conflict.define(
    "insufficient_minutes",
    _("The account %(name)s has %(free)s GPU-minutes left, fewer than %(asked)s."),
)

# --- tgaps: the scheduler users of an account -----------------------------------------------------
BadUserName = DomainError.define(
    "bad_user_name",
    _(
        "A cluster user name has 1 to 32 lower-case letters, digits, hyphens or underscores and starts with a letter or an underscore."
    ),
    field="user",
)
TooManyUsers = Conflict.define(
    "too_many_users", _("An account has at most %(max)s cluster users; remove one before adding another.")
)
ReservedUserName = DomainError.define(
    "reserved_user_name",
    _("%(user)s is a system account of the cluster and cannot be a grantee's user."),
    field="user",
)
UserExists = Conflict.define("user_exists", _("%(user)s is already a cluster user of this account."))
UnknownUser = NotFound.define("unknown_user", _("%(user)s is not a cluster user of this account."))
