"""The hotline app's error codes (issue 22), declared once with ``DomainError.define`` (see ``core/errors.py``)."""

from django.utils.translation import gettext_lazy as _  # noqa: F401

from tungban.core.errors import Conflict, DomainError, Forbidden, NotFound  # noqa: F401
