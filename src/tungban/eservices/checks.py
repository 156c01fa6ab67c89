"""Checks a service's owner adds to its form's validation (a registry, like ``wallet.kinds``):
what a JSON Schema cannot say because it depends on the owner's data (e.g. the AI Subsidy
Scheme refuses more nodes in a month than its class of service has; issue 20).

``register(slug, check)``: ``check(answers: dict, page: str | None) -> list[FieldError]`` is
called after the schema's validation of a page (``page``: its id; it checks only that page's
fields) and of the whole form at submission (``page=None``), with the cleaned answers. Its
problems are refused like the schema's (``form_invalid``, nothing stored). Registered at the
owner's ``AppConfig.ready()``; a later registration for the same slug replaces the first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .services.forms import FieldError

Check = Callable[[dict, "str | None"], "list[FieldError]"]

_checks: dict[str, Check] = {}


def register(slug: str, check: Check) -> None:
    """Add ``check`` to the validation of service ``slug``'s form."""
    _checks[slug] = check


def run(slug: str, answers: dict, page: str | None) -> list[FieldError]:
    """The registered check's problems for ``answers`` (none without a check)."""
    check = _checks.get(slug)
    return list(check(answers, page)) if check else []
