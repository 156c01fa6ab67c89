"""Reads for officers and holders (the Styleguide's selectors; nothing here writes): one
credential or bulk job by id (scoped to an issuer for its systems), an issuer's recent
credentials, jobs and types, search by credential id or HKID number, a resident's
credentials, and their claims as issued (from the SD-JWT's own disclosures) and as
displayed.
"""

from __future__ import annotations

import base64
import json
import uuid

from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from tungban.identity import services as identity
from tungban.identity.models import Resident

from .. import errors as credential_errors
from ..models import Credential, CredentialType, IssuanceBatch, Issuer


def get_credential(credential_id, *, issuer: Issuer | None = None) -> Credential:
    """:raises NotFound: ``credential_unknown`` (also when it belongs to another issuer)."""
    qs = Credential.objects.select_related("credential_type", "issuer", "holder", "status_list")
    if issuer is not None:
        qs = qs.filter(issuer=issuer)
    try:
        return qs.get(id=credential_id)
    except (Credential.DoesNotExist, ValueError, ValidationError):
        raise credential_errors.CredentialUnknown() from None


def get_batch(batch_id, *, issuer: Issuer | None = None) -> IssuanceBatch:
    """A bulk issuance job (``rows`` deferred).

    :raises NotFound: ``batch_unknown`` (also when it belongs to another issuer).
    """
    qs = IssuanceBatch.objects.select_related("credential_type__issuer").defer("rows")
    if issuer is not None:
        qs = qs.filter(credential_type__issuer=issuer)
    try:
        return qs.get(id=batch_id)
    except (IssuanceBatch.DoesNotExist, ValueError, ValidationError):
        raise credential_errors.BatchUnknown() from None


def _of_issuers(issuers: list[Issuer]):
    return Credential.objects.filter(issuer__in=issuers).select_related("credential_type", "issuer", "holder")


def recent_credentials(issuers: list[Issuer], limit: int = 20) -> list[Credential]:
    """The latest credentials of ``issuers``, newest first."""
    return list(_of_issuers(issuers).order_by("-issued_at")[:limit])


def recent_batches(issuers: list[Issuer], limit: int = 20) -> list[IssuanceBatch]:
    """The latest bulk issuances of ``issuers``' types, newest first."""
    return list(
        IssuanceBatch.objects.filter(credential_type__issuer__in=issuers)
        .select_related("credential_type")
        .defer("rows")
        .order_by("-created_at")[:limit]
    )


def types_of(issuers: list[Issuer]) -> list[CredentialType]:
    """The active credential types of ``issuers`` by issuer and id."""
    return list(CredentialType.objects.filter(issuer__in=issuers, active=True).order_by("issuer_id", "id"))


def search_credentials(issuers: list[Issuer], query: str) -> list[Credential]:
    """Credentials of ``issuers`` with id ``query`` or held by the HKID number ``query``.

    :raises DomainError: ``hkid_format`` / ``hkid_check_digit`` / ``no_account`` for a query
        that is neither a credential id nor a known HKID number.
    """
    query = (query or "").strip()
    try:
        return list(_of_issuers(issuers).filter(id=uuid.UUID(query)))
    except ValueError:
        pass
    return list(_of_issuers(issuers).filter(holder=identity.get_by_hkid(query)).order_by("-issued_at"))


def credentials_of(resident: Resident) -> list[Credential]:
    """The resident's credentials, newest first, with their types and issuers."""
    return list(
        Credential.objects.filter(holder=resident).select_related("credential_type", "issuer").order_by("-issued_at")
    )


def holder_credential(resident: Resident, credential_id) -> Credential:
    """:raises NotFound: ``credential_unknown`` unless ``resident`` holds it."""
    credential = get_credential(credential_id)
    if credential.holder_id != resident.pk:
        raise credential_errors.CredentialUnknown()
    return credential


def displayed_claims(ctype: CredentialType, claims: dict, language: str | None) -> list[dict]:
    """``[{"name", "label", "value"}]`` of ``claims`` in the type's display order and language.

    A display claim may name its values' labels (``"values": {value: {"en", "zh"}}``, e.g. a
    role); a list is shown as one text, its items joined (each through ``values``)."""
    zh = (language or "").startswith("zh")
    spec = {c["name"]: c for c in (ctype.display or {}).get("claims", [])}
    labels = {name: (c["label_zh"] if zh else c["label_en"]) for name, c in spec.items()}
    order = list(labels) + [k for k in claims if k not in labels]
    out = []
    for name in order:
        if name in claims:
            value = _shown(claims[name], spec.get(name, {}).get("values") or {}, zh)
            out.append({"name": name, "label": labels.get(name, name), "value": value})
    return out


def _shown(value, values: dict, zh: bool):
    if value is True:
        return gettext("Yes")
    if value is False:
        return gettext("No")
    if isinstance(value, list):
        return ("、" if zh else ", ").join(str(_shown(v, values, zh)) for v in value)
    if isinstance(value, str) and isinstance(values.get(value), dict):
        return values[value].get("zh" if zh else "en") or value
    return value


def issued_claims(credential: Credential) -> dict:
    """Every claim of ``credential`` as issued (from its own disclosures)."""
    return issued_claims_from(credential.sd_jwt)


def issued_claims_from(sd_jwt: str) -> dict:
    """``{name: value}`` of the object-property disclosures in an SD-JWT (unverified)."""
    claims = {}
    for part in sd_jwt.split("~")[1:]:
        if part:
            decoded = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
            if len(decoded) == 3:
                claims[decoded[1]] = decoded[2]
    return claims
