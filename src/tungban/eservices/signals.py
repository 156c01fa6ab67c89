"""What other code learns about applications, after the change commits.

``application_changed(sender=Application, application, event)``: sent on commit for every
recorded :class:`~tungban.eservices.models.ApplicationEvent` (the resident's notifications
and the department systems' webhooks listen to it).
"""

from django.dispatch import Signal

application_changed = Signal()
