"""Trust material for verifiers and holders: RFC 9162 inclusion proofs of issuance leaves
against a signed tree head (for offline checks by the holder's app), and the trust bundle
an offline verifier (認證易, :mod:`tungban.credentials.verify`) needs: issuers' keys, types,
status list tokens, the tree head and the platform's log keys.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import time

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone
from joserfc.jwk import KeySet

from tungban.core import ratelimit, rawsql
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


@functools.lru_cache(maxsize=8)
def _material_sql(platform: bool, bound_sql: str | None) -> str:
    """The text of :func:`verification_material`'s statement before its optional parts (a
    pure function of constant SQL: made once, not on every verification; issue 15)."""
    sql = (
        "SELECT 0, name_en, name_zh, NULL, NULL, 0 FROM credentials_issuer WHERE id = %s "
        "UNION ALL SELECT 1, CAST(public_jwk AS TEXT), NULL, NULL, created_at, id "
        "FROM credentials_issuerkey WHERE issuer_id = %s "
        "UNION ALL SELECT 2, name_en, name_zh, CAST(display AS TEXT), NULL, 0 FROM credentials_credentialtype WHERE id = %s "
        "UNION ALL SELECT 3, CASE WHEN token <> '' AND token_expires_at > %s THEN token END, NULL, NULL, NULL, 0 "
        "FROM credentials_statuslist WHERE issuer_id = %s AND number = %s"
    )
    if platform:
        sql += (
            f" UNION ALL SELECT 4, {ledger.HEAD_SIGNATURE_SQL}, {keys.ACTIVE_KID_SQL}, {keys.VERSION_SQL}, NULL, "
            f"{bound_sql or 'NULL'}"
        )
    return sql


def verification_material(
    issuer_id: str,
    type_id: str | None,
    status_ref: tuple[str, int] | None,
    *,
    holder_jwk=None,
    platform: bool = False,
    counter: ratelimit.Hit | None = None,
    logged: str | None = None,
) -> dict:
    """What 認證易's online check of one credential reads from the database, in one SQL
    statement (issue 15: an online verification read them in eleven ORM queries, then five):

    ``{"issuer": {"name_en", "name_zh", "jwks"} | None, "type": {"id", "name_en", "name_zh",
    "display"} | None, "status_token": str | None}``, and with ``platform`` also
    ``"platform": {"head_signature": str | None, "active_kid": str | None, "key_ring": str |
    None, "holder_bound": bool}`` (the latest published tree head's JWS, the platform's active
    key and key-ring version, for :func:`tungban.ledger.transparency.head_from_signature`
    and :func:`tungban.keys.services.every_public_jwk_at`; whether ``holder_jwk`` is the key
    of a bound app, as :func:`tungban.wallet.services.device_key_bound`).

    :param issuer_id: the issuer's id (the last segment of ``iss``).
    :param type_id: the credential type's id (the last segment of ``vct``), or None.
    :param status_ref: ``(issuer_id, number)`` of the status list the credential names, or None.
    :param holder_jwk: the credential's ``cnf.jwk``, or None.
    :param logged: a credential's digest (its issuance leaf's ``ref``): the statement also
        reads that leaf and its RFC 9162 inclusion path in the latest published head's tree
        (:func:`tungban.ledger.transparency.inclusion_rows_sql`), and the answer has
        ``"inclusion": {"leaf_index", "body", "tree_size", "inclusion_path"} | None`` (None:
        ask :func:`inclusion_of`). A worker's first verification of a credential took three
        more round trips for it (issue 15, third round).
    :param counter: a rate limiter's attempt (:func:`tungban.core.ratelimit.hit_statement`)
        counted by the same statement (a data-modifying ``WITH``, PostgreSQL): one round trip
        for the limit and the read (issue 15, third round). It is settled before anything is
        written here; the statement writes nothing else (the counter's commit may be
        asynchronous: :func:`tungban.core.ratelimit.hit_statement`).
    :raises RateLimited: (:data:`tungban.core.ratelimit.RateLimited`) when ``counter`` is past
        its limit; nothing is written then.

    ``status_token`` is the list's Status List Token when it is fresh; a list whose token is
    missing or near expiry goes through :func:`.status.status_list_token`, which rebuilds it
    (in its own transaction), and an unknown list gives None. Tables read (raw SQL, parameters
    bound): ``credentials_issuer``, ``credentials_issuerkey`` (``public_jwk``, newest first, as
    :func:`.metadata.published_jwks`), ``credentials_credentialtype``, ``credentials_statuslist``;
    with ``platform``, through the scalar SQL expressions their owners publish,
    ``ledger_publishedhead``, ``oidc_signingkey``, ``keys_keyringversion`` and ``wallet_device``;
    with ``logged``, ``ledger_logleaf`` and ``ledger_lognode`` through the ledger's SELECT.
    """
    from tungban.wallet import services as wallet

    connection = connections[DEFAULT_DB_ALIAS]  # one look-up of the connection for this thread
    soon = timezone.now() + dt.timedelta(seconds=settings.TUNGBAN_STATUS_LIST_TTL)
    sl_issuer, sl_number = status_ref if status_ref else ("", -1)
    bound = wallet.device_key_bound_sql(holder_jwk) if platform and holder_jwk is not None else None
    sql = _material_sql(platform, bound[0] if bound else None)
    params = [issuer_id, issuer_id, type_id or "", connection.ops.adapt_datetimefield_value(soon), sl_issuer, sl_number]
    if platform:
        params += [keys.SIGNING_KEYS, *(bound[1] if bound else [])]
    if logged is not None:
        inclusion_sql, inclusion_params = ledger.inclusion_rows_sql("credential.issued", logged)
        sql += f" UNION ALL SELECT 6 + inc.tag, inc.a, inc.b, NULL, NULL, inc.n FROM ({inclusion_sql}) AS inc"
        params += inclusion_params
    if counter is not None:
        sql = f"WITH hit AS ({counter.sql}) {sql} UNION ALL SELECT 5, value, NULL, NULL, NULL, 0 FROM hit"
        params = [*counter.params, *params]
    rows = rawsql.fetchall(sql, params, using=DEFAULT_DB_ALIAS)
    out: dict = {"issuer": None, "type": None, "status_token": None}
    keys_rows = sorted((r for r in rows if r[0] == 1), key=lambda r: (r[4], r[5]), reverse=True)
    status_row = None
    proof_rows = []
    for kind, a, b, c, _created, n in rows:
        if kind == 0:
            out["issuer"] = {"name_en": a, "name_zh": b, "jwks": {"keys": [json.loads(k[1]) for k in keys_rows]}}
        elif kind == 2:
            out["type"] = {"id": type_id, "name_en": a, "name_zh": b, "display": json.loads(c) if c else {}}
        elif kind == 3:
            status_row = (a,)
        elif kind == 4:
            out["platform"] = {"head_signature": a, "active_kid": b, "key_ring": c, "holder_bound": n is not None}
        elif kind == 5:
            counter.settle(a)
        elif kind >= 6:
            proof_rows.append((kind - 6, a, b, n))
    if logged is not None:
        out["inclusion"] = ledger.inclusion_from_rows(proof_rows)
    if status_row is not None:
        out["status_token"] = status_row[0] or status_list_token(sl_issuer, sl_number)[0]
    return out
