"""Domain errors shared by every app.

A :class:`DomainError` carries a stable machine-readable ``code`` (documented in the API
guide and in the OpenAPI document), a human message that is translated into the user's
language, and the HTTP status an API should answer with. Services raise it *before* they
write anything, or inside ``transaction.atomic()`` so that nothing partial is stored.

Each app declares its codes once, in ``<app>/errors.py`` (the way saleor keeps
``error_codes.py`` per app)::

    NoRequest = NotFound.define("no_request", _("This request does not exist."))

    raise errors.NoRequest()                                   # default message, 404
    raise errors.BadSignature(_("The proof is for another call."), status=401)
    raise errors.EssentialClaim(fields="name_en, hkid")       # fills %(fields)s

A declared error is a subclass of the class it was defined on, so ``except NotFound`` and
``except errors.NoRequest`` both catch it. :func:`declared_errors` lists an ``errors``
module's codes; the API publishes them in its OpenAPI document (:mod:`tungban.core.api`).

JSON shape of an API error (every ``/api/`` endpoint; ``details`` only when there are any)::

    {"error": "<code>", "message": "<text in the request's language>", "field": "<name>|null",
     "details": {...}}
"""

from __future__ import annotations

import re
from types import ModuleType


class DomainError(Exception):
    """A request the domain refuses.

    :param code: stable snake_case error code, e.g. ``"hkid_check_digit"``.
    :param message: human-readable, translatable text (use ``gettext_lazy``).
    :param field: the input field at fault, if any.
    :param status: HTTP status for API answers (400 unless given).
    :param details: extra machine-readable facts (a JSON object), added to the body as ``details``.
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

    @classmethod
    def define(cls, code: str, message, *, status: int | None = None, field: str | None = None) -> type[DomainError]:
        """Declare the error ``code`` once: a subclass of ``cls`` whose instances carry ``code``,
        ``message`` (the default text, may hold ``%(name)s`` placeholders) and ``status``
        (``cls``'s unless given). Instantiate it as ``Declared(message=None, *, field=None,
        status=None, details=None, **params)``: ``params`` fill the placeholders in the
        request's language; a ``message`` given at the raise site replaces the default.
        """
        if not re.fullmatch(r"[a-z][a-z0-9_]*", code):
            raise ValueError(f"error codes are snake_case: {code!r}")
        attrs = {"code": code, "default_message": message, "default_field": field, "__init__": _declared_init}
        if status is not None:
            attrs["status"] = status
        name = "".join(part.title() for part in code.split("_"))
        return type(name, (cls,), attrs)


_DEFAULT = object()


def _declared_init(self, message=None, *, field=_DEFAULT, status=None, details=None, **params):
    text = self.default_message if message is None else message
    if params:
        text = text % params  # a lazy string is translated here, in the request's language
    field = self.default_field if field is _DEFAULT else field
    DomainError.__init__(self, self.code, text, field=field, status=status, details=details)


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


def declared_errors(module: ModuleType) -> list[type[DomainError]]:
    """The errors an app's ``errors`` module declares with :meth:`DomainError.define`, in
    declaration order (a code declared twice is a mistake and raises ``ValueError``)."""
    found = [
        v for v in vars(module).values() if isinstance(v, type) and issubclass(v, DomainError) and "code" in vars(v)
    ]
    codes = [e.code for e in found]
    duplicates = {c for c in codes if codes.count(c) > 1}
    if duplicates:
        raise ValueError(f"{module.__name__} declares {sorted(duplicates)} more than once")
    return found
