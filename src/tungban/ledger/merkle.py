"""RFC 9162 (Certificate Transparency v2) §2.1 Merkle tree arithmetic: pure functions,
stdlib only (no Django, no database), shared by the database log (:mod:`.transparency`), its
audit (:mod:`.audit`) and the verifiers (認證易, :mod:`tungban.credentials.verify`).

Hashing (RFC 9162 §2.1.1, SHA-256; the same as RFC 6962)::

    leaf_hash  = SHA-256(0x00 || UTF-8 body)
    node hash  = SHA-256(0x01 || left || right)
    MTH({})    = SHA-256("")                       (the empty tree)
    MTH(D[n])  = node hash of MTH(D[0:k]) and MTH(D[k:n]), k the largest power of 2 < n

Leaves are numbered from 0. Hashes are raw 32-byte digests, exchanged base64-encoded
(RFC 4648 §4, with padding).
"""

from __future__ import annotations

import base64
import hashlib

EMPTY_ROOT = hashlib.sha256(b"").digest()


def b64(digest: bytes) -> str:
    """Base64 (RFC 4648 §4, padded) of a digest, as the API and tree heads carry hashes."""
    return base64.b64encode(bytes(digest)).decode("ascii")


def leaf_hash(body: str | bytes) -> bytes:
    """RFC 9162 §2.1.1 leaf hash of a body: SHA-256(0x00 || UTF-8 body), 32 bytes."""
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1 interior node hash: SHA-256(0x01 || left || right), 32 bytes."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def fold(stack: list[tuple[int, bytes]]) -> bytes:
    """The root (MTH) of the leaves summarised by ``stack``: the ``(level, hash)`` roots of the
    perfect subtrees covering them, left to right (as :func:`perfect_subtrees` gives them).
    The empty stack is the empty tree."""
    if not stack:
        return EMPTY_ROOT
    root = stack[-1][1]
    for _level, h in reversed(stack[:-1]):
        root = node_hash(h, root)
    return root


# --- Proof layouts (RFC 9162 §2.1.3.1 and §2.1.4.1) -----------------------------------------


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n ≥ 2): where MTH splits D[n]."""
    k = 1 << ((n - 1).bit_length() - 1)
    return k


def inclusion_ranges(m: int, n: int) -> list[tuple[int, int]]:
    """Leaf ranges ``[start, end)`` whose MTHs make up PATH(m, D[n]) (RFC 9162 §2.1.3.1),
    in proof order (the leaf's sibling first)."""
    out: list[tuple[int, int]] = []
    start, end = 0, n
    while end - start > 1:
        k = _split(end - start)
        if m - start < k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start += k
    out.reverse()
    return out


def consistency_ranges(m: int, n: int) -> list[tuple[int, int]]:
    """Leaf ranges whose MTHs make up PROOF(m, D[n]) = SUBPROOF(m, D[n], true)
    (RFC 9162 §2.1.4.1), in proof order; 0 < m ≤ n. Empty when m == n."""
    out: list[tuple[int, int]] = []
    start, end, b = 0, n, True
    while True:
        width = end - start
        if m == width:
            if not b:
                out.append((start, end))
            break
        k = _split(width)
        if m <= k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start += k
            m -= k
            b = False
    out.reverse()
    return out


def perfect_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """``(level, index)`` of the maximal perfect subtrees covering ``[start, end)`` from left
    to right, as MTH splits it (each ``index * 2**level`` = its first leaf)."""
    out = []
    width = end - start
    for level in range(width.bit_length() - 1, -1, -1):
        if width >> level & 1:
            out.append((level, start >> level))
            start += 1 << level
    return out


# --- Checking a proof -----------------------------------------------------------------------


def verify_inclusion(leaf_hash: bytes, leaf_index: int, tree_size: int, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does ``path`` prove the leaf with ``leaf_hash`` (32 bytes) at
    0-based ``leaf_index`` is in the tree of ``tree_size`` leaves whose root is ``root``?"""
    if leaf_index >= tree_size or leaf_index < 0:
        return False
    fn, sn, r = leaf_index, tree_size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, path: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: does ``path`` (consistency_path) prove that the tree of ``second``
    leaves with root ``second_root`` extends the tree of ``first`` leaves with root
    ``first_root`` (all raw 32-byte digests)? A tree is consistent with itself when the roots
    are equal and the path empty (§2.1.4.1), and every tree extends the empty one (size 0)."""
    if first < 0 or first > second:
        return False
    if first == 0:
        return not path and first_root == EMPTY_ROOT
    if first == second:
        return not path and first_root == second_root
    path = list(path)
    if not path:  # 1.
        return False
    if first & (first - 1) == 0:  # 2. first is an exact power of 2
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1  # 3.
    while fn & 1:  # 4.
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]  # 5.
    for c in path[1:]:  # 6.
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0  # 7.
