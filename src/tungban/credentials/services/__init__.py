"""Issuing, revoking and verifying e-licences and e-certificates (issue #5, MISSION §4).

Format: SD-JWT VC (draft-ietf-oauth-sd-jwt-vc; SD-JWT is RFC 9901), made and checked with
the ``sd-jwt`` library (OpenWallet Foundation). The issuer-signed JWT has header
``{"alg": "ES256", "typ": "dc+sd-jwt", "kid"}`` and, in the clear, ``iss`` (the issuer's
URL), ``vct`` (the credential type's URL), ``iat``, ``nbf``, ``exp`` (when the type expires),
``status`` and ``cnf`` (the holder's app key, RFC 7800); every claim about the holder is
selectively disclosable (one disclosure each, SD-JWT §4.2).

Status: IETF Token Status List (draft-ietf-oauth-status-list), 2 bits per credential
(0 valid, 1 invalid = revoked, 2 suspended); ``status.status_list = {"idx", "uri"}``. A
verifier fetches the whole list, so the issuer does not learn which credential is checked.

Transparency: every issuance and status change is a leaf in the RFC 9162 Merkle log
(:mod:`tungban.ledger`), written in the same transaction. Leaves carry the SHA-256 of the
issuer-signed JWT and the status position, never personal data.

The rules live in sub-modules, one concern each (HackSoft Django Styleguide, "Modules"),
and this package re-exports their public names, so callers keep writing
``from tungban.credentials import services`` and ``services.issue(...)``:

- :mod:`.metadata`: URLs (``iss``, ``vct``, status list ``uri``), issuer and type metadata,
  published keys, ``did:web``;
- :mod:`.issuer_keys`: the issuers' signing keys (create, rotate, the cached active key);
- :mod:`.issuers`: officers and department systems (who may issue for which issuer), types;
- :mod:`.claims`: the claims of a new credential, checked against the type's JSON Schema;
- :mod:`.issuance`: signing, status-list positions and logging (one credential or many);
- :mod:`.bulk`: CSV files and the bulk issuance job (a ``django.tasks`` task);
- :mod:`.status`: revocation, suspension, reinstatement and the status list tokens;
- :mod:`.selectors`: officers' and holders' reads;
- :mod:`.trust`: inclusion proofs and the verifiers' trust bundle;
- :mod:`.nonces`: 認證易's single-use verifier codes (nonces);
- :mod:`.personal_code`: the personal code (個人碼, issue 16): per-verifier credentials, offline checks.

A sub-module imports only sub-modules listed above it, never one below:
``src/tungban/core/tests/test_layers.py`` checks that no two modules import each other.
To patch a function in a test, patch the sub-module whose code calls it, not this package.
"""

from __future__ import annotations

from .bulk import (
    MAX_BULK_ROWS,
    RowError,
    issue_batch_task,
    issue_bulk,
    read_csv,
    run_batch_step,
    submit_bulk,
    validate_rows,
)
from .claims import HKT, claim_label, claims_validator, input_claims, prepare_claims
from .issuance import SD_JWT_TYP, issue, jwt_digest
from .issuer_keys import create_issuer_key, ensure_issuer_key, rotate_issuer_key
from .issuers import (
    get_type,
    issuer_for_client,
    issuer_for_token,
    issuers_for_officer,
    register_issuer_system,
    require_officer,
)
from .metadata import (
    did_document,
    did_web,
    issuer_jwks,
    issuer_metadata,
    issuer_url,
    published_jwks,
    status_list_url,
    type_metadata,
    vct_url,
    verifier_audience,
)
from .nonces import display_code, new_verifier_nonce, normalise_code, purge_expired, use_verifier_nonce
from .personal_code import (
    PersonalCodeCheck,
    issue_personal_code,
    replay_cache,
    verifiers,
    verify_personal_code,
)
from .selectors import (
    credentials_of,
    displayed_claims,
    get_batch,
    get_credential,
    holder_credential,
    issued_claims,
    issued_claims_from,
    recent_batches,
    recent_credentials,
    search_credentials,
    types_of,
)
from .status import (
    REASON_REQUIRED,
    STATUS_BITS,
    STATUS_CODES,
    STATUS_LIST_TYP,
    STATUS_NAMES,
    TRANSITIONS,
    change_status,
    officer_change_status,
    status_bytes,
    status_list_token,
)
from .trust import holder_inclusion_proof, inclusion_of, public_keyset, trust_bundle, verification_material

__all__ = [
    "REASON_REQUIRED",
    "officer_change_status",
    "PersonalCodeCheck",
    "issue_personal_code",
    "replay_cache",
    "verifiers",
    "verify_personal_code",
    "purge_expired",
    "HKT",
    "MAX_BULK_ROWS",
    "RowError",
    "SD_JWT_TYP",
    "STATUS_BITS",
    "STATUS_CODES",
    "STATUS_LIST_TYP",
    "STATUS_NAMES",
    "TRANSITIONS",
    "change_status",
    "claim_label",
    "claims_validator",
    "create_issuer_key",
    "credentials_of",
    "did_document",
    "did_web",
    "display_code",
    "displayed_claims",
    "ensure_issuer_key",
    "get_batch",
    "get_credential",
    "get_type",
    "holder_credential",
    "holder_inclusion_proof",
    "inclusion_of",
    "input_claims",
    "issue",
    "issue_batch_task",
    "issue_bulk",
    "issued_claims",
    "issued_claims_from",
    "issuer_for_client",
    "issuer_for_token",
    "issuer_jwks",
    "issuer_metadata",
    "issuer_url",
    "issuers_for_officer",
    "jwt_digest",
    "new_verifier_nonce",
    "normalise_code",
    "prepare_claims",
    "public_keyset",
    "published_jwks",
    "read_csv",
    "recent_batches",
    "use_verifier_nonce",
    "recent_credentials",
    "register_issuer_system",
    "require_officer",
    "rotate_issuer_key",
    "run_batch_step",
    "search_credentials",
    "status_bytes",
    "status_list_token",
    "status_list_url",
    "submit_bulk",
    "trust_bundle",
    "verification_material",
    "type_metadata",
    "types_of",
    "validate_rows",
    "vct_url",
    "verifier_audience",
]
