"""UserInfo (OIDC Core §5.3) and form data in one read and one write: the hot path of issue 15.

The reference path (:func:`tungban.oidc.views._release`: Authlib's resource protector with
:class:`tungban.oidc.resource.TokenValidator`, then :func:`tungban.oidc.services.release`)
costs three SQL statements built by the ORM (the token with its client, resident, code and
approval, about a hundred columns; the pairwise ``sub``; the release insert) and most of its
CPU in Django's query compiler. :func:`answer` does the same work for the common valid case
with one ``SELECT`` (raw SQL, :func:`_read`) of exactly what the answer needs and one
``INSERT`` of the release record (:func:`tungban.wallet.services.record_release_row`), in
autocommit: no BEGIN/COMMIT round trips (the read needs no transaction; the insert is one
statement, atomic by itself, and the answer is sent only after it succeeded).

:func:`answer` returns ``None`` for anything but the common case, so that the caller falls
through to the reference path, which gives every error answer (RFC 6750 §3.1) exactly as
before: a missing or malformed ``Authorization`` header, another scheme (``DPoP``), a
``DPoP`` header, an unknown, expired, revoked or DPoP-bound token, a token without the
required scope, a client's own token (no resident), a suspended resident, a POST with a body,
a resident without a pairwise ``sub`` at the client's sector yet (the reference path creates
it), and a claim registered by another app (its value may read more than the resident's row).

Tables read (joined on their primary keys): ``oidc_token`` (by the unique index on
``access_token``, the SHA-256 of the token), ``oidc_client``, ``identity_resident``,
``oidc_authorizationcode`` (its ``approval_id``), ``oidc_pairwisesubject`` (by its unique
``(resident_id, sector)``); table written: ``wallet_releaserecord``. Names come from the
models' ``_meta``; every value is a bound parameter.
"""

from __future__ import annotations

import functools
import json
import re
import time

from django.db import connection
from django.http import HttpRequest, JsonResponse

from tungban.identity import eme
from tungban.wallet import services as wallet

from .constants import FORMFILL_KIND, LOGIN_KIND
from .models import AuthorizationCode, Client, PairwiseSubject, Token, access_token_digest
from .services import claims_within_scope
from .validators import OWN_SECTOR_PREFIX

#: RFC 6750 §2.1: ``credentials = "Bearer" 1*SP b64token``, ``b64token = 1*( ALPHA / DIGIT /
#: "-" / "." / "_" / "~" / "+" / "/" ) *"="``; the scheme is case-insensitive (RFC 9110 §11.1).
BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*)")

_TOKEN_COLUMNS = ("scope", "claims", "issued_at", "expires_in", "revoked_at", "dpop_jkt", "resident_id")
_CLIENT_COLUMNS = ("client_id", "name_en", "name_zh")


@functools.cache
def _select_sql() -> str:
    """The one ``SELECT`` (module docstring), built once from the models' ``_meta``."""
    q = connection.ops.quote_name
    from tungban.identity.models import Resident

    def col(model, name):
        return q(model._meta.get_field(name).column)

    token, client, code, pairwise = (q(m._meta.db_table) for m in (Token, Client, AuthorizationCode, PairwiseSubject))
    resident = q(Resident._meta.db_table)
    selected = [f"t.{col(Token, n)}" for n in _TOKEN_COLUMNS]
    selected += [f"c.{col(Client, n)}" for n in _CLIENT_COLUMNS]
    selected += [f"a.{col(AuthorizationCode, 'approval')}", f"p.{col(PairwiseSubject, 'sub')}"]
    selected += [f"r.{q(column)}" for column in eme.stored_columns()]
    sector = f"COALESCE(NULLIF(c.{col(Client, 'sector_identifier')}, ''), %s || CAST(c.{col(Client, 'id')} AS TEXT))"
    return (
        f"SELECT {', '.join(selected)} FROM {token} t"
        f" INNER JOIN {client} c ON c.{col(Client, 'id')} = t.{col(Token, 'client')}"
        f" INNER JOIN {resident} r ON r.{q(Resident._meta.pk.column)} = t.{col(Token, 'resident')}"
        f" LEFT OUTER JOIN {code} a ON a.{col(AuthorizationCode, 'id')} = t.{col(Token, 'authorization_code')}"
        f" LEFT OUTER JOIN {pairwise} p ON p.{col(PairwiseSubject, 'resident')} = t.{col(Token, 'resident')}"
        f" AND p.{col(PairwiseSubject, 'sector')} = {sector}"
        f" WHERE t.{col(Token, 'access_token')} = %s"
    )


def _read(token_string: str):
    """The row of :func:`_select_sql` for the access token ``token_string``, or ``None`` (no
    such token, or a client's own token: the inner join with the resident drops it)."""
    with connection.cursor() as cursor:
        cursor.execute(_select_sql(), (OWN_SECTOR_PREFIX, access_token_digest(token_string)))
        return cursor.fetchone()


def answer(request, *, scope: str | None, with_subject: bool) -> dict | None:
    """The UserInfo (``with_subject``: ``sub`` first) or form-data claims for ``request``,
    the release recorded, exactly as :func:`tungban.oidc.services.release` gives them for
    the token :func:`tungban.oidc.resource.bearer_token` accepts; or ``None`` for anything
    but the common valid case (module docstring), having read at most and written nothing.

    :param scope: a scope the token must carry (``"openid"`` for UserInfo), or ``None``.
    :raises django.db.DatabaseError: the database failed (the hot-path middleware answers 503).
    """
    meta = request.META
    if request.method == "POST" and (
        meta.get("CONTENT_LENGTH") not in (None, "", "0") or "HTTP_TRANSFER_ENCODING" in meta
    ):
        return None  # a body (maybe a form-encoded token, RFC 6750 §2.2): the reference path
    if "HTTP_DPOP" in meta:
        return None
    match = BEARER.fullmatch(meta.get("HTTP_AUTHORIZATION", ""))
    if match is None:
        return None
    row = _read(match.group(1))
    if row is None:
        return None
    token_scope, claims, issued_at, expires_in, revoked_at, dpop_jkt, resident_id = row[:7]
    client_id, name_en, name_zh, approval_id, sub = row[7:12]
    if revoked_at is not None or dpop_jkt or time.time() >= issued_at + expires_in:
        return None  # RFC 6750 §3.1 invalid_token; a DPoP-bound token is no bearer token (RFC 9449 §7.1)
    if scope is not None and scope not in (token_scope or "").split():
        return None  # insufficient_scope
    if with_subject and not sub:
        return None  # first release at this sector: the reference path creates the sub
    resident = eme.StoredResident(row[12:])
    if not resident.is_active:
        return None  # account_suspended
    if isinstance(claims, str):
        claims = json.loads(claims)  # SQLite's JSON is text; PostgreSQL's jsonb too with Django's loaders
    claims = claims_within_scope(claims, token_scope)
    if not eme.own_claims_only(claims):
        return None
    data = eme.values(resident, claims)
    wallet.record_release_row(
        resident_id,
        requester_id=client_id,
        requester_name_en=name_en,
        requester_name_zh=name_zh,
        kind=LOGIN_KIND if with_subject else FORMFILL_KIND,
        claims=[name for name in claims if name in data],
        approval_id=approval_id,
    )
    if with_subject:
        return {"sub": sub, **data}
    return data


def hot_userinfo(request: HttpRequest) -> JsonResponse | None:
    """:func:`tungban.oidc.views.userinfo` on the hot path (:mod:`tungban.core.hotpaths`):
    the common valid bearer request answered by :func:`answer` with the same status, body and
    CORS header; ``None`` (fall through to the view) for anything else. Lives here, not in
    :mod:`.views`, because ``OidcConfig.ready`` registers it and :mod:`.views` builds the
    authorization server on import (settings a settings-only child process lacks)."""
    return _respond(answer(request, scope="openid", with_subject=True))


def hot_formdata(request: HttpRequest) -> JsonResponse | None:
    """:func:`tungban.oidc.views.formdata` on the hot path, as :func:`hot_userinfo`."""
    return _respond(answer(request, scope=None, with_subject=False))


def _respond(data: dict | None) -> JsonResponse | None:
    if data is None:
        return None
    response = JsonResponse(data)
    response["Access-Control-Allow-Origin"] = "*"  # as views._cors
    response["Content-Length"] = str(len(response.content))  # as CommonMiddleware would (keep-alive)
    return response
