"""The approval-kind registry: which kinds of approval the app can ask a resident for.

The wallet does not know its users by name. Each app registers the kinds it asks for in its
``AppConfig.ready()``::

    from tungban.wallet import kinds

    kinds.register("sign", _("Sign documents"), binds=("documents",))

* ``id``: stored in ``ApprovalRequest.kind`` and ``ReleaseRecord.kind`` (at most
  :data:`MAX_ID_LENGTH` characters, lowercase letters, digits and ``_`` ``.`` ``-``);
* ``label``: a translatable label the app and the history show;
* ``question`` (optional): what the app asks above the request (default: the login's
  question); a requester may also pass ``details`` in the request's context, lines the app
  shows under it (:func:`tungban.wallet.services.create_request`);
* ``binds``: the names of the values the device's signed decision must repeat. The requester
  passes them to :func:`tungban.wallet.services.create_request` (stored as
  ``context["binds"]``); :func:`tungban.wallet.services.decide` refuses a signature whose payload
  does not carry every one of them unchanged (``payload[name] == binds[name]``), and the app
  reads them from the request details to copy them. This is how a signature covers "what you
  see": the digests of the documents, the digest of the consent terms.

The pattern is django-oauth-toolkit's pluggable scopes backend (``oauth2_provider/scopes.py``)
applied to the wallet, as the architecture review §2.3 proposes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

#: The length of the ``kind`` columns.
MAX_ID_LENGTH = 40
#: The wallet's own kind: binding the app to an account (decided by the binding protocol, not
#: by :func:`tungban.wallet.services.decide`).
BIND = "bind"
#: Members of every decision payload, and of the other payloads the same device key signs
#: (the request proof's ``htm``/``htu``/``iat``/``jti``, RFC 9449 §4.2; the binding proof's
#: ``binding_id``): a bind may not reuse them, so no decision can double as another proof.
PAYLOAD_MEMBERS = frozenset(
    {"request_id", "requester", "nonce", "decision", "claims", "choice", "htm", "htu", "iat", "jti", "binding_id"}
)

_ID = re.compile(rf"^[a-z0-9_.-]{{1,{MAX_ID_LENGTH}}}$")


@dataclass(frozen=True)
class ApprovalKind:
    """One registered kind of approval."""

    id: str
    label: object  # a lazy translatable string
    binds: tuple[str, ...] = ()
    app: str = ""  # the registering app's label, for error messages and the admin
    question: object = ""  # a lazy translatable string; "" for the login's question
    #: Binds a request of this kind may carry or not (e.g. a login's cross-boundary consent).
    optional_binds: tuple[str, ...] = ()


_registry: dict[str, ApprovalKind] = {}


def register(id: str, label, *, binds=(), app: str = "", question="", optional_binds=()) -> ApprovalKind:
    """Register an approval kind (call from ``AppConfig.ready()``). Registering the same kind
    again with the same definition is a no-op (``ready()`` may run twice in tests).

    :param binds: names of the values the signed decision must repeat; not one of
        :data:`PAYLOAD_MEMBERS`.
    :param optional_binds: names of values a request of this kind may bind or not (e.g. the
        login's ``cross_boundary`` consent, issue 23); the same rules as ``binds``.
    :raises ImproperlyConfigured: a malformed id or bind name, or the id already registered
        differently.
    """
    optional_binds = tuple(optional_binds)
    binds = tuple(binds)
    bad_optional = [b for b in optional_binds if not isinstance(b, str) or not b or b in PAYLOAD_MEMBERS or b in binds]
    if bad_optional:
        raise ImproperlyConfigured(f"Approval kind {id!r}: bad optional bind names {bad_optional}")
    if not _ID.match(id or ""):
        raise ImproperlyConfigured(f"Approval kind id {id!r}: 1-{MAX_ID_LENGTH} of a-z 0-9 _ . -")
    bad = [b for b in binds if not isinstance(b, str) or not b or b in PAYLOAD_MEMBERS]
    if bad or len(set(binds)) != len(binds):
        raise ImproperlyConfigured(f"Approval kind {id!r}: bad or repeated bind names {bad or binds}")
    kind = ApprovalKind(id=id, label=label, binds=binds, app=app, question=question, optional_binds=optional_binds)
    known = _registry.get(id)
    if known is not None and known != kind:
        raise ImproperlyConfigured(f"Approval kind {id!r} is already registered by {known.app or 'another app'}")
    _registry[id] = kind
    return kind


def get(id: str) -> ApprovalKind:
    """The registered kind ``id``.

    :raises LookupError: not registered (a programming error of the requesting app).
    """
    try:
        return _registry[id]
    except KeyError:
        raise LookupError(f"Unknown approval kind {id!r}: register it in the app's AppConfig.ready()") from None


def all_kinds() -> list[ApprovalKind]:
    """Every registered kind, in registration order."""
    return list(_registry.values())


def labels() -> dict[str, str]:
    """``{kind id: translated label}`` in the active language."""
    return {k.id: str(k.label) for k in _registry.values()}


def questions() -> dict[str, str]:
    """``{kind id: translated question}`` of the kinds that registered one, in the active language."""
    return {k.id: str(k.question) for k in _registry.values() if k.question}


#: ``{bind name: waiver(req, resident) -> bool}`` (:func:`register_waiver`).
_waivers: dict = {}


def register_waiver(name: str, waiver) -> None:
    """Register ``waiver(req, resident_id) -> bool`` for the bind ``name``: when it answers
    ``True`` for the resident whose device reads or decides a request, the request does not
    bind that value for them (it is left out of ``binds`` and of the ``details`` lines tagged
    with it), e.g. a cross-boundary consent the resident already gave (issue 23: with a live
    binding the next login shows the usual approval). Call from ``AppConfig.ready()``."""
    _waivers[name] = waiver


def has_waivers() -> bool:
    """Whether any waiver is registered (a request's binds are then filtered per resident)."""
    return bool(_waivers)


def waived(name: str, req, resident_id) -> bool:
    """Whether the bind ``name`` of ``req`` is waived for the resident ``resident_id``
    (:func:`register_waiver`)."""
    waiver = _waivers.get(name)
    return bool(waiver and resident_id is not None and waiver(req, resident_id))
