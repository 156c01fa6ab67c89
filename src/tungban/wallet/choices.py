"""The choice registry: a question the app asks the resident *in* an approval, whose answer
the device signs with the decision, e.g. CorpID's "which company do you act for?" in a login.

The wallet does not know the choices by name. An app registers one in its
``AppConfig.ready()``::

    from tungban.wallet import choices

    choices.register("corpid.organisation", legend=_("Act for"), options=load, check=check, app="corpid")

and a requester opens an approval with ``context["choice"] = "corpid.organisation"``. Then:

* the app's read of the request (:func:`tungban.wallet.services.request_details`) carries
  ``choice``: ``{"name", "legend", "options": [{"id", "label", "detail"}], "none", "claim"}``, the
  options computed for the device's resident by ``options(request, resident)`` (each label
  and detail ``{"en", "zh"}``, given in the request's language), and ``none``, what the app
  says when there is no option;
* the signed decision repeats the resident's answer as ``choice`` (the option's ``id``, or
  ``null`` when there was none to choose): the device signature covers it;
* on approval, ``check(request, resident, value)`` judges the answer (it raises a
  :class:`tungban.core.errors.DomainError` to refuse: the request is recorded ``failed`` with
  that code, nothing else is written, :func:`tungban.wallet.services.announce_decision`),
  and the answer is kept as ``context["chosen"]`` for the requester, who may show
  ``refused_title``, ``explain(code)`` and ``next_step`` on its own page after a refusal.

A tampered answer (an ``id`` that was not offered, or one no longer valid) is therefore
refused by ``check``, which must not trust that the value was among the options.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from .kinds import _ID


@dataclass(frozen=True)
class Choice:
    """One registered choice."""

    name: str
    legend: object  # a lazy translatable string
    options: Callable  # (ApprovalRequest, resident) -> [{"id": str, "label": {"en","zh"}, "detail": {"en","zh"}}]
    check: Callable  # (ApprovalRequest, resident, value: str | None) -> None, raises DomainError
    none: object = ""  # a lazy translatable string: what the app says when there is no option
    claim: str = ""  # the (essential) claim the answer stands for, which the app shows as the choice
    refused_title: object = ""  # a lazy translatable string: the requester's page title when check refused
    explain_code: Callable | None = None  # (failure code) -> str: check's refusal in the active language
    next_step: object = ""  # a lazy translatable string: what the person can do about a refusal
    app: str = ""

    def explain(self, code: str) -> str:
        """The refusal ``code`` of :attr:`check` in words, in the active language."""
        return str(self.explain_code(code)) if self.explain_code else code


_registry: dict[str, Choice] = {}


def register(
    name: str,
    *,
    legend,
    options: Callable,
    check: Callable,
    none="",
    claim: str = "",
    refused_title="",
    explain: Callable | None = None,
    next_step="",
    app: str = "",
) -> Choice:
    """Register a choice (call from ``AppConfig.ready()``); the same definition again is a no-op.

    :raises ImproperlyConfigured: a malformed name (as an approval kind's id), or the name
        already registered differently.
    """
    if not _ID.match(name or ""):
        raise ImproperlyConfigured(f"Choice name {name!r}: lowercase letters, digits, _ . -")
    choice = Choice(
        name=name,
        legend=legend,
        options=options,
        check=check,
        none=none,
        claim=claim,
        refused_title=refused_title,
        explain_code=explain,
        next_step=next_step,
        app=app,
    )
    known = _registry.get(name)
    if known is not None and known != choice:
        raise ImproperlyConfigured(f"Choice {name!r} is already registered by {known.app or 'another app'}")
    _registry[name] = choice
    return choice


def get(name: str) -> Choice:
    """The registered choice ``name``. :raises LookupError: not registered (the requester's bug)."""
    try:
        return _registry[name]
    except KeyError:
        raise LookupError(f"Unknown choice {name!r}: register it in the app's AppConfig.ready()") from None
