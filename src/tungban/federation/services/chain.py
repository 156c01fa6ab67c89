"""Trust chains (OpenID Federation 1.0 §4, §10): collect, verify, apply policy. Part fcore.

Agreed interface (other parts code against it):

.. code-block:: python

    @dataclass(frozen=True)
    class TrustChain:
        subject: str            # the leaf's entity identifier
        anchor: str             # the trust anchor's entity identifier
        path: tuple[str, ...]   # entity identifiers, leaf first, anchor last
        statements: tuple[str, ...]  # the JWTs (§4): leaf EC, subordinate statements, anchor EC
        metadata: dict          # the leaf's metadata after policy, {entity_type: {...}} (§6.1.4.2)
        trust_marks: tuple[dict, ...]  # verified: {"trust_mark_type", "iss", "sub", "iat", "exp", ...}
        expires_at: int         # Unix seconds: the earliest exp in the chain (§4.3)

    def resolve(entity_id: str, *, entity_type: str | None = None,
                required_trust_marks: Iterable[str] = (), anchors=None) -> TrustChain

``anchors`` defaults to the active :class:`~tungban.federation.models.TrustAnchor` rows (keys
pinned). Every call fetches afresh over HTTP (no cache: revocation takes effect at the next
resolution). Raises :class:`~tungban.federation.errors.InvalidTrustChain`,
``InvalidTrustAnchor``, ``InvalidMetadata``, ``InvalidTrustMark``, ``FetchFailed``.
"""
