"""The transparency log's public JSON API (``/api/v1/log/``; no authentication).

RFC 9162 (Certificate Transparency v2) Merkle tree: signed tree heads, inclusion and
consistency proofs, entries. Hashes are base64 (RFC 4648 §4) of raw SHA-256 digests; leaf
indexes are 0-based. Proofs for a given tree size never change, so they are served with a
long ``Cache-Control: public, max-age=31536000, immutable``; answers about the current
tree (the head, or a proof without a size) with a short max-age. Errors have the platform's
shape (:class:`tungban.core.api.ErrorOut`, codes in :mod:`.errors`) and are never cached; a
parameter that is missing or not an integer is ``invalid_request`` (422).
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema

from tungban.core.api import error_responses

from . import transparency as services

router = Router(tags=["transparency log"])

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=10"


class TreeHeadOut(Schema):
    tree_size: int = Field(description="Number of leaves")
    root_hash: str = Field(
        description='base64 of the Merkle tree hash MTH(D[tree_size]) (RFC 9162 §2.1.1); SHA-256("") for an empty log'
    )
    timestamp: int = Field(description="When the head was made, in milliseconds since the Unix epoch")
    signature: str = Field(
        description="Compact JWS (ES256, typ tree-head+jwt) over iss, iat, tree_size, root_hash, timestamp; verify with /oidc/jwks"
    )


class InclusionOut(Schema):
    leaf_index: int = Field(description="0-based position of the leaf")
    tree_size: int
    leaf_hash: str = Field(description="base64 of SHA-256(0x00 || UTF-8 body)")
    inclusion_path: list[str] = Field(
        description="base64 hashes, the leaf's sibling first (RFC 9162 §2.1.3.1); verify with §2.1.3.2"
    )


class ConsistencyOut(Schema):
    first: int
    second: int
    consistency_path: list[str] = Field(
        description="base64 hashes (RFC 9162 §2.1.4.1); verify with §2.1.4.2; empty when first = second"
    )


class EntryOut(Schema):
    leaf_index: int
    kind: str = Field(description="e.g. credential.issued, credential.revoked")
    reference: str = Field(description="Id of the record, e.g. the credential id")
    body: str = Field(
        description="The exact canonical JSON text hashed into the leaf: leaf_hash = SHA-256(0x00 || UTF-8 body)"
    )
    leaf_hash: str
    appended_at: dt.datetime


class EntriesOut(Schema):
    entries: list[EntryOut]


@router.get("/head", response={200: TreeHeadOut}, auth=None, summary="The latest signed tree head")
def head(request, response: HttpResponse):
    """Keep heads you fetch: a later consistency proof from your head's ``tree_size`` shows
    the log only grew, and ``tungban verify_transparency_log --expect SIZE:ROOT`` checks it
    on the platform side."""
    response["Cache-Control"] = SHORT
    return services.signed_tree_head()


@router.get(
    "/inclusion",
    response={200: InclusionOut, **error_responses(400, 422)},
    auth=None,
    summary="Inclusion proof of a leaf by index",
)
def inclusion(request, response: HttpResponse, leaf_index: int, tree_size: int | None = None):
    """Proof that leaf ``leaf_index`` is in the tree of ``tree_size`` leaves (default: the
    current size; pass the ``tree_size`` of a signed head you hold). Errors:
    ``tree_size_unknown`` (400, a size the log never had), ``leaf_index_out_of_range`` (400)."""
    proof = services.inclusion_proof(leaf_index, tree_size)
    response["Cache-Control"] = IMMUTABLE if tree_size is not None else SHORT
    return proof


@router.get(
    "/inclusion-by-hash",
    response={200: InclusionOut, **error_responses(400, 404, 422)},
    auth=None,
    summary="Inclusion proof of a leaf by its hash",
)
def inclusion_by_hash(
    request,
    response: HttpResponse,
    hash: str = Query(..., description="base64 leaf hash (URL-encode + / =, or use base64url)"),
    tree_size: int | None = None,
):
    """Proof for the first leaf whose ``leaf_hash`` is ``hash``, in the tree of ``tree_size``
    leaves (default: current). Errors: ``invalid_hash`` (400), ``tree_size_unknown`` (400),
    ``leaf_not_found`` (404)."""
    proof = services.inclusion_proof_by_hash(hash, tree_size)
    response["Cache-Control"] = IMMUTABLE if tree_size is not None else SHORT
    return proof


@router.get(
    "/consistency",
    response={200: ConsistencyOut, **error_responses(400, 422)},
    auth=None,
    summary="Consistency proof between two tree sizes",
)
def consistency(request, response: HttpResponse, first: int, second: int | None = None):
    """Proof that the tree of ``second`` leaves (default: current) extends the tree of
    ``first`` leaves. Errors: ``tree_size_unknown`` (400, a size the log never had),
    ``invalid_range`` (400, first > second)."""
    proof = services.consistency_proof(first, second)
    response["Cache-Control"] = IMMUTABLE if second is not None else SHORT
    return proof


@router.get(
    "/entries", response={200: EntriesOut, **error_responses(400, 422)}, auth=None, summary="Log entries by index range"
)
def entries(request, response: HttpResponse, start: int, end: int):
    """Entries ``start`` to ``end`` inclusive (0-based, like RFC 6962 get-entries); at most
    1000, and none past the current size, so fewer may come back: ask again from the next
    index. Errors: ``invalid_range`` (400)."""
    rows = services.get_entries(start, end)
    complete = rows and rows[-1]["leaf_index"] == end
    response["Cache-Control"] = IMMUTABLE if complete else SHORT
    return {"entries": rows}


class PublishedHeadOut(TreeHeadOut):
    seq: int = Field(description="1, 2, 3 … in the order the log made its heads; never reused")


class HeadsOut(Schema):
    heads: list[PublishedHeadOut] = Field(description="Oldest first, at most 100")
    next: int | None = Field(description="The seq to ask for next (start=next), or null when this is the last page")
    latest: int | None = Field(description="The seq of the newest head published now (null when none yet)")


@router.get(
    "/heads",
    response={200: HeadsOut, **error_responses(422)},
    auth=None,
    summary="Every signed tree head the log has made, in order (append-only)",
)
def heads(
    request,
    response: HttpResponse,
    start: int = Query(1, description="The seq of the first head to list (1 for the oldest)"),
):
    """Each head the log makes — after every append, on a schedule (``TUNGBAN_TREE_HEAD_INTERVAL``)
    and when it is signed again — is stored and listed here for good, oldest first, 100 to a
    page: no head is ever changed or removed. Witnesses keep the last head they checked and,
    for each newer one, verify its signature (``/oidc/jwks``) and the consistency proof
    (``/log/consistency``) from the head they kept (``tungban witness``). A full page never
    changes and is cached for a year; the last page for a few seconds."""
    rows = services.published_heads(start, services.MAX_HEADS)
    latest = services.latest_published_seq()
    full = len(rows) == services.MAX_HEADS
    response["Cache-Control"] = IMMUTABLE if full else SHORT
    return {"heads": rows, "next": rows[-1]["seq"] + 1 if full else None, "latest": latest}
