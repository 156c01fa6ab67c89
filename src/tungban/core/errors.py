"""Domain errors shared by every app.

A :class:`DomainError` carries a stable machine-readable ``code`` (documented in the API
guide and in the OpenAPI document), a human message that is translated into the user's
language, and the HTTP status an API should answer with. Services raise it *before* they
write anything, or inside ``transaction.atomic()`` so that nothing partial is stored.

JSON shape of an API error (every ``/api/`` endpoint)::

    {"error": "<code>", "message": "<text in the request's language>", "field": "<name>|null"}
"""

from __future__ import annotations


class DomainError(Exception):
    """A request the domain refuses.

    :param code: stable snake_case error code, e.g. ``"hkid_check_digit"``.
    :param message: human-readable, translatable text (use ``gettext_lazy``).
    :param field: the input field at fault, if any.
    :param status: HTTP status for API answers (400 unless given).
    :param details: extra machine-readable facts, added to the JSON body as ``details``.
    """

    status = 400

    def __init__(
        self, code: str, message, *, field: str | None = None, status: int | None = None, details: dict | None = None
    ):
        super().__init__(str(message))
        self.code = code
        self.message = message
        self.field = field
        self.details = details
        if status is not None:
            self.status = status

    def as_dict(self) -> dict:
        """The JSON error body: ``{"error", "message", "field"}`` (plus ``details`` if any)."""
        body = {"error": self.code, "message": str(self.message), "field": self.field}
        if self.details:
            body["details"] = self.details
        return body


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409
