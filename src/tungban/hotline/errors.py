"""The hotline app's error codes (issue 22), declared once with ``DomainError.define`` (see ``core/errors.py``)."""

from django.utils.translation import gettext_lazy as _  # noqa: F401

from tungban.core.errors import Conflict, DomainError, Forbidden, NotFound  # noqa: F401

# --- the FAQ files (part sassist) ---
FaqFilesInvalid = DomainError.define("faq_files_invalid", _("The FAQ files are not valid: %(problems)s"), status=422)
