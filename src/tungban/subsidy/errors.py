"""The AI Subsidy Scheme's error codes (issue 20), declared once; each part's codes under its
heading. Each is refused before anything is written, or inside the service's transaction, so
nothing partial is stored. Listed in the OpenAPI document under the ``subsidy`` tag.
"""

from django.utils.translation import gettext_lazy as _  # noqa: F401

from tungban.core.errors import Conflict, DomainError, Forbidden, NotFound  # noqa: F401

# Funds, prices, capacity and awards (the subsidy engine)

# Intake: calls, batches, applications, eligibility, the secretariat's assessment

# Reports
