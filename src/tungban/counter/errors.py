"""The counter's error codes (issue 13 item 1: re-binding with a second officer), declared once."""

from django.utils.translation import gettext_lazy as _

from tungban.core.errors import Conflict, DomainError, Forbidden

RebindPending = Conflict.define(
    "rebind_pending", _("A re-binding of this account is already waiting for a supervisor's approval.")
)
RebindDecided = Conflict.define("rebind_decided", _("This re-binding request has already been decided."))
NotSupervisor = Forbidden.define("not_supervisor", _("Only a counter supervisor can approve or reject a re-binding."))
SameOfficer = Forbidden.define(
    "same_officer",
    _("A second officer must decide: you asked for this re-binding, so another supervisor must approve it."),
)
RebindExpired = Conflict.define(
    "rebind_expired", _("This re-binding request has expired: ask for a new one with the resident present.")
)
RebindNotApproved = Conflict.define(
    "rebind_not_approved", _("This re-binding is not approved, or its activation code was already issued.")
)
NotRequester = Forbidden.define(
    "not_requester", _("Only the officer who asked for this re-binding, with the resident, can issue its code.")
)
SuspendReasonRequired = DomainError.define(
    "suspend_reason_required", _("Give the reason for suspending the account."), field="reason", status=422
)
