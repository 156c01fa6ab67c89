"""Trust material for verifiers and holders: RFC 9162 inclusion proofs of issuance leaves
against a signed tree head (for offline checks by the holder's app), and the trust bundle
an offline verifier (認證易, :mod:`tungban.credentials.verify`) needs: issuers' keys, types,
status list tokens, the tree head and the platform's log keys.
"""

from __future__ import annotations

import time

from django.conf import settings
from joserfc.jwk import KeySet

from tungban.identity.models import Resident
from tungban.keys import services as keys
from tungban.ledger import transparency as ledger

from ..models import CredentialType, Issuer, StatusList
from .metadata import issuer_jwks, issuer_url, status_list_url, vct_url
from .selectors import holder_credential
from .status import status_list_token


def inclusion_of(digest: str, tree_size: int) -> dict | None:
    """The issuance leaf of the credential with ``digest`` and its RFC 9162 inclusion proof in
    the tree of ``tree_size`` leaves: ``{"leaf_index", "body", "inclusion_path"}``, or None
    when it was not logged within that size."""
    leaf = ledger.leaf_for("credential.issued", digest)
    if leaf is None or leaf.index >= tree_size:
        return None
    proof = ledger.inclusion_proof(leaf.index, tree_size)
    return {"leaf_index": leaf.index, "body": leaf.body, "inclusion_path": proof["inclusion_path"]}


def holder_inclusion_proof(resident: Resident, credential_id) -> dict:
    """For the holder's app: the inclusion proof of their credential against the latest
    signed tree head, with that head, so it can be checked offline later
    (``{"leaf_index", "body", "inclusion_path", "tree_head"}``).

    :raises NotFound: ``credential_unknown``.
    """
    credential = holder_credential(resident, credential_id)
    head = ledger.signed_tree_head()
    return {**inclusion_of(credential.digest, head["tree_size"]), "tree_head": head}


def trust_bundle() -> dict:
    """What a verifier needs to check credentials offline (see :mod:`.verify`):
    ``{"platform": base URL, "issuers": {iss: {"name_en", "name_zh", "jwks"}}, "types": {vct: {"name_en", "name_zh",
    "display"}}, "status_lists": {uri: token}, "tree_head": signed tree head,
    "log_jwks": platform JWKS, "generated_at": epoch seconds}``."""
    issuers = {
        issuer_url(i): {"name_en": i.name_en, "name_zh": i.name_zh, "jwks": issuer_jwks(i)}
        for i in Issuer.objects.order_by("id")
    }
    types = {
        vct_url(t): {"id": t.id, "name_en": t.name_en, "name_zh": t.name_zh, "display": t.display}
        for t in CredentialType.objects.order_by("id")
    }
    lists = {}
    for sl in StatusList.objects.order_by("issuer_id", "number"):
        lists[status_list_url(sl)] = status_list_token(sl.issuer_id, sl.number)[0]
    return {
        "platform": settings.TUNGBAN_ISSUER,
        "issuers": issuers,
        "types": types,
        "status_lists": lists,
        "tree_head": ledger.signed_tree_head(),
        "log_jwks": keys.public_jwks(),
        "generated_at": int(time.time()),
    }


def public_keyset(jwks: dict) -> KeySet:
    return KeySet.import_key_set(jwks)
