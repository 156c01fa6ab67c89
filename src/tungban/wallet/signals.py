"""Signals other apps use to react to the app's events without the wallet importing them.

``approval_decided(sender=ApprovalRequest, request=req)``
    Sent inside the decision's transaction, after a decision (approved or declined) is
    recorded. A receiver that
    raises :class:`~tungban.core.errors.DomainError` turns the approval into ``failed``
    (with ``failure_code``) and the app sees the error; anything else it wrote rolls back.
``approval_failed(sender=ApprovalRequest, request=req)``
    Sent inside the decision's transaction after a receiver of ``approval_decided`` refused
    an approval and it was recorded as ``failed`` (e.g. to tell the requester).
``device_unbound(sender=Device, device=device, reason=str)``
    Sent inside the unbinding transaction (lost phone, officer action, suspension).
"""

from django.dispatch import Signal

approval_decided = Signal()
approval_failed = Signal()
device_unbound = Signal()
