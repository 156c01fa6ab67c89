#!/usr/bin/env python
"""An independent verifier of tungban's transparency log.

The tree math is written from RFC 9162 (Certificate Transparency v2) §2.1 with nothing but
``hashlib``: it imports neither tungban nor the library the platform builds its tree with,
so it can check the platform rather than agree with it.

* :func:`leaf_hash` — §2.1.1: SHA-256(0x00 || data).
* :func:`verify_inclusion` — §2.1.3.2, verifying an inclusion proof.
* :func:`verify_consistency` — §2.1.4.2, verifying a consistency proof.

Command line (``requests`` and ``joserfc`` for the HTTP part)::

    python examples/log_verifier.py --base http://localhost:8000
    python examples/log_verifier.py --base http://localhost:8000 --leaf-hash <base64> --since 42:<root base64>

It fetches the signed tree head (``/api/v1/log/head``), checks its JWS against the platform
JWKS (``/oidc/jwks``), and, as asked, that a leaf is included in that tree and that the tree
is consistent with (extends) a head you kept from before. Print the new head to keep it for
next time. Exit status 0 when everything verified, 1 otherwise.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import sys


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(data: bytes) -> bytes:
    """MTH({d(0)}) = SHA-256(0x00 || d(0)) (RFC 9162 §2.1.1). For tungban, ``data`` is the
    entry's ``body`` (canonical JSON) encoded as UTF-8."""
    return _sha256(b"\x00" + data)


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right) (RFC 9162 §2.1.1)."""
    return _sha256(b"\x01" + left + right)


def root_hash(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) of raw leaf data, straight from the recursive definition (§2.1.1)."""
    n = len(leaves)
    if n == 0:
        return _sha256(b"")
    if n == 1:
        return leaf_hash(leaves[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(root_hash(leaves[:k]), root_hash(leaves[k:]))


def _lsb(x: int) -> int:
    return x & 1


def verify_inclusion(leaf_hash: bytes, leaf_index: int, tree_size: int, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: is the leaf with hash ``leaf_hash`` at ``leaf_index`` (0-based) in
    the tree of ``tree_size`` leaves whose root is ``root``, by ``path`` (inclusion_path)?"""
    if not isinstance(leaf_index, int) or not isinstance(tree_size, int) or leaf_index < 0:
        return False
    # 1. leaf_index must be below tree_size.
    if leaf_index >= tree_size:
        return False
    # 2. fn = leaf_index, sn = tree_size - 1.  3. r = hash.
    fn, sn, r = leaf_index, tree_size - 1, leaf_hash
    # 4. For each value p in the inclusion_path array:
    for p in path:
        # a. If sn is 0, stop and fail.
        if sn == 0:
            return False
        # b. If LSB(fn) is set, or fn equals sn:
        if _lsb(fn) or fn == sn:
            r = node_hash(p, r)
            # If LSB(fn) is not set, right-shift fn and sn equally until LSB(fn) is set or fn is 0.
            if not _lsb(fn):
                while not (_lsb(fn) or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        # c. Right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 5. sn must be 0 and r the root.
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, path: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: does the tree of ``second`` leaves (root ``second_root``) extend the
    tree of ``first`` leaves (root ``first_root``), by ``path`` (consistency_path)?

    §2.1.4.2 covers 0 < first < second; a tree is consistent with itself when the roots are
    equal and the path is empty (§2.1.4.1: PROOF(n, D[n]) is empty)."""
    if not all(isinstance(x, int) for x in (first, second)) or first < 1 or first > second:
        return False
    if first == second:
        return not path and first_root == second_root
    path = list(path)
    # 1. If consistency_path is an empty array, stop and fail.
    if not path:
        return False
    # 2. If first is an exact power of 2, prepend first_hash to the consistency_path array.
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    # 3. fn = first - 1, sn = second - 1.
    fn, sn = first - 1, second - 1
    # 4. If LSB(fn) is set, right-shift fn and sn equally until LSB(fn) is not set.
    while _lsb(fn):
        fn >>= 1
        sn >>= 1
    # 5. fr = sr = the first value in consistency_path.
    fr = sr = path[0]
    # 6. For each subsequent value c in the consistency_path array:
    for c in path[1:]:
        # a. If sn is 0, stop and fail.
        if sn == 0:
            return False
        # b. If LSB(fn) is set, or fn equals sn:
        if _lsb(fn) or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            # If LSB(fn) is not set, right-shift fn and sn equally until LSB(fn) is set or fn is 0.
            if not _lsb(fn):
                while not (_lsb(fn) or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        # c. Right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 7. fr must be first_hash, sr second_hash, and sn 0.
    return fr == first_root and sr == second_root and sn == 0


# --- Command line --------------------------------------------------------------------------------


def _b64(text: str) -> bytes:
    text = text.strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def fetch_head(http, base: str) -> dict:
    """The signed tree head, its JWS verified with the platform JWKS; raises ValueError if
    the signature or its claims do not match."""
    from joserfc import jwt
    from joserfc.jwk import KeySet

    head = http.get(f"{base}/api/v1/log/head", timeout=30).json()
    jwks = KeySet.import_key_set(http.get(f"{base}/oidc/jwks", timeout=30).json())
    token = jwt.decode(head["signature"], jwks, algorithms=["ES256"])
    if token.header.get("typ") != "tree-head+jwt":
        raise ValueError(f"the tree head's JWS has typ {token.header.get('typ')!r}, not tree-head+jwt")
    claims = token.claims
    for name in ("tree_size", "root_hash", "timestamp"):
        if claims.get(name) != head[name]:
            raise ValueError(f"the signed {name} ({claims.get(name)!r}) differs from the head's ({head[name]!r})")
    return head


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", required=True, help="the platform's base URL, e.g. http://localhost:8000")
    p.add_argument("--leaf-hash", help="base64 leaf hash to prove included in the current tree")
    p.add_argument("--body", help="an entry's body (canonical JSON) to prove included; its leaf hash is computed here")
    p.add_argument(
        "--since",
        metavar="SIZE:ROOT",
        help="a tree head you kept (size and base64 root): check the log only grew since",
    )
    args = p.parse_args(argv)

    import requests

    base = args.base.rstrip("/")
    http = requests.Session()
    ok = True
    try:
        head = fetch_head(http, base)
    except Exception as exc:  # noqa: BLE001 - reported, exit 1
        print(f"FAIL tree head: {exc}")
        return 1
    size, root = head["tree_size"], _b64(head["root_hash"])
    print(
        f"OK   signed tree head: tree_size {size}, root {head['root_hash']}, timestamp {head['timestamp']} (signature verified)"
    )

    wanted = _b64(args.leaf_hash) if args.leaf_hash else leaf_hash(args.body.encode("utf-8")) if args.body else None
    if wanted is not None:
        r = http.get(
            f"{base}/api/v1/log/inclusion-by-hash",
            params={"hash": base64.b64encode(wanted).decode(), "tree_size": size},
            timeout=30,
        )
        proof = r.json()
        if r.status_code != 200:
            print(f"FAIL inclusion: {proof.get('error')}: {proof.get('message')}")
            ok = False
        elif verify_inclusion(wanted, proof["leaf_index"], size, [_b64(h) for h in proof["inclusion_path"]], root):
            print(f"OK   leaf {proof['leaf_index']} is in the tree of {size} leaves")
        else:
            print(f"FAIL inclusion proof for leaf {proof['leaf_index']} does not verify against the signed root")
            ok = False

    if args.since:
        try:
            old_size, old_root = args.since.split(":", 1)
            old_size, old_root = int(old_size), _b64(old_root)
        except ValueError:
            print("FAIL --since must be SIZE:ROOT_BASE64")
            return 1
        if old_size > size:
            print(f"FAIL the log has {size} leaves, fewer than the {old_size} of the head you kept")
            ok = False
        elif old_size == 0:
            print("OK   every log extends the empty one")
        else:
            r = http.get(f"{base}/api/v1/log/consistency", params={"first": old_size, "second": size}, timeout=30)
            proof = r.json()
            if r.status_code != 200:
                print(f"FAIL consistency: {proof.get('error')}: {proof.get('message')}")
                ok = False
            elif verify_consistency(old_size, size, old_root, root, [_b64(h) for h in proof["consistency_path"]]):
                print(f"OK   the log of {size} leaves extends the one of {old_size} you kept: it only grew")
            else:
                print(f"FAIL the log of {size} leaves is NOT consistent with the head of {old_size} you kept")
                ok = False
    print(f"Keep this head: --since {size}:{head['root_hash']}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
