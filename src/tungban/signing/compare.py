"""The short comparison code of a signing request (issue 16): 6 characters the resident
compares between the service's page and the app, in place of a 64-character SHA-256.

``comparison_code(approval_id, digests)`` = the first 30 bits of
``SHA-256("tungban-sign-compare-v1\\n" + approval_id + "\\n" + ",".join(digests))`` (UTF-8;
``approval_id`` the approval request's UUID in lowercase canonical form, ``digests`` the
documents' SHA-256 in lowercase hex, in the request's order), written as 6 characters of
Crockford's base-32 alphabet (digits and capital letters without I, L, O and U, which are
read as 1, 1, 0 and V: https://www.crockford.com/base32.html). The app computes it itself from
the request it shows (``wallet/static/wallet/js/lib/compare.js``), the platform gives it to
the service in the signing API (``comparison_code``), and a service may compute it itself
(the sample service does).

What it is for, and why 30 bits are enough. The full digests are still what is signed: the
app's signed decision binds every document's SHA-256 (the ``documents`` bind), and the
platform signs only those. The code answers the resident's question "is the request on my
phone the one this page started, for this document?": it covers the request's id, which the
platform draws at random (UUID4, 122 bits) when the service asks, and the documents. An
attacker who pushes their own signing request to the resident at the same time gets a code
they cannot choose: each of their requests has a fresh random id, so its code matches the
one on the resident's screen with probability 2^-30 (about one in a billion) per request, and
requests are created at the rate the API allows (each needs a client's token and opens an
approval that lasts minutes). Finding two documents with the same code *for the same request*
(a second preimage of 30 bits, about 2^30 hashes) does not help either: the id is fixed only
after the documents are submitted, and changing a document afterwards means a new request
with a new id. A service that itself shows the resident one document and submits another is
not caught by any comparison of what that same service shows: the app shows the submitted PDF
itself (its pages rendered by the platform) for that.
"""

from __future__ import annotations

import hashlib

#: Crockford's base 32: no I, L, O, U.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 6
CONTEXT = "tungban-sign-compare-v1"


def comparison_code(approval_id: str, digests: list[str]) -> str:
    """The 6-character code of a request (see the module); ``approval_id`` a UUID (any case),
    ``digests`` SHA-256 hex strings in the request's order."""
    message = f"{CONTEXT}\n{str(approval_id).lower()}\n{','.join(d.lower() for d in digests)}"
    bits = int.from_bytes(hashlib.sha256(message.encode()).digest()[:4], "big") >> (32 - 5 * LENGTH)
    return "".join(ALPHABET[(bits >> (5 * (LENGTH - 1 - i))) & 31] for i in range(LENGTH))


def display(code: str) -> str:
    """The code as shown: two groups of three (``"K7Q 4MX"``)."""
    return f"{code[:3]} {code[3:]}"
